import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { handler } from "../handlers/send-message";
import { useFakeAwsEnvironment } from "./support/dynalite";
import { frameEvent, replyFrame } from "./support/events";
import { FakeManagementApi } from "./support/management-api";

// dynalite cannot fail on demand halfway through a scan, so here DynamoDB is mocked; the management API
// is still the real SDK talking HTTP to a real server.
const dynamo = mockClient(DynamoDBDocumentClient);
let api: FakeManagementApi;

beforeAll(async () => {
  api = await FakeManagementApi.start();
  useFakeAwsEnvironment();
  process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = api.endpoint("prod");
  process.env.TABLE_NAME = "connections";
  process.env.ROOM_INDEX_NAME = "room-index";
});

afterAll(async () => {
  dynamo.restore();
  await api.stop();
});

beforeEach(() => {
  dynamo.reset();
  api.reset();
});

afterEach(() => {
  jest.restoreAllMocks();
});

test("a scan page failing mid-broadcast replies INTERNAL after the recipients already read got the message", async () => {
  const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
  dynamo
    .on(ScanCommand)
    .resolvesOnce({
      Items: [{ connectionId: "bob" }, { connectionId: "carol" }],
      LastEvaluatedKey: { connectionId: "carol", sk: "#connection" },
    })
    .rejectsOnce(
      Object.assign(new Error("Throughput exceeds the current capacity"), {
        name: "ProvisionedThroughputExceededException",
      })
    );

  const result = await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  expect(result.statusCode).toBe(500);
  expect(replyFrame(result)).toEqual({
    type: "error",
    code: "INTERNAL",
    message: "Internal error, please retry",
    action: "send-message",
  });
  expect(api.received("bob")).toHaveLength(1);
  expect(api.received("carol")).toHaveLength(1);
  expect(JSON.parse(String(logged.mock.calls[0][0]))).toMatchObject({
    level: "error",
    route: "send-message",
    error: "ProvisionedThroughputExceededException",
  });
});

test("the second scan page continues from where the first one ended", async () => {
  dynamo
    .on(ScanCommand)
    .resolvesOnce({ Items: [{ connectionId: "bob" }], LastEvaluatedKey: { connectionId: "bob", sk: "#connection" } })
    .resolvesOnce({ Items: [{ connectionId: "carol" }] });

  await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  const scans = dynamo.commandCalls(ScanCommand).map((call) => call.args[0].input.ExclusiveStartKey);
  expect(scans).toEqual([undefined, { connectionId: "bob", sk: "#connection" }]);
});

test("a gone recipient whose removal fails is counted failed and logged, and the others still get the message", async () => {
  const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
  dynamo.on(ScanCommand).resolves({ Items: [{ connectionId: "bob" }, { connectionId: "carol" }] });
  dynamo.on(QueryCommand).rejects(Object.assign(new Error("Internal server error"), { name: "InternalServerError" }));
  api.gone.add("bob");

  const result = await handler(frameEvent("alice", { action: "send-message", message: "hello!" }));

  expect(replyFrame(result)).toEqual({ type: "sent", delivered: 1, stale: 0, failed: 1 });
  expect(api.received("carol")).toHaveLength(1);
  expect(JSON.parse(String(logged.mock.calls[0][0]))).toMatchObject({ recipient: "bob", error: "InternalServerError" });
});
