/**
 * The auth mode jwt stack against the real `terraform` and the real AWS provider's schema: `terraform
 * validate` checks every argument of the authorizer, the route that uses it and the permission. The
 * machine's filesystem mirror has an older provider than the stack pins and no archive provider, so the
 * check runs on a copy with the archive data sources replaced by what they output. Skipped, saying why,
 * without terraform or the mirror; with REQUIRE_TERRAFORM=1 it runs and fails on them (support/terraform.ts).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthesizeStack } from "../local/terraform/synth";
import { missingTerraformParts, mirroredProviderVersion, PROVIDER_MIRROR as MIRROR, TERRAFORM, terraformChecksEnabled } from "./support/terraform";

const available = terraformChecksEnabled();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "terraform-auth-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The stack's JSON made checkable offline: no archive provider, the mirrored AWS provider, no backend. */
function checkable(stackDir: string): string {
  const tf = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  delete tf.data.archive_file;
  if (Object.keys(tf.data).length === 0) delete tf.data;
  delete tf.provider.archive;
  delete tf.terraform.required_providers.archive;
  delete tf.terraform.backend;
  tf.terraform.required_providers.aws.version = mirroredProviderVersion("aws");
  return JSON.stringify(tf)
    .replace(/\$\{data\.archive_file\.[^.]+\.output_path\}/g, "dist/function.zip")
    .replace(/\$\{data\.archive_file\.[^.]+\.output_base64sha256\}/g, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

(available ? test : test.skip)("the jwt stack's authorizer, $connect route and permission are valid for the AWS provider", () => {
  expect(missingTerraformParts()).toEqual([]);
  const stackDir = synthesizeStack({
    outdir: join(dir, "cdktf.out"),
    env: { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123", CHAT_JWT_AUDIENCE: "4example7client0id" },
    warn: () => undefined,
  });
  const work = join(dir, "check");
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "main.tf.json"), checkable(stackDir));
  const cliConfig = join(dir, "cli.tfrc");
  writeFileSync(cliConfig, `provider_installation {\n  filesystem_mirror {\n    path    = "${MIRROR}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n`);
  const env = { ...process.env, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
  execFileSync(TERRAFORM, ["init", "-input=false", "-no-color"], { cwd: work, env, stdio: "pipe" });
  const result = spawnSync(TERRAFORM, ["validate", "-json", "-no-color"], { cwd: work, env, encoding: "utf8" });
  const report = JSON.parse(result.stdout) as { valid: boolean; diagnostics: unknown[] };
  expect(report.diagnostics).toEqual([]);
  expect(report.valid).toBe(true);
  expect(readFileSync(join(work, "main.tf.json"), "utf8")).toContain('"authorizer_type":"REQUEST"');
}, 120_000);
