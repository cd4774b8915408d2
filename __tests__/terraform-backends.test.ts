/**
 * The remote state backends, with the real `terraform`: S3 against a local S3-compatible server (s3rver,
 * started here on a free loopback port) behind a proxy that enforces an IAM policy on every request, and
 * HCP Terraform as far as it goes without HCP. s3rver ignores conditional writes, so this checks that
 * Terraform accepts the backend, takes and releases the lock object and stores the state, not that the
 * lock excludes a second writer. Skipped, saying what is missing, without terraform, unless REQUIRE_TERRAFORM=1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CHAT_ROUTES } from "../constructs/websocket-chat";
import { parsePolicy } from "../local/iam/policy";
import { chatAddresses } from "./support/plan-variants";
import { S3PolicyProxy, type S3Request } from "./support/s3-policy-proxy";
import { synthesizeApp } from "./support/synth-app";
import {
  awsResourceSchemas,
  managedChanges,
  offlineCopy,
  type Plan,
  type RunResult,
  seedPolicyTargets,
  stableAddress,
  stateWith,
  terraformChecksEnabled,
  TerraformWorkspace,
  writeConfiguration,
} from "./support/terraform";

// s3rver ships no types.
const S3rver = require("s3rver") as new (options: Record<string, unknown>) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

const describeWithTerraform = terraformChecksEnabled() ? describe : describe.skip;
const ROOT = join(__dirname, "..");
const BUCKET = "acme-tf-state";
const KEY = "chat/terraform.tfstate";

/** The environment the pull-request workflow's plan job gives `cdktf diff` (workflow, job and step `env`). */
function pullRequestPlanEnvironment(): Record<string, string> {
  const workflow = parseYaml(readFileSync(join(ROOT, ".github", "workflows", "pull-request.yml"), "utf8"));
  const [, job] = Object.entries<any>(workflow.jobs).find(([, candidate]) =>
    candidate.steps.some((step: any) => String(step.uses).startsWith("hashicorp/terraform-cdk-action") && step.with?.mode === "plan-only"),
  )!;
  const step = job.steps.find((candidate: any) => String(candidate.uses).startsWith("hashicorp/terraform-cdk-action"));
  const env = { ...workflow.env, ...job.env, ...step.env } as Record<string, unknown>;
  // Only what reaches terraform itself; the rest are GitHub expressions for the action.
  return Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith("TF_CLI_ARGS")).map(([name, value]) => [name, String(value)]));
}

/** The read-only role's state access as the README documents it, for this bucket and key. */
function planRoleStatePolicy() {
  const text = readFileSync(join(ROOT, ".github", "aws", "plan-role-state-policy.json"), "utf8");
  return parsePolicy(JSON.parse(text.replaceAll("<TF_STATE_BUCKET>", BUCKET).replaceAll("<TF_STATE_KEY>", KEY)), "plan-role-state-policy.json");
}

describeWithTerraform("S3 state against a local S3-compatible server", () => {
  let workspace: TerraformWorkspace;
  let s3: InstanceType<typeof S3rver>;
  let proxy: S3PolicyProxy;
  let dir: string;
  let s3Dir: string;
  const steps: Record<string, { requests: S3Request[]; result?: RunResult; plan?: Plan }> = {};

  /** Runs one step, recording the S3 requests it made. */
  async function step<T extends { result?: RunResult; plan?: Plan }>(name: string, run: () => Promise<T>): Promise<T> {
    const before = proxy.requests.length;
    const outcome = await run();
    steps[name] = { ...outcome, requests: proxy.requests.slice(before) };
    return outcome;
  }

  beforeAll(async () => {
    workspace = TerraformWorkspace.create("terraform-s3");
    s3Dir = mkdtempSync(join(tmpdir(), "s3rver-"));
    s3 = new S3rver({ port: 0, address: "127.0.0.1", directory: s3Dir, silent: true, configureBuckets: [{ name: BUCKET }] });
    proxy = await S3PolicyProxy.start((await s3.run()).port);

    const stackDir = synthesizeApp({ TF_STATE_BUCKET: BUCKET, AWS_REGION: "eu-west-1" }, join(workspace.dir, "synth")).chat;
    const tf = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
    dir = writeConfiguration(join(workspace.dir, "s3"), offlineCopy(tf, { stackDir, awsVersion: workspace.awsVersion, backend: "keep" }));

    // The synthesized backend block stays as it is; these only point it at s3rver (partial configuration).
    const local = ["use_path_style=true", "skip_credentials_validation=true", "skip_requesting_account_id=true", "skip_metadata_api_check=true"];
    await step("init", async () => ({
      result: await workspace.run(dir, [
        "init",
        "-input=false",
        "-no-color",
        `-backend-config=endpoints={s3=${JSON.stringify(proxy.endpoint)}}`,
        "-backend-config=access_key=S3RVER",
        "-backend-config=secret_key=S3RVER",
        ...local.map((setting) => `-backend-config=${setting}`),
      ]),
    }));
    const [created, schemas, validation] = await Promise.all([
      step("plan", async () => ({ plan: await workspace.plan(dir) })),
      awsResourceSchemas(workspace, dir),
      workspace.run(dir, ["validate", "-json", "-no-color"]),
    ]);
    steps.validate = { requests: [], result: validation };
    // What an apply would leave behind, as far as the plan knows it (see seedPolicyTargets).
    writeFileSync(join(dir, "applied.tfstate"), JSON.stringify(stateWith(seedPolicyTargets(created.plan!, schemas))));
    await step("push", async () => ({ result: await workspace.run(dir, ["state", "push", "applied.tfstate"]) }));
    await step("pull", async () => ({ result: await workspace.run(dir, ["state", "pull"]) }));

    proxy.policy = planRoleStatePolicy();
    await step("read-only plan", async () => ({
      result: await workspace.run(dir, ["plan", "-refresh=false", "-input=false", "-no-color"], { env: pullRequestPlanEnvironment() }),
    }));
    await step("read-only plan with the lock", async () => ({
      result: await workspace.run(dir, ["plan", "-refresh=false", "-input=false", "-no-color"], { allowFailure: true }),
    }));
  }, 300_000);

  afterAll(async () => {
    await proxy?.stop();
    await s3?.close();
    rmSync(s3Dir, { recursive: true, force: true });
    workspace?.remove();
  });

  const objectRequests = (name: string, key: string) => steps[name].requests.filter((r) => r.key === key).map((r) => `${r.action}${r.allowed ? "" : " denied"}`);

  test("terraform init, validate and plan accept the synthesized backend: bucket, key and region", () => {
    expect(steps.init.requests.length).toBeGreaterThan(0);
    expect(steps.init.requests.every((r) => r.resource.startsWith(`arn:aws:s3:::${BUCKET}`))).toBe(true);
    expect(JSON.parse(steps.validate.result!.stdout)).toMatchObject({ valid: true, warning_count: 0 });
    expect(managedChanges(steps.plan.plan!).map(stableAddress).sort()).toEqual(chatAddresses().sort());
  });

  test("a plan takes the S3-native lock object (use_lockfile) and releases it", () => {
    expect(objectRequests("plan", `${KEY}.tflock`)).toEqual(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]);
  });

  test("the state lands in the bucket under its key, encrypted at rest (encrypt = true)", () => {
    const put = steps.push.requests.find((r) => r.key === KEY && r.action === "s3:PutObject");
    expect(put?.headers["x-amz-server-side-encryption"]).toBe("AES256");
    const pulled = JSON.parse(steps.pull.result!.stdout);
    expect(pulled.resources.map((r: { type: string }) => r.type).sort()).toEqual(
      // What the policies name: the API, the table, the fan-out queue, and each function's own log group
      // (one per route, and the fan-out worker's).
      ["aws_apigatewayv2_api", "aws_dynamodb_table", "aws_sqs_queue", ...Array(CHAT_ROUTES.length + 1).fill("aws_cloudwatch_log_group")].sort(),
    );
  });

  test("the pull-request workflow's plan needs no more than the plan role's read access to the state", () => {
    expect(pullRequestPlanEnvironment()).toEqual({ TF_CLI_ARGS_plan: "-lock=false" });
    expect(steps["read-only plan"].requests.filter((r) => !r.allowed)).toEqual([]);
    expect(steps["read-only plan"].requests.map((r) => r.action)).not.toContain("s3:PutObject");
    // It planned against the state in the bucket: what the state holds is not created again.
    expect(objectRequests("read-only plan", KEY)).toContain("s3:GetObject");
    expect(steps["read-only plan"].result!.stdout).toMatch(/Plan: \d+ to add, \d+ to change, 0 to destroy/);
    expect(steps["read-only plan"].result!.stdout).not.toMatch(/aws_dynamodb_table\.\S+ will be created/);
  });

  test("with the lock, the same plan is refused to the read-only role: it must write <key>.tflock", () => {
    expect(steps["read-only plan with the lock"].result!.code).not.toBe(0);
    // Refused at the first write; Terraform then only reads the lock object to report who holds it.
    expect(objectRequests("read-only plan with the lock", `${KEY}.tflock`)[0]).toBe("s3:PutObject denied");
    expect(steps["read-only plan with the lock"].requests.filter((r) => r.allowed && r.action !== "s3:GetObject" && r.action !== "s3:ListBucket")).toEqual([]);
    expect(steps["read-only plan with the lock"].result!.stderr).toMatch(/AccessDenied/);
  });
});

describeWithTerraform("HCP Terraform state", () => {
  let workspace: TerraformWorkspace;
  let stackDir: string;
  let tf: any;

  beforeAll(() => {
    workspace = TerraformWorkspace.create("terraform-cloud");
    stackDir = synthesizeApp({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod" }, join(workspace.dir, "synth")).chat;
    tf = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  });

  afterAll(() => workspace?.remove());

  test("the configuration with the synthesized cloud block is valid Terraform", async () => {
    const dir = writeConfiguration(join(workspace.dir, "validate"), offlineCopy(tf, { stackDir, awsVersion: workspace.awsVersion, backend: "keep" }));
    await workspace.run(dir, ["init", "-backend=false", "-input=false", "-no-color"]);
    const { stdout } = await workspace.run(dir, ["validate", "-json", "-no-color"]);
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, error_count: 0, warning_count: 0 });
  }, 60_000);

  test("terraform init accepts the cloud block and goes on to contact the host (here a closed local port)", async () => {
    // The one substitution: the host, so that init stops at service discovery instead of reaching HCP.
    const copy = offlineCopy(tf, { stackDir, awsVersion: workspace.awsVersion, backend: "keep" });
    expect(copy.terraform.cloud).toEqual({ hostname: "app.terraform.io", organization: "acme", workspaces: { name: "chat-prod" } });
    copy.terraform.cloud.hostname = `127.0.0.1:${await closedPort()}`;
    const dir = writeConfiguration(join(workspace.dir, "init"), copy);
    const { code, stderr } = await workspace.run(dir, ["init", "-input=false", "-no-color"], { allowFailure: true });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/Failed to request discovery document/);
  }, 60_000);
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
