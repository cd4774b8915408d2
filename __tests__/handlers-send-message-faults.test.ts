import { marshall } from "@aws-sdk/util-dynamodb";
import { handler } from "../handlers/send-message";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

// DynamoDB failing halfway through a handler's work: the local DynamoDB behind a proxy that answers chosen
// calls itself. The handler's signed reads and the SDK's writes are real requests to it.
const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
let faulty: FaultyDynamoDb;

beforeAll(() => ({ dynamo, api, faulty } = world));

beforeEach(async () => {
  // A room whose members are read in pages of two, in sort-key order: alice and bob, then carol and dave.
  process.env.DYNAMODB_PAGE_SIZE = "2";
  await dynamo.connect("alice", "bob", "carol", "dave");
  await dynamo.join("lobby", "alice", "bob", "carol", "dave");
  faulty.reset();
});

afterEach(() => {
  delete process.env.DYNAMODB_PAGE_SIZE;
  jest.restoreAllMocks();
});

const send = (frame: Record<string, unknown>) => handler(frameEvent("alice", { action: "send-message", ...frame }));
const throttled = { status: 400, error: "ProvisionedThroughputExceededException" } as const;
const silenceErrorLog = () => jest.spyOn(console, "error").mockImplementation(() => undefined);

test("a read failing mid-fan-out replies sent and incomplete, not an error, once anyone got the message", async () => {
  const logged = silenceErrorLog();
  // The first page is read; every attempt at the second one is throttled.
  faulty.answer("Query", throttled, { after: 1, times: Infinity });

  const result = await send({ room: "lobby", message: "hello!", requestId: "q1" });

  expect(result.statusCode).toBe(200);
  expect(replyFrame(result)).toEqual({ type: "sent", id: expect.any(String), sentAt: expect.any(String), seq: 1, delivered: 1, stale: 0, failed: 0, incomplete: true, requestId: "q1" });
  expect(api.received("bob")).toHaveLength(1);
  expect(api.received("carol")).toHaveLength(0);
  expect(logged.mock.calls[0]![0]).toMatchObject({ route: "send-message", errorType: "ProvisionedThroughputExceededException" });
});

test("a throttled read is retried as the SDK would, and the message reaches everyone", async () => {
  faulty.answer("Query", throttled, { after: 1, times: 2 });

  const result = await send({ room: "lobby", message: "hello!" });

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 3, incomplete: false });
  const secondPage = faulty.inputs("Query").filter((input) => input.ExclusiveStartKey?.sk?.S === "conn#bob");
  expect(secondPage).toHaveLength(3);
});

test("a read failing before anyone was posted to replies INTERNAL: nothing happened, so a retry is safe", async () => {
  silenceErrorLog();
  faulty.answer("Query", throttled, { times: Infinity });

  const result = await send({ room: "lobby", message: "hello!" });

  expect(replyFrame(result)).toMatchObject({ type: "error", code: "INTERNAL" });
  expect(api.requests).toEqual([]);
});

test("a read DynamoDB refuses outright (not throttling, not a fault) is not retried", async () => {
  silenceErrorLog();
  faulty.answer("Query", { status: 400, error: "ValidationException" }, { times: Infinity });

  const result = await send({ room: "lobby", message: "hello!" });

  expect(replyFrame(result)).toMatchObject({ type: "error", code: "INTERNAL" });
  expect(faulty.inputs("Query")).toHaveLength(1);
});

test("the second page of a list continues from where the first one ended", async () => {
  await send({ room: "lobby", message: "hello!" });

  const starts = faulty.inputs("Query").map((input) => input.ExclusiveStartKey);
  expect(starts).toEqual([undefined, { pk: { S: keys.roomPartition("lobby") }, sk: { S: "conn#bob" } }, expect.anything()]);
  expect(["bob", "carol", "dave"].map((id) => api.received(id).length)).toEqual([1, 1, 1]);
});

test("every read that decides the recipients is strongly consistent, from the table itself", async () => {
  await send({ message: "to everyone" });
  await send({ room: "lobby", message: "to the room" });
  await send({ to: "bob", message: "to bob" });

  const reads = faulty.requests.filter((r) => ["GetItem", "BatchGetItem", "Query"].includes(r.operation));
  expect(reads.map((r) => r.operation)).toEqual(expect.arrayContaining(["GetItem", "BatchGetItem", "Query"]));
  for (const { operation, input } of reads) {
    const consistent = operation === "BatchGetItem" ? Object.values(input.RequestItems as Record<string, any>).every((r) => r.ConsistentRead === true) : input.ConsistentRead === true;
    expect({ operation, consistent, index: input.IndexName }).toEqual({ operation, consistent: true, index: undefined });
  }
});

test("the sender's record and a direct recipient's or a room membership are read together, strongly consistent", async () => {
  await send({ to: "bob", message: "hi" });
  await send({ room: "lobby", message: "hi" });

  const table = process.env.TABLE_NAME!;
  const wire = (key: { pk: string; sk: string }) => ({ pk: { S: key.pk }, sk: { S: key.sk } });
  expect(faulty.inputs("BatchGetItem").map((input) => input.RequestItems)).toEqual([
    { [table]: { Keys: [wire(keys.connection("alice")), wire(keys.connection("bob"))], ConsistentRead: true } },
    { [table]: { Keys: [wire(keys.connection("alice")), wire(keys.membership("alice", "lobby"))], ConsistentRead: true } },
    // A room message then reads its room's counter and whether its id already has a seq (history-store.ts).
    { [table]: { Keys: [wire(keys.roomCounter("lobby")), expect.objectContaining({ sk: { S: "seq" } })], ConsistentRead: true } },
  ]);
});

test("a direct recipient DynamoDB left unprocessed is read again, not refused as unknown", async () => {
  const [alice] = (await dynamo.itemsOf("alice")).filter((item) => item.sk === "meta");
  const table = process.env.TABLE_NAME!;
  faulty.answer("BatchGetItem", {
    body: {
      Responses: { [table]: [marshall(alice!)] },
      UnprocessedKeys: { [table]: { Keys: [marshall(keys.connection("bob"))], ConsistentRead: true } },
    },
  });

  const result = await send({ to: "bob", message: "hi" });

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 1 });
  expect(api.received("bob")).toHaveLength(1);
  expect(faulty.inputs("BatchGetItem")[1]!.RequestItems).toEqual({ [table]: { Keys: [marshall(keys.connection("bob"))], ConsistentRead: true } });
});

test("a gone recipient whose removal fails is counted failed and logged, and the others still get the message", async () => {
  const logged = silenceErrorLog();
  faulty.answer("UpdateItem", { status: 500, error: "InternalServerError" }, { times: Infinity });
  api.gone.add("bob");

  const result = await send({ room: "lobby", message: "hello!" });

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 2, stale: 0, failed: 1 });
  expect(api.received("carol")).toHaveLength(1);
  expect(logged.mock.calls[0]![0]).toMatchObject({ recipient: "bob", errorType: "InternalServerError" });
});
