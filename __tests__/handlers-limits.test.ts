/**
 * The limits every client route enforces (docs/limits.md), on the local DynamoDB: the per-user frame
 * bucket, token expiry on frames, and rooms per connection.
 */
import { handler as connect } from "../handlers/connect";
import { handler as disconnect } from "../handlers/disconnect";
import { handler as defaultRoute } from "../handlers/default";
import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import { handler as members } from "../handlers/members";
import { ENV_AUTH_MODE, ENV_MAX_CONNECTIONS_PER_USER, ENV_MAX_ROOMS_PER_CONNECTION, ENV_USER_BURST, ENV_USER_RATE } from "../handlers/lib/env/contract";
import { SEAT_GRACE_MS } from "../handlers/lib/limits/connection-seats";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { connectEvent, disconnectEvent, frameEvent, replyFrame, websocketEvent } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

const verified = (id: string, extra: Record<string, unknown> = {}) => ({ principalId: id, userId: id, userName: id, ...extra });

function frameAs(connectionId: string, frame: Record<string, unknown>, authorizer?: Record<string, unknown>) {
  return websocketEvent({ routeKey: String(frame.action ?? "$default"), connectionId, body: frame, ...(authorizer && { authorizer }) });
}

describe("per-user frame rate", () => {
  // One frame a second: slow enough that no token comes back while a test sends its burst on a busy machine.
  beforeEach(() => {
    process.env[ENV_USER_RATE] = "1";
    process.env[ENV_USER_BURST] = "4";
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => {
    process.env[ENV_USER_RATE] = "0";
    delete process.env[ENV_USER_BURST];
  });

  test("a user's burst passes, the next frame gets RATE_LIMITED with retryAfterMs and changes nothing; another user is unaffected", async () => {
    await dynamo.connectAs("a1", { id: "ann", name: "ann", verified: true });
    await dynamo.connectAs("b1", { id: "bea", name: "bea", verified: true });
    for (let i = 0; i < 4; i += 1) {
      expect(replyFrame(await defaultRoute(frameAs("a1", { action: "hello", requestId: `r${i}` }, verified("ann"))))).toMatchObject({ type: "info" });
    }
    const limited = await join(frameAs("a1", { action: "join", room: "lobby", requestId: "r4" }, verified("ann")));
    expect(limited.statusCode).toBe(400);
    expect(replyFrame(limited)).toEqual({
      type: "error",
      code: "RATE_LIMITED",
      message: expect.any(String),
      action: "join",
      requestId: "r4",
      retryAfterMs: expect.any(Number),
    });
    const { retryAfterMs } = replyFrame(limited) as { retryAfterMs: number };
    // The next token comes within one interval.
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(1000);
    expect(await dynamo.partition(keys.roomPartition("lobby"))).toEqual([]);
    // Her bucket is hers: bea still has her whole burst.
    expect(replyFrame(await defaultRoute(frameAs("b1", { action: "hello" }, verified("bea"))))).toMatchObject({ type: "info" });
    // After retryAfterMs the frame passes.
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs + 5));
    expect(replyFrame(await join(frameAs("a1", { action: "join", room: "lobby" }, verified("ann"))))).toMatchObject({ type: "joined" });
  });

  test("a malformed frame counts too, and a limited one is answered RATE_LIMITED rather than INVALID_JSON", async () => {
    // The clock stands still, so no token comes back however slowly a loaded machine runs the burst.
    jest.spyOn(Date, "now").mockReturnValue(Date.now());
    await dynamo.connect("c1");
    for (let i = 0; i < 4; i += 1) expect(replyFrame(await defaultRoute(websocketEvent({ routeKey: "$default", connectionId: "c1", body: "not json" })))).toMatchObject({ code: "INVALID_JSON" });
    expect(replyFrame(await defaultRoute(websocketEvent({ routeKey: "$default", connectionId: "c1", body: "not json" })))).toMatchObject({ code: "RATE_LIMITED" });
  });

  test("in none mode each connection is its own user", async () => {
    // The clock stands still, so no token comes back however slowly a loaded machine runs the burst.
    jest.spyOn(Date, "now").mockReturnValue(Date.now());
    await dynamo.connect("n1", "n2");
    for (let i = 0; i < 4; i += 1) await members(frameEvent("n1", { action: "members", room: "lobby" }));
    expect(replyFrame(await members(frameEvent("n1", { action: "members", room: "lobby" })))).toMatchObject({ code: "RATE_LIMITED" });
    expect(replyFrame(await members(frameEvent("n2", { action: "members", room: "lobby" })))).toMatchObject({ code: "NOT_A_MEMBER" });
  });

  test("frames of one user in parallel over two connections: never more allowed than burst + rate × elapsed", async () => {
    process.env[ENV_USER_RATE] = "20";
    process.env[ENV_USER_BURST] = "5";
    await dynamo.connectAs("p1", { id: "pat", name: "pat", verified: true });
    await dynamo.connectAs("p2", { id: "pat", name: "pat", verified: true });
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => defaultRoute(frameAs(i % 2 ? "p1" : "p2", { action: "hello" }, verified("pat")))),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const allowed = answers.filter((answer) => replyFrame(answer).type === "info").length;
    const limited = answers.filter((answer) => replyFrame(answer).code === "RATE_LIMITED").length;
    expect(allowed + limited).toBe(60);
    expect(allowed).toBeGreaterThanOrEqual(5);
    expect(allowed).toBeLessThanOrEqual(5 + Math.ceil(20 * elapsedS));
  });

  test("USER_RATE=0 switches the limiter off: no bucket is written", async () => {
    process.env[ENV_USER_RATE] = "0";
    await dynamo.connect("o1");
    for (let i = 0; i < 10; i += 1) expect(replyFrame(await defaultRoute(frameEvent("o1", { action: "hello" })))).toMatchObject({ type: "info" });
    expect(await dynamo.partition(keys.userRate("o1").pk)).toEqual([]);
  });

  test("the bucket item expires: its TTL is a minute after the bucket is full again", async () => {
    await dynamo.connect("t1");
    await defaultRoute(frameEvent("t1", { action: "hello" }));
    const [bucket] = await dynamo.partition(keys.userRate("t1").pk);
    expect(bucket!.expiresAt).toBeGreaterThan(Date.now() / 1000 + 59);
    expect(bucket!.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 62);
  });
});

describe("token expiry on frames", () => {
  test("a frame after the token's exp is answered TOKEN_EXPIRED by a post, then the connection is closed with DELETE", async () => {
    await dynamo.connectAs("x1", { id: "xavier", name: "xavier", verified: true });
    const expired = verified("xavier", { tokenExpiresAt: Math.floor(Date.now() / 1000) - 1 });
    const result = await join(frameAs("x1", { action: "join", room: "lobby", requestId: "late" }, expired));

    // The route's own reply would follow the close on AWS: it answers nothing.
    expect(result.body).toBeUndefined();
    expect(api.received("x1")).toEqual([{ type: "error", code: "TOKEN_EXPIRED", message: expect.any(String), action: "join", requestId: "late" }]);
    expect(api.closed).toEqual(["x1"]);
    expect(api.requests).toEqual(["POST /prod/@connections/x1", "DELETE /prod/@connections/x1"]);
    expect(await dynamo.partition(keys.roomPartition("lobby"))).toEqual([]);
  });

  test("a frame before exp (as a string, as a context value may arrive) goes through", async () => {
    await dynamo.connectAs("y1", { id: "yara", name: "yara", verified: true });
    const live = verified("yara", { tokenExpiresAt: String(Math.floor(Date.now() / 1000) + 60) });
    expect(replyFrame(await join(frameAs("y1", { action: "join", room: "lobby" }, live)))).toMatchObject({ type: "joined" });
    expect(api.closed).toEqual([]);
  });
});

describe("rooms per connection", () => {
  beforeEach(() => {
    process.env[ENV_MAX_ROOMS_PER_CONNECTION] = "2";
  });
  afterAll(() => {
    delete process.env[ENV_MAX_ROOMS_PER_CONNECTION];
  });

  test("the join past the cap gets TOO_MANY_ROOMS and writes nothing; a repeated join does not count twice; leave frees a place", async () => {
    await dynamo.connect("r1");
    expect(replyFrame(await join(frameEvent("r1", { action: "join", room: "one" })))).toMatchObject({ type: "joined" });
    expect(replyFrame(await join(frameEvent("r1", { action: "join", room: "one" })))).toMatchObject({ type: "joined" });
    expect(replyFrame(await join(frameEvent("r1", { action: "join", room: "two" })))).toMatchObject({ type: "joined" });
    const refused = await join(frameEvent("r1", { action: "join", room: "three" }));
    expect(refused.statusCode).toBe(400);
    expect(replyFrame(refused)).toEqual({ type: "error", code: "TOO_MANY_ROOMS", message: expect.any(String), action: "join" });
    expect(await dynamo.partition(keys.roomPartition("three"))).toEqual([]);

    expect(replyFrame(await leave(frameEvent("r1", { action: "leave", room: "one" })))).toMatchObject({ type: "left" });
    // Leaving twice frees one place only.
    await leave(frameEvent("r1", { action: "leave", room: "one" }));
    expect(replyFrame(await join(frameEvent("r1", { action: "join", room: "three" })))).toMatchObject({ type: "joined" });
    expect(replyFrame(await join(frameEvent("r1", { action: "join", room: "four" })))).toMatchObject({ code: "TOO_MANY_ROOMS" });
  });

  test("joins racing for the last place: exactly one gets it", async () => {
    await dynamo.connect("r2");
    await join(frameEvent("r2", { action: "join", room: "base" }));
    const answers = await Promise.all(["a", "b", "c", "d"].map((room) => join(frameEvent("r2", { action: "join", room }))));
    const codes = answers.map((answer) => replyFrame(answer).type === "joined" ? "joined" : replyFrame(answer).code).sort();
    expect(codes).toEqual(["TOO_MANY_ROOMS", "TOO_MANY_ROOMS", "TOO_MANY_ROOMS", "joined"]);
    const memberships = (await dynamo.partition(keys.connectionPartition("r2"))).filter((item) => String(item.sk).startsWith("room#"));
    expect(memberships).toHaveLength(2);
  });
});

describe("connections per user (jwt mode)", () => {
  beforeEach(() => {
    process.env[ENV_AUTH_MODE] = "jwt";
    process.env[ENV_MAX_CONNECTIONS_PER_USER] = "2";
  });
  afterAll(() => {
    delete process.env[ENV_AUTH_MODE];
    delete process.env[ENV_MAX_CONNECTIONS_PER_USER];
  });
  const handshake = (connectionId: string, user = "uma", connectedAt = Date.now()) => connect(connectEvent(connectionId, { authorizer: verified(user), connectedAt }));

  test("the handshake past the cap gets 429 and records nothing; another user is unaffected; $disconnect gives the seat back", async () => {
    expect((await handshake("u1")).statusCode).toBe(200);
    expect((await handshake("u2")).statusCode).toBe(200);
    const refused = await handshake("u3");
    expect(refused.statusCode).toBe(429);
    expect(await dynamo.keysMentioning("u3")).toEqual([]);
    expect((await handshake("v1", "vic")).statusCode).toBe(200);

    await disconnect(disconnectEvent("u1"));
    expect((await handshake("u3")).statusCode).toBe(200);
  });

  test("handshakes racing for the last seat: exactly one gets it", async () => {
    expect((await handshake("w0", "wes")).statusCode).toBe(200);
    const statuses = (await Promise.all(["w1", "w2", "w3", "w4"].map((id) => handshake(id, "wes")))).map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 429, 429, 429]);
  });

  test("seats of connections gone without a $disconnect are probed and given back; one younger than the grace period is not", async () => {
    const old = Date.now() - SEAT_GRACE_MS - 5_000;
    expect((await handshake("z1", "zed", old)).statusCode).toBe(200);
    expect((await handshake("z2", "zed", Date.now() - 1_000)).statusCode).toBe(200);
    // Neither said goodbye; z2 may only be opening still (its $connect not yet finished), which also answers 410.
    api.gone.add("z1");
    api.gone.add("z2");
    expect((await handshake("z3", "zed")).statusCode).toBe(200);
    expect(api.requests).toEqual(["GET /prod/@connections/z1"]);
    // z2 keeps its seat: the next one is refused, after probing nobody (z3 and z2 are too young).
    expect((await handshake("z4", "zed")).statusCode).toBe(429);
  });

  test("the token's expiry is stored with the connection", async () => {
    const exp = Math.floor(Date.now() / 1000) + 900;
    expect((await connect(connectEvent("k1", { authorizer: verified("kim", { tokenExpiresAt: exp }) }))).statusCode).toBe(200);
    expect(await dynamo.itemsOf("k1")).toEqual([expect.objectContaining({ tokenExpiresAt: exp })]);
  });

  test("in none mode no seat is kept: every connection is its own user", async () => {
    delete process.env[ENV_AUTH_MODE];
    for (const id of ["n1", "n2", "n3"]) expect((await connect(connectEvent(id))).statusCode).toBe(200);
    expect((await dynamo.allKeys()).filter((key) => key.startsWith("limits#"))).toEqual([]);
  });
});
