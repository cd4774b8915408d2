/**
 * Fan-out through SQS end to end, as `npm start` runs it: the real stack synthesized with a small inline
 * limit and job size, send-message handing audiences to the fan-out queue, the local SQS and Lambda's
 * poller invoking the real fan-out worker, real `ws` clients receiving. Small thresholds here; the large
 * numbers are in `npm run bench`.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { join } from "node:path";
import { decodeJob } from "../handlers/lib/fan-out/fan-out-job";
import { startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { functionResource, useBundle, writeBundle, writeVariant, type TerraformJson, type Workspace } from "./support/local-stacks";
import { LogCollector, TestClient, waitFor } from "./support/ws-client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const INLINE_LIMIT = 3;
const JOB_SIZE = 2;

let workspace: Workspace;
const logs = new LogCollector();
const runtimes: LocalRuntime[] = [];
const clients: TestClient[] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "local-fan-out-"));
  const env = { CHAT_INLINE_FANOUT_LIMIT: String(INLINE_LIMIT), CHAT_FANOUT_JOB_SIZE: String(JOB_SIZE), CHAT_FANOUT_BATCH_SIZE: "2", CHAT_FANOUT_TIMEOUT_SECONDS: "10" };
  const warnings: string[] = [];
  const stackDir = synthesizeStack({ outdir: join(dir, "cdktf.out"), env, warn: (warning) => warnings.push(warning) });
  // Kept out of the test output, but only the warning this stack is known to earn.
  expect(warnings).toEqual([expect.stringMatching(/^CHAT_AUTH=none: /)]);
  workspace = { dir, stackDir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}, 60_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.stop()));
  workspace?.remove();
});

async function start(stackDir = workspace.stackDir, options: Partial<LocalRuntimeOptions> = {}): Promise<LocalRuntime> {
  const runtime = await startLocalRuntime({ stackDir, port: 0, log: logs.log, ...options });
  runtimes.push(runtime);
  return runtime;
}

/**
 * The stack with a fan-out queue quick enough to test redelivery: the worker times out after 2 s and the
 * queue hides a received message for 3 s (AWS recommends six times; the runtime enforces at least once),
 * and a job moves to the dead-letter queue after `maxReceiveCount` receives.
 */
function quickRedelivery(name: string, maxReceiveCount: number, edit: (tf: TerraformJson, dir: string) => void = () => undefined): string {
  return writeVariant(workspace, name, (tf, dir) => {
    functionResource(tf, "chat-fan-out-worker")[1].timeout = 2;
    const queue = Object.values(tf.resource.aws_sqs_queue).find((q: any) => q.name === "chat-fan-out") as any;
    queue.visibility_timeout_seconds = 3;
    queue.redrive_policy = JSON.stringify({ ...JSON.parse(queue.redrive_policy), maxReceiveCount });
    edit(tf, dir);
  });
}

async function crowd(runtime: LocalRuntime, size: number): Promise<TestClient[]> {
  const opened = await Promise.all(Array.from({ length: size }, () => TestClient.connect(runtime.wsUrl)));
  clients.push(...opened);
  return opened;
}

/** Every `message` frame a client has received within `ms`, by id. */
async function messagesOf(client: TestClient, ms: number): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    try {
      ids.push((await client.nextOfType("message", ms)).id);
    } catch {
      return ids;
    }
  }
}

function sqsOf(runtime: LocalRuntime): SQSClient {
  return new SQSClient({ endpoint: runtime.sqsEndpoint, region: runtime.region, credentials: runtime.adminCredentials, maxAttempts: 1 });
}

async function visibleIn(runtime: LocalRuntime, queueName: string): Promise<number> {
  const sqs = sqsOf(runtime);
  try {
    const url = runtime.model.queues.find((q) => q.name === queueName)!.url;
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
    );
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  } finally {
    sqs.destroy();
  }
}

test("an audience above the inline limit is queued: the sender hears 'sent' with 'queued', and everyone gets the message once", async () => {
  const runtime = await start();
  const [sender, ...others] = await crowd(runtime, 8);

  const sent = await sender!.request({ action: "send-message", message: "to the queue" }, 10_000);

  expect(sent).toEqual({ type: "sent", id: expect.any(String), sentAt: expect.any(String), delivered: 0, stale: 0, failed: 0, incomplete: false, queued: 7 });
  for (const other of others) expect(await other.nextOfType("message", 10_000)).toMatchObject({ id: sent.id, message: "to the queue" });
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const other of others) expect(other.unread.filter((frame) => frame.includes('"type":"message"'))).toEqual([]);
  expect(logs.matching(/^route send-message \S+ 200/).length).toBeGreaterThan(0);
  expect(logs.matching(/^\[chat-fan-out-worker\]/).length).toBeGreaterThan(0);
}, 30_000);

test("an audience at the inline limit is posted inline, a room's too", async () => {
  const runtime = await start();
  const [sender, ...others] = await crowd(runtime, INLINE_LIMIT + 1);
  for (const client of [sender!, ...others]) await client.request({ action: "join", room: "small" });

  const sent = await sender!.request({ action: "send-message", room: "small", message: "inline" });

  expect(sent).toMatchObject({ type: "sent", delivered: INLINE_LIMIT, incomplete: false });
  expect(sent.queued).toBeUndefined();
  for (const other of others) expect(await other.nextOfType("message")).toMatchObject({ room: "small", message: "inline" });
}, 30_000);

test("a room larger than the inline limit goes through the queue to its members only", async () => {
  const runtime = await start();
  const [sender, ...rest] = await crowd(runtime, 8);
  const members = rest.slice(0, 5);
  for (const client of [sender!, ...members]) await client.request({ action: "join", room: "big" });

  const sent = await sender!.request({ action: "send-message", room: "big", message: "members, via SQS" }, 10_000);

  // The seq is taken (and the message stored) before the audience is handed to the queue.
  expect(sent).toMatchObject({ type: "sent", queued: 5, seq: 1 });
  for (const member of members) expect(await member.nextOfType("message", 10_000)).toMatchObject({ room: "big", id: sent.id, seq: 1 });
  for (const outsider of rest.slice(5)) expect(await messagesOf(outsider, 500)).toEqual([]);
  expect((await members[0]!.request({ action: "history", room: "big" })).messages).toMatchObject([{ id: sent.id, seq: 1 }]);
}, 30_000);

test("posts throttled by the account's rate are retried through the queue until everyone has the message, once", async () => {
  const runtime = await start(quickRedelivery("throttled", 5), { accountThrottle: { ratePerSecond: 4, burst: 2 } });
  const [sender, ...others] = await crowd(runtime, 13);

  const sent = await sender!.request({ action: "send-message", message: "eventually" }, 10_000);

  expect(sent).toMatchObject({ queued: 12 });
  const received = await Promise.all(others.map((other) => other.nextOfType("message", 40_000)));
  expect(received.every((frame) => frame.id === sent.id)).toBe(true);
  expect(await Promise.all(others.map((other) => messagesOf(other, 300)))).toEqual(others.map(() => []));
  await waitFor(async () => (await visibleIn(runtime, "chat-fan-out")) === 0, 10_000, "the queue to drain");
  expect(await visibleIn(runtime, "chat-fan-out-dlq")).toBe(0);
}, 60_000);

test("a worker that fails a batch gets it again after the visibility timeout: nobody loses the message or sees it twice", async () => {
  const stackDir = quickRedelivery("failing-once", 5, (tf, dir) => {
    const [, worker] = functionResource(tf, "chat-fan-out-worker");
    const archive = /^\$\{data\.archive_file\.([^.]+)\.output_path\}$/.exec(worker.filename)![1]!;
    const real = join(tf.data.archive_file[archive].source_dir, "index.js");
    useBundle(
      tf,
      "chat-fan-out-worker",
      writeBundle(dir, "failing-once", `const real = require(${JSON.stringify(real)});
let failed = false;
exports.handler = async (event, context) => {
  if (!failed) { failed = true; throw new Error("the first batch fails before posting"); }
  return real.handler(event, context);
};`),
    );
  });
  const runtime = await start(stackDir);
  const [sender, ...others] = await crowd(runtime, 6);

  const sent = await sender!.request({ action: "send-message", message: "second time lucky" }, 10_000);

  expect(sent).toMatchObject({ queued: 5 });
  for (const other of others) expect(await other.nextOfType("message", 20_000)).toMatchObject({ id: sent.id });
  expect(await Promise.all(others.map((other) => messagesOf(other, 300)))).toEqual(others.map(() => []));
  expect(logs.matching(/the first batch fails before posting/).length).toBeGreaterThan(0);
}, 40_000);

test("a job that exhausts its receives lands in the dead-letter queue with the message and who still lacks it", async () => {
  const runtime = await start(quickRedelivery("dead-letters", 2), { managementFailureRate: 1 });
  const [sender] = await crowd(runtime, 5);

  const sent = await sender!.request({ action: "send-message", message: "nobody can take it" }, 10_000);

  expect(sent).toMatchObject({ queued: 4 });
  await waitFor(async () => (await visibleIn(runtime, "chat-fan-out-dlq")) === 2, 60_000, "both jobs in the dead-letter queue");
  // The synthesized dead-letter alarm fires on the local figures, as it would page on AWS.
  const metrics = (await (await fetch(new URL("_local/metrics.json", runtime.httpUrl))).json()) as { alarms: Array<{ name: string; state: string }> };
  expect(metrics.alarms.find((alarm) => alarm.name === "chat-fan-out-dead-letters")).toMatchObject({ state: "ALARM" });
  const sqs = sqsOf(runtime);
  try {
    const url = runtime.model.queues.find((q) => q.name === "chat-fan-out-dlq")!.url;
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    const jobs = Messages.map((m) => decodeJob(m.Body!));
    for (const job of jobs) {
      if (job instanceof Error) throw job;
      expect(job.messageId).toBe(sent.id);
      expect(JSON.parse(job.frame)).toMatchObject({ type: "message", message: "nobody can take it" });
    }
    expect(jobs.flatMap((job) => (job as Exclude<typeof job, Error>).recipients)).toHaveLength(4);
  } finally {
    sqs.destroy();
  }
}, 90_000);
