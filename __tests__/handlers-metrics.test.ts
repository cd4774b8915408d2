/**
 * The metrics the handlers publish: CloudWatch Embedded Metric Format documents on stdout, read back as
 * CloudWatch would (the namespace, dimension sets and values of each document), on dynalite and a fake
 * @connections endpoint.
 */
import type { SQSEvent } from "aws-lambda";
import { handler as sendMessage } from "../handlers/send-message";
import { handler as fanOutWorker } from "../handlers/fan-out-worker";
import { encodeJob } from "../handlers/lib/fan-out/fan-out-job";
import { ENV_METRICS_NAMESPACE, ENV_METRICS_SERVICE } from "../handlers/lib/env/contract";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));
let stdout: string[];

interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

beforeEach(async () => {
  process.env[ENV_METRICS_NAMESPACE] = "ChatTest";
  process.env[ENV_METRICS_SERVICE] = "chat-test";
  stdout = [];
  jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  jest.spyOn(console, "info").mockImplementation(() => undefined);
});

afterEach(() => {
  jest.restoreAllMocks();
  delete process.env[ENV_METRICS_NAMESPACE];
  delete process.env[ENV_METRICS_SERVICE];
});

/** Every EMF document written to stdout. */
function documents(): EmfDocument[] {
  return stdout
    .join("")
    .split("\n")
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

function only(): EmfDocument {
  const found = documents();
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The metric names and their values in a document. */
function values(doc: EmfDocument): Record<string, unknown> {
  return Object.fromEntries(doc._aws.CloudWatchMetrics[0]!.Metrics.map(({ Name }) => [Name, doc[Name]]));
}

const lambdaContext = { awsRequestId: "c0ffee00-1111-2222-3333-444455556666", getRemainingTimeInMillis: () => 10_000 };

test("send-message publishes one document: the message, its recipients' outcomes and the fan-out time", async () => {
  await dynamo.connect("alice", "bob", "carol", "dave");
  api.gone.add("carol");
  api.forbidden.add("dave");
  jest.spyOn(console, "error").mockImplementation(() => undefined);

  const result = await sendMessage(frameEvent("alice", { action: "send-message", message: "hello!" }), lambdaContext);

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 1, stale: 1, failed: 1 });
  const doc = only();
  expect(doc._aws.CloudWatchMetrics[0]!.Namespace).toBe("ChatTest");
  expect(values(doc)).toEqual({
    MessagesSent: 1,
    RecipientsDelivered: 1,
    RecipientsStale: 1,
    RecipientsFailed: 1,
    IncompleteFanOuts: 0,
    FanOutDuration: expect.any(Number),
  });
  expect(doc.FanOutDuration as number).toBeGreaterThanOrEqual(0);
  expect(doc._aws.CloudWatchMetrics[0]!.Metrics).toContainEqual({ Name: "FanOutDuration", Unit: "Milliseconds" });
  expect(doc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service"], ["service", "Path"], ["service", "Target"]]);
  expect(doc).toMatchObject({ service: "chat-test", Path: "inline", Target: "everyone" });
});

test("the sender's connection and the invocation's request id ride along as searchable properties, never as dimensions", async () => {
  await dynamo.connect("alice", "bob");
  await dynamo.join("lobby", "alice", "bob");

  await sendMessage(frameEvent("alice", { action: "send-message", room: "lobby", message: "hi" }), lambdaContext);

  const doc = only();
  expect(doc).toMatchObject({ connectionId: "alice", requestId: lambdaContext.awsRequestId, Target: "room" });
  const dimensionValues = doc._aws.CloudWatchMetrics[0]!.Dimensions.flat().map((name) => doc[name]);
  expect(dimensionValues).not.toContain("alice");
  expect(dimensionValues).not.toContain("lobby");
  expect(JSON.stringify(doc)).not.toContain("hi\"");
});

test("a message nobody else receives is counted, with no fan-out time", async () => {
  await dynamo.connect("alice");

  await sendMessage(frameEvent("alice", { action: "send-message", message: "anyone?" }), lambdaContext);

  const doc = only();
  expect(values(doc)).toEqual({ MessagesSent: 1, RecipientsDelivered: 0, RecipientsStale: 0, RecipientsFailed: 0, IncompleteFanOuts: 0 });
});

test("a rejected frame publishes nothing", async () => {
  await dynamo.connect("alice");

  await sendMessage(frameEvent("alice", { action: "send-message", message: "" }), lambdaContext);

  expect(documents()).toEqual([]);
});

test("without a namespace in the environment nothing is published", async () => {
  delete process.env[ENV_METRICS_NAMESPACE];
  await dynamo.connect("alice", "bob");

  expect(replyFrame(await sendMessage(frameEvent("alice", { action: "send-message", message: "hello!" }), lambdaContext))).toMatchObject({ delivered: 1 });

  expect(documents()).toEqual([]);
});

test("the fan-out queue's consumer publishes one document per batch, on the queue path", async () => {
  await dynamo.connect("bob", "carol");
  const recipients = ["bob", "carol", "gone"].map((connectionId) => ({ connectionId, connectedAt: Date.now() - 3_600_000, key: keys.broadcast(connectionId) }));
  api.gone.add("gone");
  const body = encodeJob({ messageId: "m1", frame: JSON.stringify({ type: "message", id: "m1", message: "hello" }), recipients });
  const event = {
    Records: [{ messageId: "sqs-1", receiptHandle: "r", body, attributes: { ApproximateReceiveCount: "1" }, messageAttributes: {}, eventSource: "aws:sqs" }],
  } as unknown as SQSEvent;

  await fanOutWorker(event, lambdaContext);

  const doc = only();
  expect(values(doc)).toEqual({ RecipientsDelivered: 2, RecipientsStale: 1, RecipientsFailed: 0, IncompleteFanOuts: 0, FanOutDuration: expect.any(Number) });
  expect(doc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service"], ["service", "Path"]]);
  expect(doc).toMatchObject({ Path: "queue", requestId: lambdaContext.awsRequestId });
});
