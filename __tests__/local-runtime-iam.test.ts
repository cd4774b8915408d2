/**
 * The real chat stack (its synthesized JSON and bundled handlers) in the local runtime: the @connections API
 * answers the real SDK as AWS does, and every DynamoDB and @connections call is checked against the
 * caller's synthesized IAM policy, failing with the error AWS returns.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { editRolePolicy, synthesizeWorkspace, writeVariant, type Workspace } from "./support/local-stacks";
import { LogCollector, TestClient } from "./support/ws-client";

let workspace: Workspace;
let runtime: LocalRuntime;
const logs = new LogCollector();
const clients: TestClient[] = [];

async function connect(target: LocalRuntime = runtime): Promise<TestClient> {
  const client = await TestClient.connect(target.wsUrl);
  clients.push(client);
  return client;
}

/** A connected client and its connection id, which the $default route tells. */
async function chatter(target: LocalRuntime = runtime): Promise<{ client: TestClient; id: string }> {
  const client = await connect(target);
  const info = await client.request<{ type: string; connectionId: string }>({ action: "hello" });
  expect(info.type).toBe("info");
  return { client, id: info.connectionId };
}

/** Credentials of one function, exactly those it runs with. */
function credentialsOf(target: LocalRuntime, functionName: string) {
  const env = target.environmentOf(functionName);
  return { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!, sessionToken: env.AWS_SESSION_TOKEN! };
}

interface SdkCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

function managementApi(target: LocalRuntime, credentials: SdkCredentials = target.adminCredentials): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({ endpoint: target.managementUrl, region: target.region, credentials, maxAttempts: 1 });
}

function dynamoDb(target: LocalRuntime, credentials: SdkCredentials = target.adminCredentials): DynamoDBClient {
  return new DynamoDBClient({ endpoint: target.dynamodbEndpoint, region: target.region, credentials, maxAttempts: 1 });
}

beforeAll(async () => {
  workspace = synthesizeWorkspace("local-iam");
  runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log });
}, 60_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(async () => {
  await runtime?.stop();
  workspace?.remove();
});

describe("@connections with the real SDK", () => {
  test("POST sends the data to the client as one text frame", async () => {
    const { client, id } = await chatter();
    const api = managementApi(runtime);
    await api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('{"type":"ping"}') }));
    expect(await client.next()).toBe('{"type":"ping"}');
    api.destroy();
  });

  test("GET describes the connection", async () => {
    const before = Date.now();
    const { id } = await chatter();
    const api = managementApi(runtime);
    const connection = await api.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(connection.ConnectedAt).toBeInstanceOf(Date);
    expect(connection.ConnectedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(connection.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(connection.ConnectedAt!.getTime());
    expect(connection.Identity).toEqual({ SourceIp: "127.0.0.1", UserAgent: undefined });
    api.destroy();
  });

  test("a connection that is not open answers 410 GoneException", async () => {
    const { client, id } = await chatter();
    await client.close();
    const api = managementApi(runtime);
    const post = api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from("late") }));
    await expect(post).rejects.toBeInstanceOf(GoneException);
    await expect(post).rejects.toMatchObject({ $metadata: { httpStatusCode: 410 } });
    await expect(api.send(new DeleteConnectionCommand({ ConnectionId: "neverExisted0A=" }))).rejects.toBeInstanceOf(GoneException);
    api.destroy();
  });

  test("a call the caller's policy does not allow is AccessDenied, and the runtime logs it", async () => {
    const { id } = await chatter();
    // send-message may POST to connections, nothing else.
    const api = managementApi(runtime, credentialsOf(runtime, "chat-send-message"));
    const resource = `arn:aws:execute-api:us-east-1:000000000000:${runtime.model.api.id}/prod/GET/@connections/${id}`;
    await expect(api.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: `User: arn:aws:sts::000000000000:assumed-role/chat-send-message-us-east-1-fn/chat-send-message is not authorized to perform: execute-api:ManageConnections on resource: ${resource} because no identity-based policy allows the execute-api:ManageConnections action`,
      $metadata: { httpStatusCode: 403 },
    });
    expect(logs.matching(/^IAM denied chat-send-message: execute-api:ManageConnections on /).some((line) => line.includes(resource))).toBe(true);
    api.destroy();
  });

  test("data over 128 KB is PayloadTooLargeException", async () => {
    const { id } = await chatter();
    const api = managementApi(runtime);
    await expect(api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.alloc(129 * 1024, 65) }))).rejects.toMatchObject({
      name: "PayloadTooLargeException",
      $metadata: { httpStatusCode: 413 },
    });
    api.destroy();
  });

  test("an unsigned call is refused", async () => {
    const { id } = await chatter();
    const response = await fetch(`${runtime.managementUrl}/@connections/${encodeURIComponent(id)}`, { method: "POST", body: "x" });
    expect(response.status).toBe(403);
    expect(response.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
  });
});

describe("@connections latency and failure injection (for benchmarks)", () => {
  let slow: LocalRuntime;

  beforeAll(async () => {
    slow = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, managementLatencyMs: 150, managementFailureRate: 1, log: logs.log });
  });

  afterAll(async () => {
    await slow?.stop();
  });

  test("every call takes the added latency and can be answered 429 LimitExceededException", async () => {
    const { id } = await chatter(slow);
    const api = managementApi(slow);
    const started = Date.now();
    await expect(api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from("x") }))).rejects.toMatchObject({
      name: "LimitExceededException",
      $metadata: { httpStatusCode: 429 },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    api.destroy();
  });
});

describe("IAM on DynamoDB", () => {
  test("a function's own credentials cannot do what its policy does not grant", async () => {
    const db = dynamoDb(runtime, credentialsOf(runtime, "chat-join"));
    await expect(db.send(new ScanCommand({ TableName: "chat-connections" }))).rejects.toMatchObject({
      name: "AccessDeniedException",
      message:
        "User: arn:aws:sts::000000000000:assumed-role/chat-join-us-east-1-fn/chat-join is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:us-east-1:000000000000:table/chat-connections because no identity-based policy allows the dynamodb:Scan action",
      $metadata: { httpStatusCode: 400 },
    });
    expect(logs.matching(/^IAM denied chat-join: dynamodb:Scan on arn:aws:dynamodb:us-east-1:000000000000:table\/chat-connections/)).toHaveLength(1);
    db.destroy();
  });

  test("an access key the runtime did not issue is UnrecognizedClientException", async () => {
    const db = dynamoDb(runtime, { accessKeyId: "AKIAEXAMPLEEXAMPLE12", secretAccessKey: "wrong" });
    await expect(db.send(new ScanCommand({ TableName: "chat-connections" }))).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    db.destroy();
  });

  test("the real stack makes no call its policies do not grant", async () => {
    const denialsBefore = logs.matching(/IAM denied/).length;
    const alice = await chatter();
    const bob = await chatter();
    await alice.client.request({ action: "join", room: "den" });
    await bob.client.request({ action: "join", room: "den" });
    await alice.client.request({ action: "send-message", room: "den", message: "room" });
    await alice.client.request({ action: "send-message", to: bob.id, message: "direct" });
    await alice.client.request({ action: "send-message", message: "everyone" });
    await alice.client.request({ action: "leave", room: "den" });
    await alice.client.request("not json");
    await alice.client.close();
    await logs.waitFor(new RegExp(`^route \\$disconnect ${alice.id.replace("=", "\\=")} 200`));

    const replies = logs.lines.filter((line) => /^route /.test(line));
    expect(replies.filter((line) => / 500 /.test(line))).toEqual([]);
    expect(logs.matching(/IAM denied/).length).toBe(denialsBefore);
  });
});

describe("a variant of the stack: join's dynamodb:PutItem grant removed, an explicit Deny on send-message's posts", () => {
  let variant: LocalRuntime;
  const variantLogs = new LogCollector();

  beforeAll(async () => {
    const stackDir = writeVariant(workspace, "iam-variant", (tf) => {
      editRolePolicy(tf, "chat-join", (statements) =>
        statements.map((s) => (Array.isArray(s.Action) ? { ...s, Action: s.Action.filter((a: string) => a !== "dynamodb:PutItem") } : s)),
      );
      editRolePolicy(tf, "chat-send-message", (statements) => [
        ...statements,
        { Effect: "Deny", Action: "execute-api:Manage*", Resource: "arn:aws:execute-api:*:*:*/prod/POST/@connections/*" },
      ]);
    });
    variant = await startLocalRuntime({ stackDir, port: 0, log: variantLogs.log });
  });

  afterAll(async () => {
    await variant?.stop();
  });

  test("join fails with AccessDeniedException, and the runtime logs the denied action and resource", async () => {
    const { client } = await chatter(variant);
    expect(await client.request({ action: "join", room: "lobby" })).toMatchObject({ type: "error", code: "INTERNAL" });
    await variantLogs.waitFor(/^IAM denied chat-join: dynamodb:PutItem on arn:aws:dynamodb:us-east-1:000000000000:table\/chat-connections /);
    // The handler saw the error the SDK raises on AWS.
    await variantLogs.waitFor(/^\[chat-join\] .*AccessDeniedException/);
  });

  test("an explicit Deny wins over send-message's Allow: every post is refused", async () => {
    const alice = await chatter(variant);
    await chatter(variant);
    // Connections of earlier tests may still be on their way out; none of them can be posted to either.
    const sent = await alice.client.request({ action: "send-message", message: "anyone?" });
    expect(sent).toMatchObject({ type: "sent", delivered: 0, stale: 0 });
    expect(sent.failed).toBeGreaterThanOrEqual(1);
    await variantLogs.waitFor(/^IAM denied chat-send-message: execute-api:ManageConnections on arn:aws:execute-api:us-east-1:000000000000:\w+\/prod\/POST\/@connections\/\S+ \(explicit-deny/);
  });

  test("the functions that keep their grants still work", async () => {
    const { client } = await chatter(variant);
    expect(await client.request({ action: "leave", room: "lobby" })).toEqual({ type: "left", room: "lobby" });
  });
});
