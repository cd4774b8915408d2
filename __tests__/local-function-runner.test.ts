/**
 * The local runtime's Lambda execution environments (worker threads), driven directly: concurrent invocations
 * get environments of their own as on Lambda, up to a cap, and an idle environment is reused warm.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FunctionRunner, type Invocation } from "../local/functions/function-runner";
import type { FunctionModel } from "../local/terraform/stack-model";

/** Sleeps for the event's `sleep` ms and says which environment ran it and how many invocations it has run. */
const HANDLER = `
const { threadId } = require("node:worker_threads");
let invocations = 0;
exports.handler = async (event) => {
  invocations += 1;
  await new Promise((resolve) => setTimeout(resolve, event.sleep || 0));
  return { threadId, invocations };
};
`;

let dir: string;
let runner: FunctionRunner;

function model(bundleDir: string): FunctionModel {
  return {
    address: "aws_lambda_function.probe",
    name: "probe",
    arn: "arn:aws:lambda:us-east-1:000000000000:function:probe",
    handler: "index.handler",
    moduleFile: join(bundleDir, "index.js"),
    exportName: "handler",
    bundleDir,
    runtime: "nodejs22.x",
    timeoutSeconds: 10,
    memoryMb: 128,
    environment: {},
    logGroupName: "/aws/lambda/probe",
    logging: { format: "Text" },
    role: { address: "aws_iam_role.probe", name: "probe", arn: "arn:aws:iam::000000000000:role/probe" },
    policies: [],
  };
}

const resultOf = (invocation: Invocation) => {
  if (!invocation.ok) throw new Error(`${invocation.errorType}: ${invocation.errorMessage}`);
  return invocation.result as { threadId: number; invocations: number };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "function-runner-"));
  writeFileSync(join(dir, "index.js"), HANDLER);
  runner = new FunctionRunner(model(dir), {}, () => undefined, { maxEnvironments: 2 });
});

afterAll(async () => {
  await runner?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("concurrent invocations run in environments of their own, up to the cap, beyond which they share one", async () => {
  const results = (await Promise.all([300, 300, 300].map((sleep) => runner.invoke({ sleep })))).map(resultOf);
  const environments = new Set(results.map((r) => r.threadId));
  expect(environments.size).toBe(2);
});

test("an idle environment is reused warm: its module state carries over to the next invocation", async () => {
  const first = resultOf(await runner.invoke({}));
  const second = resultOf(await runner.invoke({}));
  expect(second.threadId).toBe(first.threadId);
  expect(second.invocations).toBe(first.invocations + 1);
});
