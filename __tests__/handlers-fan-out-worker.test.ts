import type { SQSEvent, SQSRecord } from "aws-lambda";
import { handler } from "../handlers/fan-out-worker";
import { encodeJob, JobRecipient } from "../handlers/lib/fan-out/fan-out-job";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

beforeEach(async () => {
  delete process.env.FANOUT_CONCURRENCY;
});

afterEach(() => {
  jest.restoreAllMocks();
});

const longAgo = Date.now() - 3_600_000;
const to = (...ids: string[]): JobRecipient[] => ids.map((connectionId) => ({ connectionId, connectedAt: longAgo, key: keys.broadcast(connectionId) }));
const frameFor = (messageId: string, message = "hello") => JSON.stringify({ type: "message", id: messageId, message, from: "alice" });

let sequence = 0;
/** An SQS record as Lambda's event source mapping delivers it. */
function record(messageId: string, recipients: JobRecipient[], receiveCount = 1, sqsMessageId = `sqs-${(sequence += 1)}`): SQSRecord {
  return {
    messageId: sqsMessageId,
    receiptHandle: `receipt-${sqsMessageId}-${receiveCount}`,
    body: encodeJob({ messageId, frame: frameFor(messageId), recipients }),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: "AROA",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:chat-fan-out",
    awsRegion: "us-east-1",
  };
}

const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const quietly = () => jest.spyOn(console, "info").mockImplementation(() => undefined);
const silenceErrors = () => jest.spyOn(console, "error").mockImplementation(() => undefined);

test("every recipient of every job in the batch gets its job's message, and no job is retried", async () => {
  quietly();
  await dynamo.connect("bob", "carol", "dave");

  const result = await handler(event(record("m1", to("bob", "carol")), record("m2", to("dave"))));

  expect(result).toEqual({ batchItemFailures: [] });
  expect(api.received("bob")).toEqual([JSON.parse(frameFor("m1"))]);
  expect(api.received("carol")).toEqual([JSON.parse(frameFor("m1"))]);
  expect(api.received("dave")).toEqual([JSON.parse(frameFor("m2"))]);
});

test("a recipient that is gone is removed with what lists it, and its job is not retried for it", async () => {
  quietly();
  await dynamo.connect("bob", "carol");
  api.gone.add("bob");

  const result = await handler(event(record("m1", to("bob", "carol"))));

  expect(result).toEqual({ batchItemFailures: [] });
  expect(await dynamo.keysMentioning("bob")).toEqual([]);
});

test("only the job with recipients still throttled is reported failed, and its retry posts to them alone", async () => {
  quietly();
  silenceErrors();
  await dynamo.connect("bob", "carol", "dave");
  api.throttled.set("carol", 1000);
  const first = record("m1", to("bob", "carol"));
  const other = record("m2", to("dave"));

  expect(await handler(event(first, other))).toEqual({ batchItemFailures: [{ itemIdentifier: first.messageId }] });
  expect(api.received("bob")).toHaveLength(1);

  api.throttled.clear();
  api.requests.length = 0;
  const retry = await handler(event(record("m1", to("bob", "carol"), 2, first.messageId)));

  expect(retry).toEqual({ batchItemFailures: [] });
  expect(api.requests.map((r) => decodeURIComponent(r.split("/@connections/")[1]!))).toEqual(["carol"]);
  expect(api.received("bob")).toHaveLength(1);
  expect(api.received("carol")).toHaveLength(1);
  // Once every recipient is reached, the job's progress record goes.
  expect(await dynamo.partition(keys.fanOutProgress(first.messageId).pk)).toEqual([]);
});

test("a recipient that failed for good (a 5xx, which may have been delivered) is not retried", async () => {
  quietly();
  silenceErrors();
  await dynamo.connect("bob");
  api.broken.set("bob", 1);

  expect(await handler(event(record("m1", to("bob"))))).toEqual({ batchItemFailures: [] });
  expect(api.requests).toHaveLength(1);
});

test("recipients not reached before the deadline are handed back to SQS, not lost", async () => {
  quietly();
  process.env.FANOUT_CONCURRENCY = "1";
  // 40 posts, one at a time, 150 ms each: 6 s of work with 5 s left.
  const ids = Array.from({ length: 40 }, (_, i) => `conn-${i}`);
  await dynamo.connect(...ids);
  api.latencyMs = 150;
  const job = record("m1", to(...ids));
  const deadline = Date.now() + 5_000;

  const result = await handler(event(job), { getRemainingTimeInMillis: () => deadline - Date.now() });

  expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: job.messageId }] });
  const reached = ids.filter((id) => api.received(id).length === 1);
  expect(reached.length).toBeGreaterThan(0);
  expect(reached.length).toBeLessThan(ids.length);
  api.latencyMs = 0;
  api.requests.length = 0;
  await handler(event(record("m1", to(...ids), 2, job.messageId)));
  expect(ids.filter((id) => api.received(id).length === 1)).toEqual(ids);
  expect(api.requests).toHaveLength(ids.length - reached.length);
}, 20_000);

test("a retry whose progress record is missing posts to the whole job again: at least once, never less", async () => {
  quietly();
  await dynamo.connect("bob");

  expect(await handler(event(record("m1", to("bob"), 3)))).toEqual({ batchItemFailures: [] });
  expect(api.received("bob")).toHaveLength(1);
});

test("a malformed job is reported failed, so SQS moves it to the dead-letter queue, and the others still go out", async () => {
  quietly();
  silenceErrors();
  await dynamo.connect("bob");
  const bad = { ...record("m0", []), body: "{not a job" };

  expect(await handler(event(bad, record("m1", to("bob"))))).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
  expect(api.received("bob")).toHaveLength(1);
});

test("it logs one line of counts per batch, never a message body", async () => {
  const logged = quietly();
  await dynamo.connect("bob", "carol");

  await handler(event(record("m1", to("bob", "carol"))));

  expect(logged).toHaveBeenCalledTimes(1);
  expect(logged.mock.calls[0]![0]).toMatchObject({ route: "fan-out-worker", jobs: 1, delivered: 2, stale: 0, failed: 0, retrying: 0 });
  expect(JSON.stringify(logged.mock.calls)).not.toContain("hello");
});
