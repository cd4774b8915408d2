import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { handler } from "../handlers/send-message";
import { ENV_CALLBACK_URL } from "../handlers/lib/env/contract";
import { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame } from "./support/events";
import { FakeManagementApi } from "./support/management-api";

// Behind a custom domain the event's domainName is that domain, where @connections does not answer; the
// stack gives every function that posts the execute-api endpoint as CALLBACK_URL instead.
let dynamo: LocalDynamo;
let api: FakeManagementApi;
const saved = { endpoint: process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, callback: process.env[ENV_CALLBACK_URL] };

beforeAll(async () => {
  [dynamo, api] = await Promise.all([LocalDynamo.start(), FakeManagementApi.start()]);
  delete process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI;
  process.env[ENV_CALLBACK_URL] = api.endpoint("prod");
  process.env.BROADCAST = "everyone";
});

afterAll(async () => {
  delete process.env.BROADCAST;
  for (const [name, value] of [["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", saved.endpoint], [ENV_CALLBACK_URL, saved.callback]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([dynamo.stop(), api.stop()]);
});

/** The event API Gateway sends when the client connected to wss://chat.example.invalid. */
function throughCustomDomain(event: APIGatewayProxyWebsocketEventV2): APIGatewayProxyWebsocketEventV2 {
  return { ...event, requestContext: { ...event.requestContext, domainName: "chat.example.invalid" } };
}

test("send-message posts to the CALLBACK_URL endpoint, not to the custom domain the client connected to", async () => {
  await dynamo.freshTable();
  await dynamo.connect("alice", "bob");

  const result = await handler(throughCustomDomain(frameEvent("alice", { action: "send-message", message: "hello!" })));

  expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 1 });
  expect(api.received("bob")).toEqual([expect.objectContaining({ type: "message", message: "hello!", from: "alice" })]);
});
