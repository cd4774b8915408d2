/**
 * Auth mode jwt in the local runtime, end to end with real `ws` clients: the real synthesized stack and its
 * real authorizer function verifying tokens from the runtime's local issuer (its JWKS fetched over HTTP),
 * and API Gateway's authorizer semantics observed through probes.
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, SignJWT } from "jose";
import type WebSocket from "ws";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { loadStackModel } from "../local/terraform/stack-model";
import { localUserId } from "../local/identity-provider/local-issuer";
import {
  functionResource,
  PROBE_HANDLER,
  routeResource,
  readProbeLog,
  synthesizeJwtWorkspace,
  useBundle,
  writeBundle,
  writeVariant,
} from "./support/local-stacks";
import { HandshakeRefused, LogCollector, TestClient, waitFor } from "./support/ws-client";

let dir: string;
const clients: TestClient[] = [];
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function connect(runtime: LocalRuntime, query: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
  const client = await TestClient.connect(`${runtime.wsUrl}${query}`, options);
  clients.push(client);
  return client;
}

/** A token from the local issuer's token endpoint, as a user of `npm start` gets one. */
async function tokenFor(runtime: LocalRuntime, name: string, extra: { groups?: string[]; ttlSeconds?: number } = {}): Promise<{ token: string; userId: string; name: string; expiresAt: string }> {
  const response = await fetch(new URL("dev/token", runtime.httpUrl), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, ...extra }) });
  expect(response.status).toBe(200);
  return (await response.json()) as { token: string; userId: string; name: string; expiresAt: string };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "local-auth-"));
});

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the real stack: its authorizer, handlers and table", () => {
  let runtime: LocalRuntime;
  const logs = new LogCollector();

  beforeAll(async () => {
    runtime = await startLocalRuntime({ stackDir: ({ httpUrl }) => synthesizeJwtWorkspace(dir, "real", httpUrl).stackDir, localIssuer: true, port: 0, log: logs.log });
  }, 60_000);

  afterAll(() => runtime?.stop());

  /**
   * Every item but the users' limits (frame buckets, seats), which outlive a connection until their TTL, and
   * rooms' records, kept for ever: both by design.
   */
  async function tableItems(): Promise<unknown[]> {
    const db = new DynamoDBClient({ endpoint: runtime.dynamodbEndpoint, region: runtime.region, credentials: runtime.adminCredentials });
    try {
      const items = (await db.send(new ScanCommand({ TableName: runtime.model.tables[0]!.name, ConsistentRead: true }))).Items ?? [];
      return items.filter((item) => !item.pk?.S?.startsWith("limits#") && !(item.pk?.S?.startsWith("hist#") && item.sk?.S === "room"));
    } finally {
      db.destroy();
    }
  }

  const connectRuns = () => logs.matching(/^route \$connect /).length;

  /** Connects with `query`, expects the refusal `status`, and checks nothing ran or was stored past the authorizer. */
  async function expectRefused(query: string, status: number, options: WebSocket.ClientOptions = {}): Promise<void> {
    await waitFor(async () => runtime.openConnections().length === 0 && (await tableItems()).length === 0, 10_000, "a clean table");
    const before = connectRuns();
    await expect(connect(runtime, query, options)).rejects.toEqual(new HandshakeRefused(status));
    expect(connectRuns()).toBe(before);
    expect(await tableItems()).toEqual([]);
    expect(runtime.openConnections()).toEqual([]);
  }

  test("a token from POST /dev/token connects, and two users chat", async () => {
    const alice = await connect(runtime, `?token=${(await tokenFor(runtime, "alice")).token}`);
    const bob = await connect(runtime, `?token=${(await tokenFor(runtime, "bob")).token}`);
    const { userId } = await tokenFor(runtime, "bob");
    expect(await alice.request({ action: "send-message", message: "hello bob", toUser: userId })).toMatchObject({ type: "sent", delivered: 1 });
    expect(await bob.nextJson()).toMatchObject({ type: "message", message: "hello bob" });
  });

  test("jwt mode's default broadcast policy (admins): an admin's token (groups: chat-admins) sends to everyone, anyone else's gets FORBIDDEN", async () => {
    const admin = await connect(runtime, `?token=${(await tokenFor(runtime, "ada", { groups: ["chat-admins"] })).token}`);
    const bob = await connect(runtime, `?token=${(await tokenFor(runtime, "bob")).token}`);
    const carol = await connect(runtime, `?token=${(await tokenFor(runtime, "carol", { groups: ["staff"] })).token}`);

    expect(await admin.request({ action: "whoami" })).toMatchObject({ type: "info", broadcast: "admins", user: { name: "ada", verified: true, admin: true } });
    expect(await bob.request({ action: "whoami" })).toMatchObject({ type: "info", broadcast: "admins", user: { name: "bob", verified: true } });
    expect(await carol.request({ action: "send-message", message: "everyone!" })).toMatchObject({ type: "error", code: "FORBIDDEN" });
    expect(await admin.request({ action: "send-message", message: "announcement" })).toMatchObject({ type: "sent", delivered: 2 });
    for (const client of [bob, carol]) expect(await client.nextJson()).toMatchObject({ type: "message", message: "announcement", sender: { name: "ada", admin: true } });
    expect(await admin.request({ action: "join", room: "ops" })).toMatchObject({ type: "joined" });
    expect(await bob.request({ action: "join", room: "ops" })).toMatchObject({ type: "joined" });
    const { members } = await bob.request<{ members: Array<{ user: Record<string, unknown> }> }>({ action: "members", room: "ops" });
    expect(members.map((member) => member.user).sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { id: localUserId("ada"), name: "ada", verified: true, admin: true },
      { id: localUserId("bob"), name: "bob", verified: true },
    ]);
  });

  const badTokens: Array<[string, () => Promise<string>]> = [
    ["an expired token", () => runtime.issuer!.sign({ sub: "user-1", iat: nowSeconds() - 3600, exp: nowSeconds() - 60 })],
    [
      "a wrongly signed token",
      async () => {
        const { privateKey } = await generateKeyPair("RS256");
        const { token } = await runtime.issuer!.mint("mallory");
        const { kid } = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid: string };
        return new SignJWT({ sub: localUserId("alice"), iss: runtime.issuer!.issuer, aud: runtime.issuer!.audience, exp: nowSeconds() + 600 })
          .setProtectedHeader({ alg: "RS256", kid })
          .sign(privateKey);
      },
    ],
    ["a token for another audience", () => runtime.issuer!.sign({ sub: "user-1", aud: "another-app", exp: nowSeconds() + 600 })],
    ["a token from another issuer", () => runtime.issuer!.sign({ sub: "user-1", iss: "https://idp.example.com", exp: nowSeconds() + 600 })],
    ["a malformed token", async () => "eyJhbGciOiJSUzI1NiJ9.not-json.c2lnbmF0dXJl"],
    ["a token without an exp", () => runtime.issuer!.sign({ sub: "user-1", name: "forever" })],
  ];

  test.each(badTokens)("%s is refused with 403 by the authorizer function, and nothing is stored", async (_what, make) => {
    const token = await make();
    const denials = () => logs.matching(/^authorizer chat-authorizer \S+ 403 \(the authorizer's policy denies it explicitly\)/).length;
    const before = denials();
    await expectRefused(`?token=${encodeURIComponent(token)}`, 403);
    expect(denials()).toBe(before + 1);
    for (const part of token.split(".").filter((p) => p.length >= 8)) expect(logs.lines.join("\n")).not.toContain(part);
  });

  test("a good token in the Authorization header instead of ?token= gets 401, without running the authorizer", async () => {
    const { token } = await tokenFor(runtime, "alice");
    const invocations = logs.matching(/^\[chat-authorizer\]/).length;
    await expectRefused("", 401, { headers: { Authorization: `Bearer ${token}` } });
    expect(logs.matching(/^authorizer chat-authorizer \S+ 401 \(identity source route\.request\.querystring\.token is missing or empty/).length).toBeGreaterThan(0);
    expect(logs.matching(/^\[chat-authorizer\]/).length).toBe(invocations);
    expect(logs.lines.join("\n")).not.toContain(token.split(".")[2]!);
  });

  test.each([
    ["no token", ""],
    ["an empty token", "?token="],
  ])("%s gets 401", async (_what, query) => {
    await expectRefused(query, 401);
  });
});

describe("the local issuer", () => {
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ stackDir: ({ httpUrl }) => synthesizeJwtWorkspace(dir, "issuer", httpUrl).stackDir, localIssuer: true, port: 0, log: () => undefined });
  }, 60_000);

  afterAll(() => runtime?.stop());

  test("publishes its discovery document and JWKS on the runtime's port, as the stack's authorizer expects", async () => {
    const discovery = (await (await fetch(new URL(".well-known/openid-configuration", runtime.httpUrl))).json()) as Record<string, unknown>;
    const environment = runtime.environmentOf("chat-authorizer");
    expect(discovery).toMatchObject({ issuer: environment.JWT_ISSUER, jwks_uri: environment.JWT_JWKS_URL });
    expect(environment.JWT_AUDIENCE).toBe("chat-local");
    const jwks = (await (await fetch(environment.JWT_JWKS_URL!)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.any(String) })]);
    expect(jwks.keys[0]).not.toHaveProperty("d");
  });

  test("the same name is the same user, with a short-lived token", async () => {
    const first = await tokenFor(runtime, "Zoë O.");
    const second = await tokenFor(runtime, "Zoë O.");
    expect(second.userId).toBe(first.userId);
    expect((await tokenFor(runtime, "zoë o.")).userId).not.toBe(first.userId);
    const claims = JSON.parse(Buffer.from(first.token.split(".")[1]!, "base64url").toString()) as { exp: number; iat: number; sub: string; name: string };
    expect(claims).toMatchObject({ sub: first.userId, name: "Zoë O." });
    expect(claims.exp - claims.iat).toBe(15 * 60);
  });

  test.each([
    ["a name with characters outside the protocol's", JSON.stringify({ name: "<script>" }), /"name" is refused: a name is letters, marks, digits/],
    ["a name of 65 characters", JSON.stringify({ name: "a".repeat(65) }), /"name" is refused: a name is 1 to 64 characters/],
    ["a name of spaces only", JSON.stringify({ name: "   " }), /"name" is refused: a name is 1 to 64 characters after trimming/],
    ["a name with a Cyrillic look-alike", JSON.stringify({ name: "p\u0430ypal" }), /"name" is refused: a name may not mix letters of different scripts/],
    ["no name", JSON.stringify({}), /"name" must be/],
    ["a body that is not JSON", "name=alice", /must be JSON such as \{"name": "alice"\}/],
    ["groups that are not a list of names", JSON.stringify({ name: "alice", groups: "chat-admins" }), /"groups" must be an array/],
    ["a lifetime under 5 s", JSON.stringify({ name: "alice", ttlSeconds: 4 }), /"ttlSeconds" must be a whole number of seconds from 5 to 3600/],
    ["a lifetime over an hour", JSON.stringify({ name: "alice", ttlSeconds: 3601 }), /"ttlSeconds" must be/],
  ])("POST /dev/token with %s is refused with 400 and a clear message", async (_what, body, message) => {
    const response = await fetch(new URL("dev/token", runtime.httpUrl), { method: "POST", body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(message);
  });

  test("groups and ttlSeconds reach the token's claims", async () => {
    const minted = await tokenFor(runtime, "ada", { groups: ["chat-admins", "staff"], ttlSeconds: 60 });
    const claims = JSON.parse(Buffer.from(minted.token.split(".")[1]!, "base64url").toString()) as { exp: number; iat: number; groups: string[] };
    expect(claims.groups).toEqual(["chat-admins", "staff"]);
    expect(claims.exp - claims.iat).toBe(60);
    expect(Date.parse(minted.expiresAt) / 1000).toBe(claims.exp);
  });

  test("GET /dev/token is refused with 405", async () => {
    const response = await fetch(new URL("dev/token", runtime.httpUrl));
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});

describe("/dev/token on a runtime listening beyond loopback (HOST=0.0.0.0)", () => {
  let runtime: LocalRuntime;
  const outside = Object.values(networkInterfaces()).flat().find((nic) => nic && nic.family === "IPv4" && !nic.internal)?.address;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ stackDir: ({ httpUrl }) => synthesizeJwtWorkspace(dir, "exposed", httpUrl).stackDir, localIssuer: true, host: "0.0.0.0", port: 0, log: () => undefined });
  }, 60_000);

  afterAll(() => runtime?.stop());

  /** POST /dev/token from `source` to the runtime's port at `address`. */
  function post(address: string, source: string): Promise<number> {
    const port = Number(new URL(runtime.httpUrl).port);
    return new Promise((resolve, reject) => {
      const req = request({ host: address, port, localAddress: source, method: "POST", path: "/dev/token", headers: { "Content-Type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end(JSON.stringify({ name: "mallory" }));
    });
  }

  test("answers a client on this machine", async () => {
    expect(await post("127.0.0.1", "127.0.0.1")).toBe(200);
  });

  (outside ? test : test.skip)("refuses a client from another address with 403 (this machine's non-loopback address as the source)", async () => {
    expect(await post(outside!, outside!)).toBe(403);
  });
});

describe("the authorizer's context reaches every route of the connection", () => {
  let runtime: LocalRuntime;
  let probeLog: string;

  beforeAll(async () => {
    probeLog = join(dir, "context-probe.jsonl");
    runtime = await startLocalRuntime({
      stackDir: ({ httpUrl }) =>
        writeVariant(synthesizeJwtWorkspace(dir, "context", httpUrl), "context-probe", (tf, variantDir) => {
          const probe = writeBundle(variantDir, "probe", PROBE_HANDLER);
          for (const fn of Object.values(tf.resource.aws_lambda_function)) {
            if (fn.function_name === "chat-authorizer") continue;
            useBundle(tf, fn.function_name, probe);
            fn.environment.variables.PROBE_LOG = probeLog;
          }
        }),
      localIssuer: true,
      port: 0,
      log: () => undefined,
    });
  }, 60_000);

  afterAll(() => runtime?.stop());

  test("$connect, every frame's route and $disconnect get the user in requestContext.authorizer", async () => {
    const { token, userId } = await tokenFor(runtime, "alice");
    const client = await connect(runtime, `?token=${token}`);
    const echo = await client.exchange<{ event: { requestContext: Record<string, any> } }>({ action: "join", room: "lobby" });
    const connectionId = echo.event.requestContext.connectionId;
    const tokenExpiresAt = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp;
    const user = { principalId: userId, userId, userName: "alice", admin: false, tokenExpiresAt };
    expect(echo.event.requestContext.authorizer).toEqual(user);
    expect((await client.exchange<{ event: { requestContext: Record<string, any> } }>("not json")).event.requestContext.authorizer).toEqual(user);
    await client.close();
    const events = await waitFor(() => {
      const mine = readProbeLog(probeLog).filter((e) => e.requestContext.connectionId === connectionId);
      return mine.some((e) => e.requestContext.eventType === "DISCONNECT") && mine;
    });
    expect(events.map((e) => e.requestContext.routeKey)).toEqual(["$connect", "join", "$default", "$disconnect"]);
    for (const event of events) expect(event.requestContext.authorizer).toEqual(user);
  });

  test("two users' connections each carry their own user", async () => {
    const alice = await tokenFor(runtime, "alice");
    const bob = await tokenFor(runtime, "bob");
    const [a, b] = [await connect(runtime, `?token=${alice.token}`), await connect(runtime, `?token=${bob.token}`)];
    const who = async (client: TestClient) => (await client.exchange<{ event: { requestContext: Record<string, any> } }>({ action: "join" })).event.requestContext.authorizer;
    expect(await who(a)).toMatchObject({ userId: alice.userId, userName: "alice" });
    expect(await who(b)).toMatchObject({ userId: bob.userId, userName: "bob" });
  });
});

/**
 * An authorizer whose answer the client picks with `?token=`, to observe how API Gateway treats each kind
 * of answer. It appends every event it gets to AUTHORIZER_LOG.
 */
const SCRIPTED_AUTHORIZER = `
"use strict";
const fs = require("node:fs");
const policy = (effect, resource) => ({ Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: resource }] });
exports.handler = async (event) => {
  fs.appendFileSync(process.env.AUTHORIZER_LOG, JSON.stringify(event) + "\\n");
  const allow = policy("Allow", event.methodArn);
  switch (event.queryStringParameters.token) {
    case "allow": return { principalId: "user-7", policyDocument: allow, context: { userId: "user-7", admin: true, level: 3 } };
    case "allow-stage": return { principalId: "user-8", policyDocument: policy("Allow", event.methodArn.replace(/\\/\\$connect$/, "/*")) };
    case "deny": return { principalId: "user-7", policyDocument: policy("Deny", event.methodArn) };
    case "elsewhere": return { principalId: "user-7", policyDocument: policy("Allow", event.methodArn.replace(/\\/[^/]+\\/\\$connect$/, "/staging/$connect")) };
    case "unauthorized": throw new Error("Unauthorized");
    case "crash": throw new Error("database on fire");
    case "nested": return { principalId: "user-7", policyDocument: allow, context: { user: { id: "user-7" } } };
    case "anonymous": return { policyDocument: allow };
    default: return null;
  }
};
`;

describe("API Gateway's treatment of an authorizer's answers", () => {
  let runtime: LocalRuntime;
  let probeLog: string;
  let authorizerLog: string;
  const logs = new LogCollector();

  beforeAll(async () => {
    probeLog = join(dir, "scripted-probe.jsonl");
    authorizerLog = join(dir, "scripted-authorizer.jsonl");
    runtime = await startLocalRuntime({
      stackDir: ({ httpUrl }) =>
        writeVariant(synthesizeJwtWorkspace(dir, "scripted", httpUrl), "scripted-authorizer", (tf, variantDir) => {
          const probe = writeBundle(variantDir, "probe", PROBE_HANDLER);
          for (const fn of Object.values(tf.resource.aws_lambda_function)) {
            if (fn.function_name === "chat-authorizer") continue;
            useBundle(tf, fn.function_name, probe);
            fn.environment.variables.PROBE_LOG = probeLog;
          }
          useBundle(tf, "chat-authorizer", writeBundle(variantDir, "scripted", SCRIPTED_AUTHORIZER));
          functionResource(tf, "chat-authorizer")[1].environment.variables.AUTHORIZER_LOG = authorizerLog;
          Object.values(tf.resource.aws_apigatewayv2_stage)[0].stage_variables = { flavour: "local" };
        }),
      localIssuer: true,
      port: 0,
      log: logs.log,
    });
  }, 60_000);

  afterAll(() => runtime?.stop());

  const connectEvents = () => readProbeLog(probeLog).filter((e) => e.requestContext.eventType === "CONNECT");

  test("the authorizer gets API Gateway's WebSocket REQUEST event for the handshake", async () => {
    const client = await connect(runtime, "?token=allow&room=lobby", { headers: { "X-Client": "test" } });
    const echo = await client.exchange<{ event: { requestContext: Record<string, any> } }>({ action: "join" });
    const event = readProbeLog(authorizerLog).find((e) => e.requestContext.connectionId === echo.event.requestContext.connectionId);
    expect(event).toMatchObject({
      type: "REQUEST",
      methodArn: `arn:aws:execute-api:us-east-1:000000000000:${runtime.model.api.id}/prod/$connect`,
      headers: expect.objectContaining({ "X-Client": "test", "Sec-WebSocket-Version": "13" }),
      multiValueHeaders: expect.objectContaining({ "X-Client": ["test"] }),
      queryStringParameters: { token: "allow", room: "lobby" },
      multiValueQueryStringParameters: { token: ["allow"], room: ["lobby"] },
      stageVariables: { flavour: "local" },
      requestContext: expect.objectContaining({ routeKey: "$connect", eventType: "CONNECT", stage: "prod", apiId: runtime.model.api.id }),
    });
    expect(event.requestContext.authorizer).toBeUndefined();
    expect(event).not.toHaveProperty("isBase64Encoded");
  });

  test("an Allow passes principalId and the context's strings, numbers and booleans to the routes", async () => {
    const client = await connect(runtime, "?token=allow");
    const echo = await client.exchange<{ event: { requestContext: Record<string, any> } }>({ action: "join" });
    expect(echo.event.requestContext.authorizer).toEqual({ principalId: "user-7", userId: "user-7", admin: true, level: 3 });
  });

  test("an Allow on a wildcard covering $connect lets the connection in", async () => {
    const client = await connect(runtime, "?token=allow-stage");
    expect((await client.exchange<{ event: { requestContext: Record<string, any> } }>({ action: "join" })).event.requestContext.authorizer).toEqual({ principalId: "user-8" });
  });

  test.each([
    ["an explicit Deny", 403, "deny"],
    ["an Allow for another stage only (an implicit deny)", 403, "elsewhere"],
    ['an error "Unauthorized"', 401, "unauthorized"],
    ["any other error", 500, "crash"],
    ["a context with a nested value", 500, "nested"],
    ["no principalId", 500, "anonymous"],
    ["no answer at all", 500, "nothing"],
  ])("%s refuses the handshake with %i, and $connect never runs", async (_what, status, token) => {
    const before = connectEvents().length;
    await expect(connect(runtime, `?token=${token}`)).rejects.toEqual(new HandshakeRefused(status));
    expect(connectEvents().length).toBe(before);
    expect(readProbeLog(authorizerLog).some((e) => e.queryStringParameters.token === token)).toBe(true);
  });
});

describe("reading the authorizer from cdk.tf.json", () => {
  const workspace = () => synthesizeJwtWorkspace(dir, "model", "http://127.0.0.1:9/");
  let stack: ReturnType<typeof synthesizeJwtWorkspace>;

  beforeAll(() => {
    stack = workspace();
  }, 60_000);

  test("the $connect route has the authorizer, and its function is one the runtime runs", () => {
    const model = loadStackModel({ stackDir: stack.stackDir });
    const connectRoute = model.routes.find((r) => r.routeKey === "$connect")!;
    expect(connectRoute.authorizer).toEqual({
      address: expect.stringMatching(/^aws_apigatewayv2_authorizer\./),
      id: expect.stringMatching(/^[a-z0-9]{6}$/),
      name: "chat-authorizer",
      identitySources: [{ expression: "route.request.querystring.token", from: "querystring", name: "token" }],
      functionName: "chat-authorizer",
      methodArn: `arn:aws:execute-api:us-east-1:000000000000:${model.api.id}/prod/$connect`,
    });
    expect(model.routes.filter((r) => r.authorizer).map((r) => r.routeKey)).toEqual(["$connect"]);
    expect(model.functions.map((f) => f.name)).toContain("chat-authorizer");
    expect(model.notes.join("\n")).not.toMatch(/chat-authorizer|aws_apigatewayv2_authorizer/);
  });

  test("without its aws_lambda_permission every $connect fails with 500, as on AWS, and startup says why", async () => {
    const stackDir = writeVariant(stack, "no-authorizer-permission", (tf) => {
      const [name] = Object.entries(tf.resource.aws_lambda_permission).find(([, p]) => String(p.source_arn).includes("/authorizers/"))!;
      delete tf.resource.aws_lambda_permission[name];
    });
    const logs = new LogCollector();
    const runtime = await startLocalRuntime({ stackDir, port: 0, log: logs.log });
    try {
      expect(logs.matching(/^note: authorizer chat-authorizer: no aws_lambda_permission lets apigateway\.amazonaws\.com invoke chat-authorizer from arn:aws:execute-api:us-east-1:000000000000:\w+\/authorizers\/\w+; every \$connect will fail with 500/)).toHaveLength(1);
      await expect(connect(runtime, "?token=anything")).rejects.toEqual(new HandshakeRefused(500));
    } finally {
      await runtime.stop();
    }
  });

  test.each([
    [
      "an authorizer on a route other than $connect",
      (tf: any) => Object.assign(routeResource(tf, "join")[1], { authorization_type: "CUSTOM", authorizer_id: routeResource(tf, "$connect")[1].authorizer_id }),
      /route "join"\): authorization_type CUSTOM: API Gateway runs WebSocket authorizers on the "\$connect" route only/,
    ],
    [
      "an identity source the runtime cannot read",
      (tf: any) => (Object.values(tf.resource.aws_apigatewayv2_authorizer)[0] as any).identity_sources.push("context.sourceIp"),
      /identity source "context\.sourceIp" is not supported locally/,
    ],
    [
      "IAM authorization",
      (tf: any) => Object.assign(routeResource(tf, "$connect")[1], { authorization_type: "AWS_IAM" }),
      /route "\$connect"\): authorization_type AWS_IAM is not supported locally/,
    ],
  ])("%s stops startup, naming the resource", (_what, edit, message) => {
    const stackDir = writeVariant(stack, `unsupported-${_what.replace(/\W+/g, "-")}`, edit);
    expect(() => loadStackModel({ stackDir })).toThrow(message);
  });
});
