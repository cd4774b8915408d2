import { handler } from "../handlers/send-message";
import { POST_TIMEOUT_MS } from "../handlers/lib/aws/clients";
import { DEFAULT_POST_RETRY } from "../handlers/lib/fan-out/fan-out";
import { keys, TTL_ATTRIBUTE } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame, websocketEvent } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

beforeEach(async () => {
  delete process.env.DYNAMODB_PAGE_SIZE;
  delete process.env.FANOUT_CONCURRENCY;
});

afterEach(() => {
  jest.restoreAllMocks();
});

function send(from: string, frame: Record<string, unknown>, remainingMs?: number) {
  const context = remainingMs === undefined ? undefined : deadlineIn(remainingMs);
  return handler(frameEvent(from, { action: "send-message", ...frame }), context);
}

/** A Lambda context whose deadline is `ms` from now. */
function deadlineIn(ms: number) {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
}

/** Ids of every connection a post was attempted to, successful or not. */
function postedTo(): string[] {
  return api.requests.map((request) => decodeURIComponent(request.split("/@connections/")[1]));
}

function silenceErrorLog() {
  return jest.spyOn(console, "error").mockImplementation(() => undefined);
}

const user = (id: string) => ({ id, name: id, verified: false });
const sent = (counts: Record<string, unknown>) => ({ type: "sent", id: expect.any(String), sentAt: expect.any(String), stale: 0, failed: 0, incomplete: false, ...counts });

describe("the broadcast policy (BROADCAST, from CHAT_BROADCAST)", () => {
  afterEach(() => {
    process.env.BROADCAST = "everyone";
  });

  /** A frame from a connection the authorizer let in, as API Gateway passes its context to every route. */
  function sendAs(from: string, authorizer: Record<string, unknown>, frame: Record<string, unknown>) {
    const event = websocketEvent({ routeKey: "send-message", connectionId: from, body: { action: "send-message", ...frame }, authorizer });
    return handler(event);
  }
  const admin = { userId: "user-admin", userName: "Ada", admin: true, principalId: "user-admin" };
  const member = { userId: "user-bob", userName: "Bob", admin: false, principalId: "user-bob" };

  test.each([
    ["admins", member, "only admins may send to everyone"],
    ["off", admin, "nobody may send to everyone"],
    ["off", member, "nobody may send to everyone"],
  ])("BROADCAST=%s: a message to everyone from a sender it does not allow is FORBIDDEN, and nothing is sent", async (policy, sender, why) => {
    process.env.BROADCAST = policy;
    await dynamo.connectAs("alice", { id: sender.userId, name: sender.userName, verified: true });
    await dynamo.connect("bob", "carol");

    const result = await sendAs("alice", sender, { message: "everyone, look!", requestId: "b-1" });

    expect(replyFrame(result)).toEqual({ type: "error", code: "FORBIDDEN", action: "send-message", requestId: "b-1", message: expect.stringContaining(why) });
    expect(api.requests).toEqual([]);
  });

  test("BROADCAST=admins: an admin's message to everyone is sent", async () => {
    process.env.BROADCAST = "admins";
    await dynamo.connectAs("alice", { id: "user-admin", name: "Ada", verified: true, admin: true });
    await dynamo.connect("bob", "carol");

    expect(replyFrame(await sendAs("alice", admin, { message: "announcement" }))).toMatchObject({ type: "sent", delivered: 2 });
    expect(postedTo().sort()).toEqual(["bob", "carol"]);
    expect(api.received("bob")[0]).toMatchObject({ sender: { id: "user-admin", name: "Ada", verified: true, admin: true } });
  });

  test("BROADCAST=off still lets anyone send to a room, a connection or a user", async () => {
    process.env.BROADCAST = "off";
    await dynamo.connect("alice", "bob");

    expect(replyFrame(await send("alice", { message: "just you", to: "bob" }))).toMatchObject({ type: "sent", delivered: 1 });
  });
});

describe("broadcast", () => {
  test("the tutorial's frame reaches every other open connection as a message frame with its sender", async () => {
    await dynamo.connect("alice", "bob", "carol");

    const result = await send("alice", { message: "hello!" });

    expect(result.statusCode).toBe(200);
    const { id } = replyFrame(result);
    for (const recipient of ["bob", "carol"]) {
      expect(api.received(recipient)).toEqual([
        { type: "message", id, message: "hello!", from: "alice", sender: user("alice"), sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) },
      ]);
    }
  });

  test("the sender never receives its own message", async () => {
    await dynamo.connect("alice", "bob");

    await send("alice", { message: "hello!" });

    expect(postedTo()).toEqual(["bob"]);
  });

  test("the sent frame counts the recipients reached", async () => {
    await dynamo.connect("alice", "bob", "carol");

    expect(replyFrame(await send("alice", { message: "hello!" }))).toEqual(sent({ delivered: 2 }));
  });

  test("a broadcast reaches every connection when the lists span many pages", async () => {
    process.env.DYNAMODB_PAGE_SIZE = "2";
    const others = Array.from({ length: 40 }, (_, index) => `conn-${String(index).padStart(2, "0")}`);
    await dynamo.connect("alice", ...others);

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 40 }));
    expect(postedTo().sort()).toEqual(others);
  });

  test("a broadcast with one post in flight at a time still reaches everyone", async () => {
    process.env.FANOUT_CONCURRENCY = "1";
    await dynamo.connect("alice", "bob", "carol", "dave");

    expect(replyFrame(await send("alice", { message: "hello!" }))).toMatchObject({ delivered: 3 });
  });
});

describe("request and message ids", () => {
  test("every reply echoes the frame's requestId", async () => {
    await dynamo.connect("alice", "bob");

    expect(replyFrame(await send("alice", { message: "hi", requestId: "req-1" }))).toMatchObject({ type: "sent", requestId: "req-1" });
    expect(replyFrame(await send("alice", { message: "", requestId: "req-2" }))).toMatchObject({ type: "error", requestId: "req-2" });
  });

  test("the sent frame carries the sentAt its recipients see, so sender and recipients show one time", async () => {
    await dynamo.connect("alice", "bob");

    const { sentAt } = replyFrame(await send("alice", { message: "hi" }));

    expect(sentAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(api.received("bob")[0].sentAt).toBe(sentAt);
  });

  test("every recipient gets the same message id, which the sent frame names", async () => {
    await dynamo.connect("alice", "bob", "carol");

    const { id } = replyFrame(await send("alice", { message: "hi" }));

    expect(api.received("bob")[0].id).toBe(id);
    expect(api.received("carol")[0].id).toBe(id);
  });

  test("a retry with the same requestId carries the same message id, so recipients can drop the duplicate", async () => {
    await dynamo.connect("alice", "bob");

    const first = replyFrame(await send("alice", { message: "hi", requestId: "r1" }));
    const retry = replyFrame(await send("alice", { message: "hi", requestId: "r1" }));

    expect(retry.id).toBe(first.id);
    expect(api.received("bob").map((frame) => frame.id)).toEqual([first.id, first.id]);
  });

  test("different requestIds, or none, give different message ids", async () => {
    await dynamo.connect("alice", "bob");

    const ids = [
      replyFrame(await send("alice", { message: "hi", requestId: "r1" })).id,
      replyFrame(await send("alice", { message: "hi", requestId: "r2" })).id,
      replyFrame(await send("alice", { message: "hi" })).id,
      replyFrame(await send("alice", { message: "hi" })).id,
    ];

    expect(new Set(ids).size).toBe(4);
  });

  test.each([
    ["an empty requestId", ""],
    ["a requestId of 65 characters", "r".repeat(65)],
    ["a requestId with a space", "a b"],
    ["a requestId that is a number", 7],
  ])("%s is rejected with INVALID_REQUEST_ID and nothing is sent", async (_, requestId) => {
    await dynamo.connect("alice", "bob");

    const result = await send("alice", { message: "hi", requestId });

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INVALID_REQUEST_ID", message: expect.any(String), action: "send-message" });
    expect(api.requests).toEqual([]);
  });
});

describe("rooms", () => {
  test("a room message reaches only the room's other members and names the room", async () => {
    await dynamo.connect("alice", "bob", "carol", "dave");
    await dynamo.join("lobby", "alice", "bob");
    await dynamo.join("games", "dave");

    const result = await send("alice", { room: "lobby", message: "hi" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 1, seq: 1 }));
    expect(postedTo()).toEqual(["bob"]);
    expect(api.received("bob")).toEqual([
      { type: "message", id: expect.any(String), message: "hi", from: "alice", sender: user("alice"), room: "lobby", seq: 1, sentAt: expect.any(String) },
    ]);
  });

  test("a member that just joined receives the very next room message", async () => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "alice");

    await dynamo.join("lobby", "bob");
    await send("alice", { room: "lobby", message: "welcome" });

    expect(api.received("bob")).toHaveLength(1);
  });

  test("a room message reaches every member when they span many pages", async () => {
    process.env.DYNAMODB_PAGE_SIZE = "2";
    const members = Array.from({ length: 9 }, (_, index) => `member-${index}`);
    await dynamo.connect("alice", ...members);
    await dynamo.join("lobby", "alice", ...members);

    expect(replyFrame(await send("alice", { room: "lobby", message: "hi" }))).toMatchObject({ delivered: 9 });
    expect(postedTo().sort()).toEqual(members);
  });

  test("sending to a room the sender has not joined is rejected with NOT_A_MEMBER and sends nothing", async () => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "bob");

    const result = await send("alice", { room: "lobby", message: "hi" });

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "NOT_A_MEMBER", message: expect.stringContaining("lobby"), action: "send-message" });
    expect(api.requests).toEqual([]);
  });

  test("a member alone in its room gets a sent frame with nobody delivered", async () => {
    await dynamo.connect("alice");
    await dynamo.join("lobby", "alice");

    expect(replyFrame(await send("alice", { room: "lobby", message: "hi" }))).toMatchObject({ delivered: 0 });
  });
});

describe("direct messages", () => {
  test("a direct message reaches only its recipient and names it", async () => {
    await dynamo.connect("alice", "bob", "carol");

    const result = await send("alice", { to: "bob", message: "psst" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 1 }));
    expect(postedTo()).toEqual(["bob"]);
    expect(api.received("bob")).toEqual([
      { type: "message", id: expect.any(String), message: "psst", from: "alice", sender: user("alice"), to: "bob", sentAt: expect.any(String) },
    ]);
  });

  test("a direct message to a connection that is not connected is rejected with UNKNOWN_RECIPIENT", async () => {
    await dynamo.connect("alice");

    const result = await send("alice", { to: "ghost", message: "psst" });

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "UNKNOWN_RECIPIENT", message: expect.any(String), action: "send-message" });
    expect(api.requests).toEqual([]);
  });

  test("a direct message to the sender itself is delivered to nobody", async () => {
    await dynamo.connect("alice");

    expect(replyFrame(await send("alice", { to: "alice", message: "me" }))).toMatchObject({ delivered: 0 });
    expect(api.requests).toEqual([]);
  });

  test("a message to a user reaches every connection of that user but the sender's own", async () => {
    const carol = { id: "user-carol", name: "Carol", verified: true };
    await dynamo.connectAs("alice", { id: "user-alice", name: "Alice", verified: true });
    await dynamo.connectAs("alice-phone", { id: "user-alice", name: "Alice", verified: true });
    await dynamo.connectAs("carol-laptop", carol);
    await dynamo.connectAs("carol-phone", carol);

    const toCarol = await send("alice", { toUser: "user-carol", message: "hi Carol" });
    const toMyself = await send("alice", { toUser: "user-alice", message: "note to self" });

    expect(replyFrame(toCarol)).toEqual(sent({ delivered: 2 }));
    expect(api.received("carol-laptop")).toEqual([expect.objectContaining({ message: "hi Carol", toUser: "user-carol", sender: expect.objectContaining({ id: "user-alice" }) })]);
    expect(api.received("carol-phone")).toHaveLength(1);
    expect(replyFrame(toMyself)).toEqual(sent({ delivered: 1 }));
    expect(api.received("alice-phone")).toHaveLength(1);
    expect(api.received("alice")).toEqual([]);
  });

  test("a message to a user with no connection is rejected with UNKNOWN_RECIPIENT", async () => {
    await dynamo.connect("alice");

    expect(replyFrame(await send("alice", { toUser: "nobody", message: "hi" }))).toMatchObject({ code: "UNKNOWN_RECIPIENT" });
    expect(api.requests).toEqual([]);
  });
});

describe("validation", () => {
  const rejections: { name: string; code: string; body: unknown }[] = [
    { name: "a body that is not JSON", code: "INVALID_JSON", body: "hello" },
    { name: "a body that is a JSON array", code: "INVALID_JSON", body: "[]" },
    { name: "a frame without a message", code: "INVALID_MESSAGE", body: {} },
    { name: "a message that is not a string", code: "INVALID_MESSAGE", body: { message: 42 } },
    { name: "an empty message", code: "INVALID_MESSAGE", body: { message: "" } },
    { name: "a message over 32 KiB of ASCII", code: "MESSAGE_TOO_LARGE", body: { message: "a".repeat(32 * 1024 + 1) } },
    { name: "a message over 32 KiB of UTF-8 but under 32 Ki characters", code: "MESSAGE_TOO_LARGE", body: { message: "é".repeat(16 * 1024 + 1) } },
    // 21,900 bytes of UTF-8, but JSON writes each control character as six bytes: a 131,400-byte message frame.
    { name: "a message within 32 KiB whose frame is over API Gateway's 128 KB", code: "MESSAGE_TOO_LARGE", body: { message: "\u0001".repeat(21_900) } },
    { name: "an invalid room name", code: "INVALID_ROOM", body: { room: "no spaces", message: "hi" } },
    { name: "a room that is null", code: "INVALID_ROOM", body: { room: null, message: "hi" } },
    { name: "both a room and a recipient", code: "INVALID_TARGET", body: { room: "lobby", to: "bob", message: "hi" } },
    { name: "both a recipient and a user", code: "INVALID_TARGET", body: { to: "bob", toUser: "bob", message: "hi" } },
    { name: "a recipient that is not a string", code: "UNKNOWN_RECIPIENT", body: { to: 7, message: "hi" } },
    { name: "an empty recipient", code: "UNKNOWN_RECIPIENT", body: { to: "", message: "hi" } },
    { name: "an empty user", code: "UNKNOWN_RECIPIENT", body: { toUser: "", message: "hi" } },
  ];

  test.each(rejections)("$name is rejected with $code and nothing is sent", async ({ code, body }) => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "alice", "bob");
    const frame = typeof body === "string" ? body : { action: "send-message", ...(body as object) };

    const result = await handler(websocketEvent({ routeKey: "send-message", connectionId: "alice", body: frame }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code, message: expect.any(String), action: "send-message" });
    expect(api.requests).toEqual([]);
  });

  test("a message of exactly 32 KiB of UTF-8 is accepted", async () => {
    await dynamo.connect("alice", "bob");

    expect(replyFrame(await send("alice", { message: "é".repeat(16 * 1024) }))).toMatchObject({ type: "sent", delivered: 1 });
  });

  test("a frame from a connection whose record is gone is rejected with NOT_CONNECTED and sends nothing", async () => {
    await dynamo.connect("bob");

    const result = await send("ghost", { message: "boo" });

    expect(replyFrame(result)).toEqual({ type: "error", code: "NOT_CONNECTED", message: expect.any(String), action: "send-message" });
    expect(api.requests).toEqual([]);
  });
});

describe("recipients that are gone", () => {
  test("a recipient answered 410 is removed with everything that lists it and counted stale", async () => {
    await dynamo.connect("alice", "bob", "carol");
    await dynamo.join("lobby", "alice", "bob");
    api.gone.add("bob");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 1, stale: 1 }));
    expect(await dynamo.keysMentioning("bob")).toEqual([]);
    expect(api.received("carol")).toHaveLength(1);
  });

  test("removing a gone recipient leaves the sender's connection and memberships in place", async () => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "alice", "bob");
    const before = await dynamo.keysMentioning("alice");
    api.gone.add("bob");

    await send("alice", { room: "lobby", message: "hi" });

    expect(await dynamo.keysMentioning("alice")).toEqual(before);
  });

  test("a removed recipient is not posted to again", async () => {
    await dynamo.connect("alice", "bob");
    api.gone.add("bob");
    await send("alice", { message: "first" });
    api.requests.length = 0;

    const result = await send("alice", { message: "second" });

    expect(replyFrame(result)).toMatchObject({ delivered: 0, stale: 0 });
    expect(api.requests).toEqual([]);
  });

  test("a connection whose handshake is still completing (410 on a brand-new record) is kept and gets the message once open", async () => {
    await dynamo.connect("alice");
    await dynamo.connectAs("newcomer", user("newcomer"), Date.now());
    api.opening.set("newcomer", 2);

    const result = await send("alice", { message: "welcome" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 1 }));
    expect(api.received("newcomer")).toHaveLength(1);
    expect(await dynamo.itemsOf("newcomer")).toHaveLength(1);
  });

  test("a brand-new record that keeps answering 410 is counted failed, never removed", async () => {
    silenceErrorLog();
    await dynamo.connect("alice");
    await dynamo.connectAs("newcomer", user("newcomer"), Date.now());
    api.opening.set("newcomer", 1000);

    const result = await send("alice", { message: "welcome" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 0, failed: 1 }));
    expect(await dynamo.keysMentioning("newcomer")).toHaveLength(3);
  });

  test("a direct recipient that turns out to be gone is removed and counted stale", async () => {
    await dynamo.connect("alice", "bob");
    api.gone.add("bob");

    expect(replyFrame(await send("alice", { to: "bob", message: "psst" }))).toMatchObject({ delivered: 0, stale: 1 });
    expect(await dynamo.keysMentioning("bob")).toEqual([]);
  });
});

describe("items past their TTL count as gone before DynamoDB deletes them", () => {
  const expire = async (pk: string, sk: string) => {
    const [item] = (await dynamo.partition(pk)).filter((i) => i.sk === sk);
    await dynamo.put({ ...item, [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) - 60 });
  };

  test("a broadcast skips a connection whose list entry has expired", async () => {
    await dynamo.connect("alice", "bob", "carol");
    const { pk, sk } = keys.broadcast("bob");
    await expire(pk, sk);

    expect(replyFrame(await send("alice", { message: "hi" }))).toEqual(sent({ delivered: 1 }));
    expect(postedTo()).toEqual(["carol"]);
  });

  test("a room message skips a member whose entry has expired", async () => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "alice", "bob");
    const { pk, sk } = keys.roomMember("lobby", "bob");
    await expire(pk, sk);

    expect(replyFrame(await send("alice", { room: "lobby", message: "hi" }))).toEqual(sent({ delivered: 0, seq: 1 }));
    expect(api.requests).toEqual([]);
  });

  test("a direct message to a connection whose record has expired is UNKNOWN_RECIPIENT", async () => {
    await dynamo.connect("alice", "bob");
    const { pk, sk } = keys.connection("bob");
    await expire(pk, sk);

    expect(replyFrame(await send("alice", { to: "bob", message: "hi" }))).toMatchObject({ code: "UNKNOWN_RECIPIENT" });
  });

  test("a sender whose own record has expired is NOT_CONNECTED", async () => {
    await dynamo.connect("alice", "bob");
    const { pk, sk } = keys.connection("alice");
    await expire(pk, sk);

    expect(replyFrame(await send("alice", { message: "hi" }))).toMatchObject({ code: "NOT_CONNECTED" });
  });
});

describe("failing posts", () => {
  test("a throttled post is retried and delivered", async () => {
    await dynamo.connect("alice", "bob");
    api.throttled.set("bob", 2);

    expect(replyFrame(await send("alice", { message: "hello!" }))).toEqual(sent({ delivered: 1 }));
    expect(postedTo()).toEqual(["bob", "bob", "bob"]);
    expect(api.received("bob")).toHaveLength(1);
  });

  test("a post answered 500 may have been delivered, so it is not retried: counted failed", async () => {
    silenceErrorLog();
    await dynamo.connect("alice", "bob");
    api.broken.set("bob", 1);

    expect(replyFrame(await send("alice", { message: "hello!" }))).toEqual(sent({ delivered: 0, failed: 1 }));
    expect(postedTo()).toEqual(["bob"]);
  });

  test("a post that is never answered times out, is not retried, and does not hold up the others", async () => {
    const logged = silenceErrorLog();
    await dynamo.connect("alice", "bob", "carol");
    api.hanging.add("bob");

    const started = Date.now();
    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 1, failed: 1 }));
    expect(Date.now() - started).toBeLessThan(POST_TIMEOUT_MS + 2000);
    expect(postedTo().filter((id) => id === "bob")).toHaveLength(1);
    // Aborted by the fan-out's own per-post deadline (the SDK's request timeout is the same length, as a backstop).
    expect(logged.mock.calls[0][0]).toMatchObject({ recipient: "bob", errorType: expect.stringMatching(/^(AbortError|TimeoutError)$/) });
  }, 15_000);

  test("a post throttled on every attempt is counted failed while the others are delivered", async () => {
    const logged = silenceErrorLog();
    await dynamo.connect("alice", "bob", "carol");
    api.throttled.set("bob", 1000);

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 1, failed: 1 }));
    expect(postedTo().filter((id) => id === "bob")).toHaveLength(DEFAULT_POST_RETRY.maxAttempts);
    expect(api.received("carol")).toHaveLength(1);
    expect(logged.mock.calls[0][0]).toMatchObject({ errorType: "LimitExceededException", recipient: "bob" });
  });

  test("a post that fails for another reason is not retried, is logged, and does not stop the others", async () => {
    const logged = silenceErrorLog();
    await dynamo.connect("alice", "bob", "carol", "dave");
    api.forbidden.add("bob");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual(sent({ delivered: 2, failed: 1 }));
    expect(postedTo().filter((id) => id === "bob")).toHaveLength(1);
    expect(logged).toHaveBeenCalledTimes(1);
    // One object per line: Lambda's JSON log format adds the timestamp, the level and its request id.
    expect(logged.mock.calls[0]).toEqual([
      {
        route: "send-message",
        connectionId: "alice",
        apiRequestId: expect.any(String),
        recipient: "bob",
        errorType: "ForbiddenException",
        errorMessage: "Forbidden",
      },
    ]);
  });
});

describe("the function's deadline", () => {
  test("a fan-out that cannot finish before the deadline stops in time and reports incomplete", async () => {
    process.env.FANOUT_CONCURRENCY = "2";
    // 60 posts, 2 at a time, 200 ms each: 6 s of work with 5 s left.
    const others = Array.from({ length: 60 }, (_, index) => `conn-${index}`);
    await dynamo.connect("alice", ...others);
    api.latencyMs = 200;

    const started = Date.now();
    const result = await send("alice", { message: "hello!" }, 5000);

    const frame = replyFrame(result);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(frame).toMatchObject({ type: "sent", incomplete: true, failed: 0 });
    expect(frame.delivered).toBeGreaterThan(0);
    expect(frame.delivered).toBeLessThan(60);
    expect(others.filter((id) => api.received(id).length === 1)).toHaveLength(frame.delivered as number);
  }, 15_000);

  test("a fan-out with time to spare reaches everyone and is not incomplete", async () => {
    await dynamo.connect("alice", "bob", "carol");

    expect(replyFrame(await send("alice", { message: "hello!" }, 20_000))).toEqual(sent({ delivered: 2 }));
  });
});

describe("server faults", () => {
  test("a database fault before anything was sent replies INTERNAL without internals and logs the cause", async () => {
    const logged = silenceErrorLog();
    process.env.TABLE_NAME = "no-such-table";

    const result = await send("alice", { room: "lobby", message: "hi", requestId: "r9" });

    expect(result.statusCode).toBe(500);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INTERNAL", message: "Internal error, please retry", action: "send-message", requestId: "r9" });
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0][0]).toMatchObject({ route: "send-message", connectionId: "alice", errorType: "ResourceNotFoundException" });
  });

  test("an invalid FANOUT_CONCURRENCY replies INTERNAL before anything is sent", async () => {
    const logged = silenceErrorLog();
    process.env.FANOUT_CONCURRENCY = "lots";
    await dynamo.connect("alice", "bob");

    expect(replyFrame(await send("alice", { message: "hello!" }))).toMatchObject({ code: "INTERNAL" });
    expect(api.requests).toEqual([]);
    expect(logged.mock.calls[0][0].errorMessage).toMatch(/FANOUT_CONCURRENCY/);
  });
});
