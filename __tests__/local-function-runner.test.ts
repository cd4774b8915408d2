/**
 * The local runtime's Lambda execution environments (worker threads), driven directly: concurrent invocations
 * get environments of their own as on Lambda, up to a cap, an idle environment is reused warm, and a burst
 * beyond what the environments run at once waits its turn instead of timing out.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultEnvironments, FunctionRunner, type Invocation } from "../local/functions/function-runner";
import type { FunctionModel } from "../local/terraform/stack-model-types";

/**
 * Sleeps for the event's `sleep` ms, or keeps its thread busy for `busy` ms (as a handler's own CPU work
 * does), and says which environment ran it and how many invocations it has run.
 */
const HANDLER = `
const { threadId } = require("node:worker_threads");
let invocations = 0;
exports.handler = async (event) => {
  invocations += 1;
  await new Promise((resolve) => setTimeout(resolve, event.sleep || 0));
  for (const end = Date.now() + (event.busy || 0); Date.now() < end; );
  return { threadId, invocations };
};
`;

let dir: string;
let runner: FunctionRunner;

function model(bundleDir: string, timeoutSeconds = 10): FunctionModel {
  return {
    address: "aws_lambda_function.probe",
    name: "probe",
    arn: "arn:aws:lambda:us-east-1:000000000000:function:probe",
    handler: "index.handler",
    moduleFile: join(bundleDir, "index.js"),
    exportName: "handler",
    bundleDir,
    runtime: "nodejs22.x",
    timeoutSeconds,
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

test("a burst beyond what an environment runs at once waits its turn: its timeout counts from its start, as Lambda's does", async () => {
  // On Lambda each of these 12 invocations has an environment of its own and takes 150 ms of its 1 s. Here
  // one thread runs them; were they all started at once, the last would end 1.8 s after it was invoked.
  const burst = new FunctionRunner(model(dir, 1), {}, () => undefined, { maxEnvironments: 1, invocationsPerEnvironment: 2 });
  try {
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => burst.invoke({ busy: 150 })));
    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([]);
    expect(new Set(outcomes.map((outcome) => resultOf(outcome).threadId)).size).toBe(1);
    expect(Math.max(...outcomes.map((outcome) => outcome.durationMs))).toBeLessThan(1000);
  } finally {
    await burst.stop();
  }
});

test("a handler that runs past its timeout still times out, and its environment is replaced", async () => {
  const slow = new FunctionRunner(model(dir, 1), {}, () => undefined, { maxEnvironments: 1 });
  try {
    const first = resultOf(await slow.invoke({}));
    const late = await slow.invoke({ sleep: 1500 });
    expect(late).toMatchObject({ ok: false, errorType: "Sandbox.Timedout", timedOut: true });
    const next = resultOf(await slow.invoke({}));
    expect(next.threadId).not.toBe(first.threadId);
    expect(next.invocations).toBe(1);
  } finally {
    await slow.stop();
  }
});

test("a slow init phase does not count against the timeout: Lambda's timeout starts with the handler", async () => {
  // A module that takes 1.5 s to load, under a 1 s timeout: on Lambda the init phase has a limit of its own.
  const slowInit = mkdtempSync(join(tmpdir(), "function-runner-init-"));
  writeFileSync(join(slowInit, "index.js"), `for (const end = Date.now() + 1500; Date.now() < end; );\n${HANDLER}`);
  const cold = new FunctionRunner(model(slowInit, 1), {}, () => undefined, { maxEnvironments: 1 });
  try {
    const outcome = await cold.invoke({});
    expect(outcome).toMatchObject({ ok: true });
    // The duration Lambda reports is the handler's, not the init phase's.
    expect(outcome.durationMs).toBeLessThan(1000);
  } finally {
    await cold.stop();
    rmSync(slowInit, { recursive: true, force: true });
  }
});

test("invocations still waiting when the runtime stops end as failures, not as hung promises", async () => {
  const busy = new FunctionRunner(model(dir), {}, () => undefined, { maxEnvironments: 1, invocationsPerEnvironment: 1 });
  const outcomes = Promise.all([busy.invoke({ sleep: 300 }), busy.invoke({}), busy.invoke({})]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(busy.load).toMatchObject({ queued: 2, running: 1, environments: 1 });
  await busy.stop();
  expect((await outcomes).map((outcome) => !outcome.ok && outcome.errorType)).toEqual(["Runtime.Stopped", "Runtime.Stopped", "Runtime.Stopped"]);
});

test("environments per function: the cores less one, at least 1, and at most 4 whatever the machine reports", () => {
  expect([1, 2, 3, 8, 64].map((cores) => defaultEnvironments(cores))).toEqual([1, 1, 2, 4, 4]);
});

test("beyond its reserved concurrency an invocation is refused at once, as Lambda's 429, without running; waiting ones count", async () => {
  const reserved = new FunctionRunner({ ...model(dir), reservedConcurrency: 2 }, {}, () => undefined, { maxEnvironments: 1, invocationsPerEnvironment: 1 });
  try {
    // One runs and one waits for the single environment: both are in flight, as two environments on Lambda.
    const held = [reserved.invoke({ sleep: 300 }), reserved.invoke({ sleep: 300 })];
    const refused = await reserved.invoke({});
    expect(refused).toMatchObject({ ok: false, errorType: "TooManyRequestsException", errorMessage: "Rate Exceeded.", throttled: true });
    for (const outcome of await Promise.all(held)) expect(outcome.ok).toBe(true);
    // Once they are done, the next one runs.
    expect((await reserved.invoke({})).ok).toBe(true);
  } finally {
    await reserved.stop();
  }
});

test("without a reservation nothing is refused: a burst waits for the environments instead", async () => {
  const outcomes = await Promise.all(Array.from({ length: 6 }, () => runner.invoke({ sleep: 50 })));
  expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
});
