import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../handlers/send-message";
import { keys } from "../handlers/lib/table-schema";
import { useFakeAwsEnvironment } from "./support/dynalite";
import { frameEvent, replyFrame } from "./support/events";
import { FakeManagementApi } from "./support/management-api";

// dynalite cannot fail on demand halfway through a read, so here DynamoDB is mocked; the management API
// is still the real SDK talking HTTP to a real server.
const dynamo = mockClient(DynamoDBDocumentClient);
let api: FakeManagementApi;

const longAgo = Date.now() - 3_600_000;
const listed = (id: string) => ({ ...keys.broadcast(id), connectionId: id, connectedAt: longAgo });
const throughputExceeded = () => Object.assign(new Error("Throughput exceeds the current capacity"), { name: "ProvisionedThroughputExceededException" });

beforeAll(async () => {
  api = await FakeManagementApi.start();
  useFakeAwsEnvironment();
  process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = api.endpoint("prod");
  process.env.TABLE_NAME = "connections";
});

afterAll(async () => {
  dynamo.restore();
  await api.stop();
});

beforeEach(() => {
  dynamo.reset();
  api.reset();
  dynamo.on(GetCommand).resolves({ Item: { ...keys.connection("alice"), connectedAt: longAgo, user: { id: "alice", name: "alice", verified: false } } });
});

afterEach(() => {
  jest.restoreAllMocks();
});

test("a read failing mid-broadcast replies sent and incomplete, not an error, once anyone got the message", async () => {
  const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
  dynamo
    .on(QueryCommand)
    .resolvesOnce({ Items: [listed("bob"), listed("carol")], LastEvaluatedKey: keys.broadcast("carol") })
    .rejectsOnce(throughputExceeded());

  const result = await handler(frameEvent("alice", { action: "send-message", message: "hello!", requestId: "q1" }));

  expect(result.statusCode).toBe(200);
  expect(replyFrame(result)).toEqual({ type: "sent", id: expect.any(String), delivered: 2, stale: 0, failed: 0, incomplete: true, requestId: "q1" });
  expect(api.received("bob")).toHaveLength(1);
  expect(api.received("carol")).toHaveLength(1);
  expect(logged.mock.calls[0][0]).toMatchObject({ route: "send-message", errorType: "ProvisionedThroughputExceededException" });
});

test("a read failing before anyone was posted to replies INTERNAL: nothing happened, so a retry is safe", async () => {
  jest.spyOn(console, "error").mockImplementation(() => undefined);
  dynamo.on(QueryCommand).rejects(throughputExceeded());

  const result = await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  expect(replyFrame(result)).toMatchObject({ type: "error", code: "INTERNAL" });
  expect(api.requests).toEqual([]);
});

test("the second page of a list continues from where the first one ended", async () => {
  dynamo
    .on(QueryCommand)
    .resolvesOnce({ Items: [listed("bob")], LastEvaluatedKey: keys.broadcast("bob") })
    .resolves({ Items: [] });

  await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  const starts = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input.ExclusiveStartKey);
  expect(starts.slice(0, 2)).toEqual([undefined, keys.broadcast("bob")]);
});

test("every read that decides the recipients is strongly consistent", async () => {
  dynamo.on(QueryCommand).resolves({ Items: [] });

  await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  expect(dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input.ConsistentRead)).not.toContain(undefined);
  expect(dynamo.commandCalls(QueryCommand).every((call) => call.args[0].input.ConsistentRead === true && !call.args[0].input.IndexName)).toBe(true);
  expect(dynamo.commandCalls(GetCommand).every((call) => call.args[0].input.ConsistentRead === true)).toBe(true);
});

test("the sender's record and a direct recipient's or a room membership are read together, strongly consistent", async () => {
  dynamo.on(BatchGetCommand).resolves({ Responses: { connections: [] } });

  await handler(frameEvent("alice", { action: "send-message", to: "bob", message: "hi" }));
  await handler(frameEvent("alice", { action: "send-message", room: "lobby", message: "hi" }));

  const reads = dynamo.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems!.connections!);
  expect(reads).toEqual([
    { Keys: [keys.connection("alice"), keys.connection("bob")], ConsistentRead: true },
    { Keys: [keys.connection("alice"), keys.membership("alice", "lobby")], ConsistentRead: true },
  ]);
});

test("a direct recipient DynamoDB left unprocessed is read again, not refused as unknown", async () => {
  const alice = { ...keys.connection("alice"), connectedAt: longAgo, user: { id: "alice", name: "alice", verified: false } };
  const bob = { ...keys.connection("bob"), connectedAt: longAgo, user: { id: "bob", name: "bob", verified: false } };
  dynamo.on(GetCommand, { Key: keys.connection("bob") }).resolves({});
  dynamo
    .on(BatchGetCommand)
    .resolvesOnce({ Responses: { connections: [alice] }, UnprocessedKeys: { connections: { Keys: [keys.connection("bob")], ConsistentRead: true } } })
    .resolves({ Responses: { connections: [bob] } });

  const result = await handler(frameEvent("alice", { action: "send-message", to: "bob", message: "hi" }));

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 1 });
  expect(api.received("bob")).toHaveLength(1);
  expect(dynamo.commandCalls(BatchGetCommand)[1]!.args[0].input.RequestItems).toEqual({ connections: { Keys: [keys.connection("bob")], ConsistentRead: true } });
});

test("a gone recipient whose removal fails is counted failed and logged, and the others still get the message", async () => {
  const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
  dynamo.on(QueryCommand).resolvesOnce({ Items: [listed("bob"), listed("carol")] }).resolves({ Items: [] });
  dynamo.on(UpdateCommand).rejects(Object.assign(new Error("Internal server error"), { name: "InternalServerError" }));
  api.gone.add("bob");

  const result = await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 1, stale: 0, failed: 1 });
  expect(api.received("carol")).toHaveLength(1);
  expect(logged.mock.calls[0][0]).toMatchObject({ recipient: "bob", errorType: "InternalServerError" });
});
