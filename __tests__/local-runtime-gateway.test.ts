/**
 * API Gateway's WebSocket semantics in the local runtime, observed with real `ws` clients. The stack is the
 * real synthesized chat stack with every function's bundle swapped for a probe that echoes its event (see
 * PROBE_HANDLER), plus two extra routes, so routing, events, limits and timeouts can be seen directly.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import {
  addRoute,
  functionResource,
  PROBE_HANDLER,
  readProbeLog,
  removeRoute,
  synthesizeWorkspace,
  useBundle,
  writeBundle,
  writeVariant,
  type Workspace,
} from "./support/local-stacks";
import { HandshakeRefused, LogCollector, TestClient, waitFor } from "./support/ws-client";

let workspace: Workspace;
let probeStack: string;
let probeLog: string;
let runtime: LocalRuntime;
const logs = new LogCollector();
const clients: TestClient[] = [];

/** Echo replies of the probe: the route it ran for and the event it got. */
interface Echo {
  routeKey: string;
  event: { requestContext: Record<string, any>; body?: string; isBase64Encoded: boolean; [key: string]: any };
  context: { functionName: string; memoryLimitInMB: string; invokedFunctionArn: string; remainingTimeInMillis: number; awsRequestId: string };
}

async function connect(query = "", options = {}): Promise<TestClient> {
  const client = await TestClient.connect(`${runtime.wsUrl}${query}`, options);
  clients.push(client);
  return client;
}

/** A client and its connection id (from an echo of its own event). */
async function connectWithId(query = ""): Promise<{ client: TestClient; id: string }> {
  const client = await connect(query);
  const echo = await client.exchange<Echo>({ action: "no-such-route" });
  return { client, id: echo.event.requestContext.connectionId };
}

const events = (type: string, connectionId?: string) =>
  readProbeLog(probeLog).filter((e) => e.requestContext.eventType === type && (!connectionId || e.requestContext.connectionId === connectionId));

beforeAll(async () => {
  workspace = synthesizeWorkspace("local-gateway");
  probeLog = join(workspace.dir, "probe-events.jsonl");
  probeStack = writeVariant(workspace, "probe-stack", (tf, dir) => {
    const probe = writeBundle(dir, "probe", PROBE_HANDLER);
    for (const fn of Object.values(tf.resource.aws_lambda_function)) {
      useBundle(tf, fn.function_name, probe);
      fn.environment.variables.PROBE_LOG = probeLog;
    }
    // A route without a route response, and one whose integration gives up after 300 ms.
    addRoute(tf, { routeKey: "silent", functionName: "chat-join", replies: false });
    addRoute(tf, { routeKey: "impatient", functionName: "chat-join", replies: true, integrationTimeoutMs: 300 });
    // Lambda's shortest timeout, to see a function time out.
    functionResource(tf, "chat-leave")[1].timeout = 1;
    Object.values(tf.resource.aws_apigatewayv2_stage)[0].stage_variables = { flavour: "local" };
  });
  process.env.LOCAL_RUNTIME_TEST_PARENT_ONLY = "must not leak";
  runtime = await startLocalRuntime({ stackDir: probeStack, host: "127.0.0.1", port: 0, log: logs.log });
}, 60_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(async () => {
  delete process.env.LOCAL_RUNTIME_TEST_PARENT_ONLY;
  await runtime?.stop();
  workspace?.remove();
});

describe("route selection", () => {
  test("a frame whose action names a route is routed there, with the event API Gateway sends", async () => {
    const client = await connect();
    const frame = JSON.stringify({ action: "join", room: "lobby" });
    const echo = await client.exchange<Echo>(frame);

    expect(echo.routeKey).toBe("join");
    expect(echo.event.body).toBe(frame);
    expect(echo.event.isBase64Encoded).toBe(false);
    const context = echo.event.requestContext;
    expect(context).toMatchObject({
      routeKey: "join",
      eventType: "MESSAGE",
      messageDirection: "IN",
      stage: "prod",
      apiId: runtime.model.api.id,
      domainName: new URL(runtime.wsUrl).host,
      identity: { sourceIp: "127.0.0.1" },
    });
    for (const field of ["connectionId", "requestId", "messageId", "extendedRequestId"]) expect(context[field]).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(context.connectedAt).toBeLessThanOrEqual(context.requestTimeEpoch);
    expect(echo.event.stageVariables).toEqual({ flavour: "local" });
    expect(context.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  test("each message gets its own requestId and messageId on the same connectionId", async () => {
    const client = await connect();
    const first = await client.exchange<Echo>({ action: "join" });
    const second = await client.exchange<Echo>({ action: "join" });
    expect(second.event.requestContext.connectionId).toBe(first.event.requestContext.connectionId);
    expect(second.event.requestContext.requestId).not.toBe(first.event.requestContext.requestId);
    expect(second.event.requestContext.messageId).not.toBe(first.event.requestContext.messageId);
  });

  test.each([
    ["a frame that is not JSON", "hello"],
    ["an unknown action", JSON.stringify({ action: "dance" })],
    ["a JSON object without an action", JSON.stringify({ message: "hi" })],
    ["a JSON array", JSON.stringify([{ action: "join" }])],
    ["an action that names $connect", JSON.stringify({ action: "$connect" })],
  ])("%s goes to $default", async (_what, frame) => {
    const client = await connect();
    const echo = await client.exchange<Echo>(frame);
    expect(echo.routeKey).toBe("$default");
    expect(echo.event.body).toBe(frame);
  });

  test("a binary frame goes to $default base64-encoded", async () => {
    const client = await connect();
    client.socket.send(Buffer.from([0, 1, 2, 250]), { binary: true });
    const echo = await client.nextJson<Echo>();
    expect(echo.routeKey).toBe("$default");
    expect(echo.event.isBase64Encoded).toBe(true);
    expect(echo.event.body).toBe(Buffer.from([0, 1, 2, 250]).toString("base64"));
  });
});

describe("route responses", () => {
  test("a route with a route response sends the integration's body back", async () => {
    const client = await connect();
    expect((await client.exchange<Echo>({ action: "join" })).routeKey).toBe("join");
  });

  test("a route without a route response sends nothing back", async () => {
    const { client, id } = await connectWithId();
    client.send({ action: "silent" });
    await logs.waitFor(new RegExp(`^route silent ${escape(id)} 200 `));
    // Anything the silent route sent would arrive before the reply to this later frame.
    expect((await client.exchange<Echo>({ action: "join" })).routeKey).toBe("join");
    expect(client.unread).toEqual([]);
  });

  test("a handler that throws gets API Gateway's Internal server error", async () => {
    const { client, id } = await connectWithId();
    const reply = await client.exchange({ action: "join", throw: "boom" });
    expect(reply).toEqual({ message: "Internal server error", connectionId: id, requestId: expect.stringMatching(/=$/) });
    await logs.waitFor(new RegExp(`^route join ${escape(id)} 500 .*Error: boom`));
  });
});

describe("$connect and $disconnect", () => {
  test("$connect runs before the upgrade completes, with the handshake's headers and query string", async () => {
    const client = await connect("?room=lobby&tag=a&tag=b", { headers: { "X-Test-Header": "yes" } });
    // Logged by the probe during $connect, so already there when the socket opens.
    const connectEvents = events("CONNECT").filter((e) => e.queryStringParameters?.room === "lobby");
    expect(connectEvents).toHaveLength(1);
    const event = connectEvents[0];
    expect(event.queryStringParameters).toEqual({ room: "lobby", tag: "b" });
    expect(event.multiValueQueryStringParameters).toEqual({ room: ["lobby"], tag: ["a", "b"] });
    expect(event.headers["X-Test-Header"]).toBe("yes");
    expect(event.headers["Sec-WebSocket-Version"]).toBe("13");
    expect(event.multiValueHeaders["X-Test-Header"]).toEqual(["yes"]);
    expect(event.requestContext).toMatchObject({ routeKey: "$connect", eventType: "CONNECT", stage: "prod" });
    expect(event.body).toBeUndefined();

    const echo = await client.exchange<Echo>({ action: "join" });
    expect(echo.event.requestContext.connectionId).toBe(event.requestContext.connectionId);
    expect(echo.event.requestContext.connectedAt).toBe(event.requestContext.connectedAt);
  });

  test.each([401, 403, 429])("$connect answering %i rejects the handshake with that status", async (status) => {
    await expect(connect(`?status=${status}`)).rejects.toEqual(new HandshakeRefused(status));
  });

  test("$connect failing rejects the handshake with 500", async () => {
    await expect(connect("?throw=no")).rejects.toEqual(new HandshakeRefused(500));
  });

  test("a subprotocol is agreed only when $connect returns it in Sec-WebSocket-Protocol", async () => {
    const agreed = await TestClient.connect(`${runtime.wsUrl}?protocol=chat.v1`, {}, ["chat.v1", "chat.v0"]);
    clients.push(agreed);
    expect(agreed.socket.protocol).toBe("chat.v1");
    // Otherwise API Gateway completes the handshake without the header, which clients refuse.
    await expect(TestClient.connect(runtime.wsUrl, {}, ["chat.v1"])).rejects.toThrow(/Server sent no subprotocol/);
  });

  test("a connection to another path than the stage is refused", async () => {
    await expect(TestClient.connect(runtime.wsUrl.replace(/\/prod$/, "/staging"))).rejects.toEqual(new HandshakeRefused(403));
  });

  test("$disconnect runs when the client closes, with its close code and reason", async () => {
    const { client, id } = await connectWithId();
    await client.close(4000, "bye");
    const [event] = await waitFor(() => events("DISCONNECT", id).length > 0 && events("DISCONNECT", id));
    expect(event.requestContext).toMatchObject({ routeKey: "$disconnect", eventType: "DISCONNECT", disconnectStatusCode: 4000, disconnectReason: "bye" });
  });

  test("$disconnect runs when the client vanishes without a close frame", async () => {
    const { client, id } = await connectWithId();
    client.socket.terminate();
    const [event] = await waitFor(() => events("DISCONNECT", id).length > 0 && events("DISCONNECT", id));
    expect(event.requestContext.disconnectStatusCode).toBe(1006);
  });

  test("DELETE @connections closes the socket from the server side and runs $disconnect", async () => {
    const { client, id } = await connectWithId();
    const api = new ApiGatewayManagementApiClient({ endpoint: runtime.managementUrl, region: runtime.region, credentials: runtime.adminCredentials });
    await api.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await client.closed).code).toBe(1000);
    await waitFor(() => events("DISCONNECT", id).length === 1, 5000, "$disconnect");
    api.destroy();
  });
});

describe("size limits", () => {
  test("a frame over 32 KB closes the connection with 1009", async () => {
    const { client, id } = await connectWithId();
    client.send(JSON.stringify({ action: "join", pad: "x".repeat(33 * 1024) }));
    expect((await client.closed).code).toBe(1009);
    const [event] = await waitFor(() => events("DISCONNECT", id).length > 0 && events("DISCONNECT", id));
    expect(event.requestContext.disconnectStatusCode).toBe(1009);
    expect(events("MESSAGE", id).filter((e) => e.body.length > 32 * 1024)).toEqual([]);
  });

  test("a message of several frames within 32 KB each is delivered whole up to 128 KB", async () => {
    const client = await connect();
    const text = JSON.stringify({ action: "silent", pad: "y".repeat(100 * 1024) });
    sendFragmented(client, text, 30 * 1024);
    await waitFor(() => events("MESSAGE").some((e) => e.body === text), 5000, "the whole message");
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  test("a message over 128 KB closes the connection with 1009, even in small frames", async () => {
    const client = await connect();
    sendFragmented(client, JSON.stringify({ action: "join", pad: "z".repeat(130 * 1024) }), 30 * 1024);
    expect((await client.closed).code).toBe(1009);
  });
});

describe("integration timeouts", () => {
  test("an integration that outlives its timeout answers Endpoint request timed out", async () => {
    const { client, id } = await connectWithId();
    const reply = await client.exchange({ action: "impatient", sleep: 1500 });
    expect(reply).toEqual({ message: "Endpoint request timed out", connectionId: id, requestId: expect.any(String) });
  });

  test("frames waiting for a busy function's environment are answered late, not timed out: the clock starts with the function", async () => {
    // One environment running one invocation at a time: the frames run one after another, as on AWS they
    // would each run at once in an environment of their own, and each takes 100 ms of its 300 ms: the last
    // starts some 700 ms after it was sent.
    const busy = await startLocalRuntime({ stackDir: probeStack, host: "127.0.0.1", port: 0, log: logs.log, environmentsPerFunction: 1, invocationsPerEnvironment: 1 });
    try {
      const client = await TestClient.connect(busy.wsUrl);
      clients.push(client);
      // Warm the one environment first: API Gateway's 300 ms would rightly count a cold start, which a
      // loaded machine can stretch past it; what is tested is the wait for a busy one.
      await client.exchange({ action: "impatient", sleep: 0 });
      for (let i = 0; i < 8; i += 1) client.send({ action: "impatient", sleep: 100 });
      const replies = await Promise.all(Array.from({ length: 8 }, () => client.nextJson<Echo>(5000)));
      expect(replies.map((reply) => reply.routeKey)).toEqual(Array(8).fill("impatient"));
    } finally {
      await busy.stop();
    }
  });

  test("a function running past its own timeout fails, and the next invocation gets a fresh environment", async () => {
    const { client, id } = await connectWithId();
    const started = Date.now();
    const reply = await client.exchange({ action: "leave", sleep: 5000 }, 8000);
    expect(reply).toEqual({ message: "Internal server error", connectionId: id, requestId: expect.any(String) });
    expect(Date.now() - started).toBeLessThan(3000);
    await logs.waitFor(/\[chat-leave\] .* Task timed out after 1\.00 seconds/);
    expect((await client.exchange<Echo>({ action: "leave" })).routeKey).toBe("leave");
  });
});

describe("function isolation", () => {
  test("a function sees exactly its synthesized environment plus what Lambda sets, nothing of the parent's", async () => {
    const client = await connect();
    const { env } = await client.exchange<{ env: Record<string, string> }>({ action: "send-message", env: true });

    expect(env).toEqual(runtime.environmentOf("chat-send-message"));
    expect(env.LOCAL_RUNTIME_TEST_PARENT_ONLY).toBeUndefined();
    expect(env.PATH).toBeUndefined();
    expect(env).toMatchObject({
      TABLE_NAME: "chat-connections",
      FANOUT_CONCURRENCY: "25",
      AWS_REGION: "us-east-1",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_LAMBDA_FUNCTION_NAME: "chat-send-message",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
      AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
      AWS_LAMBDA_LOG_GROUP_NAME: "/aws/lambda/chat-send-message",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: runtime.managementUrl,
      AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamodbEndpoint,
    });
    expect(env.AWS_ACCESS_KEY_ID).toMatch(/^LOCAL[A-Z2-7]{15}$/);
  });

  test("each function has its own environment and credentials", async () => {
    const client = await connect();
    const mine = (await client.exchange<{ env: Record<string, string> }>({ action: "send-message", env: true })).env;
    const other = (await client.exchange<{ env: Record<string, string> }>({ action: "nothing", env: true })).env;
    expect(other.AWS_LAMBDA_FUNCTION_NAME).toBe("chat-default");
    // The $default function never posts, so the stack gives it no fan-out setting.
    expect(mine.FANOUT_CONCURRENCY).toBe("25");
    expect(other.FANOUT_CONCURRENCY).toBeUndefined();
    expect(other.AWS_ACCESS_KEY_ID).not.toBe(mine.AWS_ACCESS_KEY_ID);
  });

  test("the handler's context describes the function", async () => {
    const client = await connect();
    const { context } = await client.exchange<Echo>({ action: "join" });
    expect(context).toMatchObject({
      functionName: "chat-join",
      memoryLimitInMB: "256",
      invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:chat-join",
    });
    expect(context.remainingTimeInMillis).toBeGreaterThan(8000);
    expect(context.remainingTimeInMillis).toBeLessThanOrEqual(10000);
  });
});

describe("web client", () => {
  test("GET / redirects to the page for this stage, which serves web/index.html", async () => {
    const redirect = await fetch(runtime.httpUrl, { redirect: "manual" });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toBe(`/?stage=${runtime.stage}`);
    const response = await fetch(runtime.httpUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await response.text()).toContain('name="chat-stage"');
  });

  test("scripts get a JavaScript content type and unknown paths 404", async () => {
    const script = await fetch(new URL("app.js", runtime.httpUrl));
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await fetch(new URL("no-such-file.js", runtime.httpUrl))).status).toBe(404);
  });

  // fetch() and URL normalise "/../" and "%2e%2e/" away before a request leaves the client, so these go
  // out byte for byte, the way a hostile client would send them.
  test.each(["/%2e%2e%2fpackage.json", "/..%2Fpackage.json", "/x%2f..%2f..%2fpackage.json"])(
    "a path that climbs out of web/ behind encoded slashes (%s) is 404: the static-files guard stops it",
    async (path) => {
      const { status, body } = await rawGet(runtime.httpUrl, path);
      expect(status).toBe(404);
      expect(body).not.toContain('"name": "cdktf-websocket-chat"');
    },
  );

  test.each(["/../package.json", "/%2e%2e/package.json", "/web/../../package.json"])(
    "a path that climbs out of web/ with dot segments (%s) is 404: they are resolved before any file is looked up",
    async (path) => {
      expect((await rawGet(runtime.httpUrl, path)).status).toBe(404);
    },
  );
});

/** A GET whose path is sent byte for byte as given. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method: "GET", path }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("with short idle and maximum connection times", () => {
  let shortLived: LocalRuntime;

  beforeAll(async () => {
    shortLived = await startLocalRuntime({ stackDir: probeStack, port: 0, idleTimeoutMs: 500, maxConnectionMs: 1500, log: logs.log });
  });

  afterAll(async () => {
    await shortLived?.stop();
  });

  test("an idle connection is closed with 1001 Going away, and $disconnect runs", async () => {
    const known = new Set(events("CONNECT").map((e) => e.requestContext.connectionId));
    const client = await TestClient.connect(shortLived.wsUrl);
    clients.push(client);
    // Its id from its $connect rather than from a reply: a cold start on a loaded machine may outlast 500 ms.
    const id = events("CONNECT").map((e) => e.requestContext.connectionId).find((c) => !known.has(c));
    expect(id).toBeDefined();
    client.send({ action: "join" });
    const closed = await client.closed;
    expect(closed).toEqual({ code: 1001, reason: "Going away" });
    await waitFor(() => events("DISCONNECT", id).some((e) => e.requestContext.disconnectStatusCode === 1001), 5000, "$disconnect 1001");
  });

  test("a busy connection is still closed with 1001 at the maximum duration", async () => {
    const client = await TestClient.connect(shortLived.wsUrl);
    clients.push(client);
    const opened = Date.now();
    const keepBusy = setInterval(() => client.send({ action: "silent" }), 100);
    const closed = await client.closed;
    clearInterval(keepBusy);
    expect(closed.code).toBe(1001);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1400);
  });
});

describe("what resets the idle timeout", () => {
  // Timeouts roomy enough that a loaded machine's pauses (hundreds of milliseconds) cannot decide a test.
  const IDLE_MS = 1_500;
  let idleRuntime: LocalRuntime;

  beforeAll(async () => {
    idleRuntime = await startLocalRuntime({ stackDir: probeStack, port: 0, idleTimeoutMs: IDLE_MS, maxConnectionMs: 60_000, log: logs.log });
  });

  afterAll(async () => {
    await idleRuntime?.stop();
  });

  test("posts through @connections keep a silent client connected past the idle timeout, as on AWS", async () => {
    const client = await TestClient.connect(idleRuntime.wsUrl);
    clients.push(client);
    const id = (await client.exchange<Echo>({ action: "join" })).event.requestContext.connectionId;
    const api = new ApiGatewayManagementApiClient({ endpoint: idleRuntime.managementUrl, region: idleRuntime.region, credentials: idleRuntime.adminCredentials });
    try {
      const started = Date.now();
      for (let i = 0; Date.now() - started < 2.5 * IDLE_MS; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 5));
        await api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from(`keep-alive ${i}`) }));
      }
      // Two and a half idle timeouts after its last own frame, and still open.
      expect(client.socket.readyState).toBe(client.socket.OPEN);
    } finally {
      api.destroy();
    }
  }, 20_000);

  test("pings alone do not keep a connection open: it is closed at the idle timeout, long before the maximum duration", async () => {
    const client = await TestClient.connect(idleRuntime.wsUrl);
    clients.push(client);
    const opened = Date.now();
    const pinging = setInterval(() => client.socket.ping(), IDLE_MS / 10);
    const closed = await client.closed;
    clearInterval(pinging);
    expect(closed).toEqual({ code: 1001, reason: "Going away" });
    expect(Date.now() - opened).toBeLessThan(4 * IDLE_MS);
  }, 20_000);
});

describe("a variant with no $default route, and join's invoke permission scoped to another route", () => {
  let noDefault: LocalRuntime;

  beforeAll(async () => {
    const stackDir = writeVariant(workspace, "no-default-stack", (tf, dir) => {
      const probe = writeBundle(dir, "probe", PROBE_HANDLER);
      for (const fn of Object.values(tf.resource.aws_lambda_function)) useBundle(tf, fn.function_name, probe);
      removeRoute(tf, "$default");
      const [, permission] = Object.entries(tf.resource.aws_lambda_permission).find(([, p]) => String(p.source_arn).endsWith("/prod/join"))!;
      permission.source_arn = permission.source_arn.replace(/\/join$/, "/leave");
    });
    noDefault = await startLocalRuntime({ stackDir, port: 0, log: logs.log });
  });

  afterAll(async () => {
    await noDefault?.stop();
  });

  test("a frame no route matches gets API Gateway's Forbidden message", async () => {
    const client = await TestClient.connect(noDefault.wsUrl);
    clients.push(client);
    const id = (await client.exchange<Echo>({ action: "leave" })).event.requestContext.connectionId;
    expect(await client.exchange({ action: "dance" })).toEqual({ message: "Forbidden", connectionId: id, requestId: expect.stringMatching(/=$/) });
  });

  test("a route whose function API Gateway may not invoke fails every time, as on AWS", async () => {
    const client = await TestClient.connect(noDefault.wsUrl);
    clients.push(client);
    expect(await client.exchange({ action: "join" })).toMatchObject({ message: "Internal server error" });
    expect(logs.matching(/^note: route join: no aws_lambda_permission lets apigateway\.amazonaws\.com invoke chat-join from arn:aws:execute-api:us-east-1:000000000000:\w+\/prod\/join/)).toHaveLength(1);
    await logs.waitFor(/^route join \S+ 500 .*Invalid permissions on Lambda function/);
  });
});

/** Sends `text` as one message split into continuation frames of at most `frameSize` bytes. */
function sendFragmented(client: TestClient, text: string, frameSize: number): void {
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < bytes.length; offset += frameSize) {
    const fin = offset + frameSize >= bytes.length;
    client.socket.send(bytes.subarray(offset, offset + frameSize), { binary: false, fin });
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
