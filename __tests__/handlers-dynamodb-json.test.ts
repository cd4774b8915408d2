import { dynamoDbEndpoint, dynamoDbJsonClient } from "../handlers/lib/store/dynamodb-json";
import { signedHttp } from "../handlers/lib/aws/signed-http";
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
const keyOfA = () => ({ TableName: table, Key: { pk: { S: "conn#a" }, sk: { S: "meta" } }, ConsistentRead: true });
const getA = () => client().call("GetItem", keyOfA());
// The same client with attempts of 300 ms rather than 5 s.
const ATTEMPT_MS = 300;
const hurried = () => dynamoDbJsonClient(signedHttp(faulty.endpoint, { service: "dynamodb", connectionTimeoutMs: 1_000 }), () => 0, ATTEMPT_MS);

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

test("a read never answered is abandoned at the attempt timeout and tried again, so a later answer still comes back", async () => {
  faulty.answer("GetItem", { never: true }, { times: 2 });
  const started = Date.now();

  await expect(hurried().call("GetItem", keyOfA())).resolves.toMatchObject({ Item: { pk: { S: "conn#a" } } });

  expect(faulty.inputs("GetItem")).toHaveLength(3);
  expect(Date.now() - started).toBeGreaterThanOrEqual(2 * ATTEMPT_MS);
});

test("a read no attempt of which is answered fails after three attempts instead of hanging", async () => {
  faulty.answer("GetItem", { never: true }, { times: Infinity });
  const started = Date.now();

  await expect(hurried().call("GetItem", keyOfA())).rejects.toMatchObject({ name: "AbortError" });

  expect(faulty.inputs("GetItem")).toHaveLength(3);
  // Three attempt timeouts and no more: the client does not wait on a request it has given up.
  expect(Date.now() - started).toBeLessThan(3 * ATTEMPT_MS + 1_000);
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
