import { dynamoDbEndpoint, dynamoDbJsonClient } from "../handlers/lib/dynamodb-json";
import { signedHttp } from "../handlers/lib/signed-http";
import { LocalDynamo } from "./support/dynalite";
import { FaultyDynamoDb } from "./support/faulty-dynamodb";

// The signed reads against the local DynamoDB behind a proxy that fails chosen calls.
let dynamo: LocalDynamo;
let faulty: FaultyDynamoDb;
let table: string;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  faulty = await FaultyDynamoDb.start(dynamo.endpoint);
  table = await dynamo.freshTable();
  await dynamo.put({ pk: "conn#a", sk: "meta", connectedAt: 1 });
});

afterAll(async () => {
  await faulty.stop();
  await dynamo.stop();
});

beforeEach(() => faulty.reset());

// No waiting between attempts: the backoff's random draw is 0.
const client = () => dynamoDbJsonClient(signedHttp(faulty.endpoint, { service: "dynamodb", connectionTimeoutMs: 1_000 }), () => 0);
const getA = () => client().call("GetItem", { TableName: table, Key: { pk: { S: "conn#a" }, sk: { S: "meta" } }, ConsistentRead: true });

test("an item comes back in DynamoDB's wire format", async () => {
  await expect(getA()).resolves.toEqual({ Item: { pk: { S: "conn#a" }, sk: { S: "meta" }, connectedAt: { N: "1" } } });
});

test("a server fault is retried, as the SDK's standard mode does, and the answer after it returned", async () => {
  faulty.answer("GetItem", { status: 503, error: "ServiceUnavailable" }, { times: 2 });

  await expect(getA()).resolves.toMatchObject({ Item: { pk: { S: "conn#a" } } });
  expect(faulty.inputs("GetItem")).toHaveLength(3);
});

test("after three attempts the error comes out shaped like the SDK's: name, status and fault", async () => {
  faulty.answer("GetItem", { status: 500, error: "InternalServerError" }, { times: Infinity });

  const error = await getA().catch((e: unknown) => e);

  expect(error).toMatchObject({ name: "InternalServerError", $fault: "server", $metadata: { httpStatusCode: 500 } });
  expect(faulty.inputs("GetItem")).toHaveLength(3);
});

test("an endpoint that is down fails with Node's code, which callers sort as never sent", async () => {
  const down = dynamoDbJsonClient(signedHttp("http://127.0.0.1:1", { service: "dynamodb", connectionTimeoutMs: 1_000 }), () => 0);

  await expect(down.call("GetItem", { TableName: table, Key: {} })).rejects.toMatchObject({ code: "ECONNREFUSED" });
});

test("the endpoint is the SDK's: the DynamoDB override, then the global one, then the region's", () => {
  const saved = { ...process.env };
  try {
    process.env.AWS_REGION = "eu-west-1";
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    delete process.env.AWS_ENDPOINT_URL;
    expect(dynamoDbEndpoint()).toBe("https://dynamodb.eu-west-1.amazonaws.com");
    process.env.AWS_ENDPOINT_URL = "http://localhost:4566";
    expect(dynamoDbEndpoint()).toBe("http://localhost:4566");
    process.env.AWS_ENDPOINT_URL_DYNAMODB = "http://127.0.0.1:8000";
    expect(dynamoDbEndpoint()).toBe("http://127.0.0.1:8000");
  } finally {
    process.env = saved;
  }
});
