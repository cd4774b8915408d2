/**
 * Account bans on the local DynamoDB with a real @connections server: the ban route (who may, what it
 * writes, which connections it closes), $connect's check in its transaction, and the race of a ban with a
 * handshake whose authorizer has already let it in (docs/moderation.md, "Account bans").
 */
import { createServer, type Server } from "node:http";
import { handler as authorizer } from "../handlers/authorizer";
import { handler as ban } from "../handlers/ban";
import { handler as connect } from "../handlers/connect";
import {
  ENV_ADMIN_GROUP,
  ENV_AUTH_MODE,
  ENV_HANDSHAKE_TIMEOUT_SECONDS,
  ENV_JWT_AUDIENCE,
  ENV_JWT_GROUPS_CLAIM,
  ENV_JWT_ISSUER,
  ENV_JWT_JWKS_URL,
  ENV_JWT_NAME_CLAIM,
} from "../handlers/lib/env/contract";
import { MAX_BAN_SECONDS } from "../handlers/lib/frames/room-frames";
import { keys } from "../handlers/lib/store/table-schema";
import type { User } from "../handlers/lib/auth/user";
import { closeServer, listen } from "../local/http/servers";
import { LocalIssuer } from "../local/identity-provider/local-issuer";
import type { LocalDynamo } from "./support/dynalite";
import { connectEvent, replyFrame, websocketEvent } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

// The handlers' DynamoDB calls go through a proxy that can answer chosen calls with a fault.
const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
let faulty: FaultyDynamoDb;
beforeAll(() => ({ dynamo, api, faulty } = world));

const ROOT: User = { id: "root", name: "root", verified: true, admin: true };
const nowSeconds = () => Math.floor(Date.now() / 1000);
/** What API Gateway hands a route of a connection its authorizer let in. */
const authorizerOf = (user: User) => ({ principalId: user.id, userId: user.id, userName: user.name, admin: user.admin === true });
const banFrame = (connectionId: string, frame: Record<string, unknown>, as: User = ROOT) =>
  ban(websocketEvent({ routeKey: "ban", connectionId, body: { action: "ban", ...frame }, authorizer: authorizerOf(as) }));
const banItem = async (userId: string) => (await dynamo.partition(keys.accountBan(userId).pk))[0];

let logged: Array<Record<string, unknown>> = [];
beforeEach(() => {
  faulty.reset();
  process.env[ENV_HANDSHAKE_TIMEOUT_SECONDS] = "20";
  logged = [];
  jest.spyOn(console, "info").mockImplementation((line: unknown) => void logged.push(line as Record<string, unknown>));
});
afterEach(() => {
  jest.restoreAllMocks();
  delete process.env[ENV_AUTH_MODE];
});

describe("the ban route", () => {
  test.each([
    ["no user", { seconds: 60 }, "user"],
    ["an empty user", { user: "", seconds: 60 }, "user"],
    ["a user id of 257 characters", { user: "u".repeat(257), seconds: 60 }, "user"],
    ["a user that is no string", { user: 42, seconds: 60 }, "user"],
    ["no seconds", { user: "bob" }, "seconds"],
    ["negative seconds", { user: "bob", seconds: -1 }, "seconds"],
    ["fractional seconds", { user: "bob", seconds: 1.5 }, "seconds"],
    ["seconds as a string", { user: "bob", seconds: "60" }, "seconds"],
    ["more than a year", { user: "bob", seconds: MAX_BAN_SECONDS + 1 }, "seconds"],
  ])("%s: INVALID_REQUEST naming the field, and nothing written", async (_what, frame, field) => {
    await dynamo.connectAs("adm", ROOT);
    const answer = await banFrame("adm", { ...frame, requestId: "b-1" });
    expect(answer.statusCode).toBe(400);
    expect(replyFrame(answer)).toEqual({ type: "error", code: "INVALID_REQUEST", field, message: expect.any(String), action: "ban", requestId: "b-1" });
    expect((await dynamo.allKeys()).filter((key) => key.startsWith("ban#"))).toEqual([]);
  });

  test("a user who is not an admin gets FORBIDDEN: no ban, no connection closed", async () => {
    const mallory: User = { id: "mallory", name: "mallory", verified: true };
    await dynamo.connectAs("mal", mallory);
    await dynamo.connectAs("bob-1", { id: "bob", name: "bob", verified: true });
    expect(replyFrame(await banFrame("mal", { user: "bob", seconds: 60 }, mallory))).toMatchObject({ type: "error", code: "FORBIDDEN", action: "ban" });
    expect(await banItem("bob")).toBeUndefined();
    expect(api.requests).toEqual([]);
  });

  test("in none mode nobody is an admin: an anonymous connection gets FORBIDDEN", async () => {
    await dynamo.connect("anon", "victim");
    const answer = await ban(websocketEvent({ routeKey: "ban", connectionId: "anon", body: { action: "ban", user: "victim", seconds: 60 } }));
    expect(replyFrame(answer)).toMatchObject({ code: "FORBIDDEN" });
    expect(await banItem("victim")).toBeUndefined();
  });

  test("a connection that is gone gets NOT_CONNECTED", async () => {
    expect(replyFrame(await banFrame("ghost", { user: "bob", seconds: 60 }))).toMatchObject({ type: "error", code: "NOT_CONNECTED" });
  });

  test("an admin's ban is written with its end, by whom, a TTL at its end; every connection of the user is closed; the action is logged by id", async () => {
    await dynamo.connectAs("adm", ROOT);
    const bob: User = { id: "bob", name: "Bob", verified: true };
    await dynamo.connectAs("bob-1", bob);
    await dynamo.connectAs("bob-2", bob);
    await dynamo.connectAs("carl-1", { id: "carl", name: "carl", verified: true });
    const before = nowSeconds();
    const answer = replyFrame(await banFrame("adm", { user: "bob", seconds: 3600, requestId: "b-2" }));
    const item = await banItem("bob");
    expect(item).toEqual({ ...keys.accountBan("bob"), until: expect.any(Number), by: ROOT, expiresAt: item?.until });
    expect(item!.until).toBeGreaterThanOrEqual(before + 3600);
    expect(item!.until).toBeLessThanOrEqual(nowSeconds() + 3600);
    expect(answer).toEqual({ type: "banned", user: "bob", until: new Date((item!.until as number) * 1000).toISOString(), requestId: "b-2" });
    expect([...api.closed].sort()).toEqual(["bob-1", "bob-2"]);
    expect(logged).toContainEqual(expect.objectContaining({ route: "ban", connectionId: "adm", moderation: "ban", by: "root", user: "bob", seconds: 3600 }));
    expect(logged).toContainEqual(expect.objectContaining({ moderation: "ban-closed", user: "bob", closed: 2, gone: 0, unclosed: 0 }));
  });

  test("seconds 0 lifts the ban: the item is deleted, `until` is left out, and nothing is closed", async () => {
    await dynamo.connectAs("adm", ROOT);
    await dynamo.connectAs("bob-1", { id: "bob", name: "bob", verified: true });
    await dynamo.put({ ...keys.accountBan("bob"), until: nowSeconds() + 600, by: ROOT, expiresAt: nowSeconds() + 600 });
    expect(replyFrame(await banFrame("adm", { user: "bob", seconds: 0 }))).toEqual({ type: "banned", user: "bob" });
    expect(await banItem("bob")).toBeUndefined();
    expect(api.closed).toEqual([]);
    expect(logged).toContainEqual(expect.objectContaining({ moderation: "ban", by: "root", user: "bob", seconds: 0 }));
  });

  test("a ban written while a handshake's transaction checks its item (TransactionConflictException) is written again", async () => {
    await dynamo.connectAs("adm", ROOT);
    faulty.answer("PutItem", { status: 400, error: "TransactionConflictException", fields: { message: "Transaction is ongoing for the item" } }, { times: 2 });
    expect(replyFrame(await banFrame("adm", { user: "bob", seconds: 60 }))).toMatchObject({ type: "banned", user: "bob" });
    expect(await banItem("bob")).toMatchObject({ by: ROOT });
  });

  test("a 410 for a connection whose handshake may still be completing is retried until it closes; one for a connection older than any handshake is final", async () => {
    await dynamo.connectAs("adm", ROOT);
    const bob: User = { id: "bob", name: "bob", verified: true };
    // Listed a moment ago: its $connect has committed, API Gateway has not completed the handshake yet.
    await dynamo.connectAs("bob-new", bob, Date.now());
    api.opening.set("bob-new", 3);
    // Listed long ago and closed without its $disconnect having run yet.
    await dynamo.connectAs("bob-old", bob, Date.now() - 60_000);
    api.gone.add("bob-old");
    expect(replyFrame(await banFrame("adm", { user: "bob", seconds: 60 }))).toMatchObject({ type: "banned" });
    expect(api.closed).toEqual(["bob-new"]);
    expect(api.requests.filter((request) => request === "DELETE /prod/@connections/bob-new")).toHaveLength(4);
    expect(api.requests.filter((request) => request === "DELETE /prod/@connections/bob-old")).toHaveLength(1);
    expect(logged).toContainEqual(expect.objectContaining({ moderation: "ban-closed", closed: 1, gone: 1, unclosed: 0 }));
  });
});

test("a 410 for a young connection whose record is gone (its $disconnect ran after the list was read) is final at once", async () => {
  await dynamo.connectAs("adm", ROOT);
  const connectedAt = Date.now();
  await dynamo.put({ ...keys.userConnection("bob", "bob-left"), connectionId: "bob-left", connectedAt, userId: "bob", expiresAt: Math.floor(connectedAt / 1000) + 3600 });
  api.gone.add("bob-left");
  const started = Date.now();
  expect(replyFrame(await banFrame("adm", { user: "bob", seconds: 60 }))).toMatchObject({ type: "banned" });
  expect(api.requests).toEqual(["DELETE /prod/@connections/bob-left"]);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(logged).toContainEqual(expect.objectContaining({ moderation: "ban-closed", closed: 0, gone: 1, unclosed: 0 }));
});

describe("$connect in jwt mode", () => {
  beforeEach(() => (process.env[ENV_AUTH_MODE] = "jwt"));
  const bob: User = { id: "bob", name: "bob", verified: true };

  test("a banned user is refused with 403 naming the ban's end, and nothing is stored", async () => {
    const until = nowSeconds() + 600;
    await dynamo.put({ ...keys.accountBan("bob"), until, by: ROOT, expiresAt: until });
    const answer = await connect(connectEvent("bob-1", { authorizer: authorizerOf(bob) }));
    expect(answer).toEqual({ statusCode: 403, body: JSON.stringify({ message: `Banned until ${new Date(until * 1000).toISOString()}` }) });
    expect(await dynamo.allKeys()).toEqual([`ban#bob account`]);
  });

  test("a ban past its end (its item not yet deleted by TTL) refuses nothing", async () => {
    await dynamo.put({ ...keys.accountBan("bob"), until: nowSeconds() - 1, by: ROOT, expiresAt: nowSeconds() - 1 });
    expect((await connect(connectEvent("bob-1", { authorizer: authorizerOf(bob) }))).statusCode).toBe(200);
    expect(await dynamo.store().connection("bob-1")).toBeDefined();
  });

  test("a banned user whose seats are all taken still hears 403 (the ban, not the cap)", async () => {
    process.env.MAX_CONNECTIONS_PER_USER = "1";
    try {
      expect((await connect(connectEvent("bob-1", { authorizer: authorizerOf(bob) }))).statusCode).toBe(200);
      await dynamo.put({ ...keys.accountBan("bob"), until: nowSeconds() + 600, by: ROOT, expiresAt: nowSeconds() + 600 });
      expect((await connect(connectEvent("bob-2", { authorizer: authorizerOf(bob) }))).statusCode).toBe(403);
    } finally {
      delete process.env.MAX_CONNECTIONS_PER_USER;
    }
  });
});

describe("a ban racing a handshake in flight", () => {
  let server: Server;
  let issuer: LocalIssuer;
  const saved = { ...process.env };
  beforeAll(async () => {
    server = createServer((req, res) => void (issuer.handle(req, res) || res.writeHead(404).end()));
    issuer = await LocalIssuer.create(`http://127.0.0.1:${await listen(server, "127.0.0.1", 0)}`);
    Object.assign(process.env, {
      [ENV_JWT_ISSUER]: issuer.issuer,
      [ENV_JWT_AUDIENCE]: issuer.audience,
      [ENV_JWT_JWKS_URL]: issuer.jwksUrl,
      [ENV_JWT_NAME_CLAIM]: "name",
      [ENV_JWT_GROUPS_CLAIM]: "groups",
      [ENV_ADMIN_GROUP]: "chat-admins",
    });
  });
  afterAll(async () => {
    await closeServer(server);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  });
  beforeEach(() => (process.env[ENV_AUTH_MODE] = "jwt"));

  /** The authorizer's answer for a fresh token of `name`, as API Gateway hands it to $connect. */
  async function authorized(name: string) {
    const { token, userId } = await issuer.mint(name);
    const decision = await authorizer({ methodArn: "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/$connect", queryStringParameters: { token } });
    expect(decision.policyDocument.Statement[0]!.Effect).toBe("Allow");
    return { userId, context: { principalId: decision.principalId, ...decision.context } };
  }

  test("authorizer, then the ban, then $connect: the handshake is refused with 403 and the user has no connection", async () => {
    const { userId, context } = await authorized("vic");
    await dynamo.connectAs("adm", ROOT);
    // The sweep finds nothing: vic's $connect has not written anything yet.
    expect(replyFrame(await banFrame("adm", { user: userId, seconds: 600 }))).toMatchObject({ type: "banned", user: userId });
    expect(api.closed).toEqual([]);

    expect((await connect(connectEvent("vic-1", { authorizer: context }))).statusCode).toBe(403);
    expect(await dynamo.partition(keys.userPartition(userId))).toEqual([]);
    expect(await dynamo.store().connection("vic-1")).toBeUndefined();
  });

  test("authorizer, then $connect's write, then the ban before the handshake completes: the ban's DELETE waits for it and closes it", async () => {
    const { userId, context } = await authorized("val");
    await dynamo.connectAs("adm", ROOT);
    expect((await connect(connectEvent("val-1", { authorizer: context, connectedAt: Date.now() }))).statusCode).toBe(200);
    // API Gateway completes the handshake only after $connect returns: until then @connections answers 410.
    api.opening.set("val-1", 2);
    expect(replyFrame(await banFrame("adm", { user: userId, seconds: 600 }))).toMatchObject({ type: "banned" });
    expect(api.closed).toEqual(["val-1"]);
  });

  test("once banned, the authorizer itself refuses the next handshake; lifted, it lets it in", async () => {
    const { userId } = await authorized("wes");
    await dynamo.connectAs("adm", ROOT);
    await banFrame("adm", { user: userId, seconds: 600 });
    const { token } = await issuer.mint("wes");
    const methodArn = "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/$connect";
    expect((await authorizer({ methodArn, queryStringParameters: { token } })).policyDocument.Statement[0]!.Effect).toBe("Deny");
    await banFrame("adm", { user: userId, seconds: 0 });
    expect((await authorizer({ methodArn, queryStringParameters: { token } })).policyDocument.Statement[0]!.Effect).toBe("Allow");
  });
});
