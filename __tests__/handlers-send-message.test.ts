import { handler } from "../handlers/send-message";
import { DEFAULT_POST_RETRY } from "../handlers/lib/fan-out";
import { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame, websocketEvent } from "./support/events";
import { FakeManagementApi } from "./support/management-api";

let dynamo: LocalDynamo;
let api: FakeManagementApi;

beforeAll(async () => {
  [dynamo, api] = await Promise.all([LocalDynamo.start(), FakeManagementApi.start()]);
  process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = api.endpoint("prod");
});

afterAll(async () => {
  await Promise.all([dynamo.stop(), api.stop()]);
});

beforeEach(async () => {
  await dynamo.freshTable();
  api.reset();
  delete process.env.DYNAMODB_PAGE_SIZE;
  delete process.env.FANOUT_CONCURRENCY;
});

afterEach(() => {
  jest.restoreAllMocks();
});

async function connected(...connectionIds: string[]): Promise<void> {
  await Promise.all(connectionIds.map((id) => dynamo.putConnection(id)));
}

async function inRoom(room: string, ...connectionIds: string[]): Promise<void> {
  await Promise.all(connectionIds.map((id) => dynamo.putMembership(id, room)));
}

function send(from: string, frame: Record<string, unknown>) {
  return handler(frameEvent(from, { action: "send-message", ...frame }));
}

/** Ids of every connection a post was attempted to, successful or not. */
function postedTo(): string[] {
  return api.requests.map((request) => decodeURIComponent(request.split("/@connections/")[1]));
}

function silenceErrorLog() {
  return jest.spyOn(console, "error").mockImplementation(() => undefined);
}

describe("broadcast", () => {
  test("the tutorial's frame reaches every other open connection as a message frame", async () => {
    await connected("alice", "bob", "carol");

    const result = await send("alice", { message: "hello!" });

    expect(result.statusCode).toBe(200);
    for (const recipient of ["bob", "carol"]) {
      expect(api.received(recipient)).toEqual([
        { type: "message", message: "hello!", from: "alice", sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) },
      ]);
    }
  });

  test("the sender never receives its own message", async () => {
    await connected("alice", "bob");

    await send("alice", { message: "hello!" });

    expect(postedTo()).toEqual(["bob"]);
  });

  test("the sent frame counts the recipients reached", async () => {
    await connected("alice", "bob", "carol");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 2, stale: 0, failed: 0 });
  });

  test("a broadcast reaches every connection when they span many scan pages", async () => {
    // DYNAMODB_PAGE_SIZE becomes each Scan's Limit, so 40 items take 14 pages; memberships in between make
    // some pages come back with fewer connections or none after the filter.
    process.env.DYNAMODB_PAGE_SIZE = "3";
    const others = Array.from({ length: 20 }, (_, index) => `conn-${String(index).padStart(2, "0")}`);
    await connected("alice", ...others);
    await inRoom("lobby", "alice", ...others.slice(0, 19));

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 20, stale: 0, failed: 0 });
    expect(postedTo().sort()).toEqual(others);
  });

  test("a broadcast with one post in flight at a time still reaches everyone", async () => {
    process.env.FANOUT_CONCURRENCY = "1";
    await connected("alice", "bob", "carol", "dave");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toMatchObject({ delivered: 3 });
  });
});

describe("rooms", () => {
  test("a room message reaches only the room's other members and names the room", async () => {
    await connected("alice", "bob", "carol", "dave");
    await inRoom("lobby", "alice", "bob");
    await inRoom("games", "dave");

    const result = await send("alice", { room: "lobby", message: "hi" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 1, stale: 0, failed: 0 });
    expect(postedTo()).toEqual(["bob"]);
    expect(api.received("bob")).toEqual([
      { type: "message", message: "hi", from: "alice", room: "lobby", sentAt: expect.any(String) },
    ]);
  });

  test("a room message reaches every member when they span many index pages", async () => {
    process.env.DYNAMODB_PAGE_SIZE = "2";
    const members = Array.from({ length: 9 }, (_, index) => `member-${index}`);
    await connected("alice", ...members);
    await inRoom("lobby", "alice", ...members);

    const result = await send("alice", { room: "lobby", message: "hi" });

    expect(replyFrame(result)).toMatchObject({ delivered: 9 });
    expect(postedTo().sort()).toEqual(members);
  });

  test("sending to a room the sender has not joined is rejected with NOT_A_MEMBER and sends nothing", async () => {
    await connected("alice", "bob");
    await inRoom("lobby", "bob");

    const result = await send("alice", { room: "lobby", message: "hi" });

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({
      type: "error",
      code: "NOT_A_MEMBER",
      message: expect.stringContaining("lobby"),
      action: "send-message",
    });
    expect(api.requests).toEqual([]);
  });

  test("a member alone in its room gets a sent frame with nobody delivered", async () => {
    await connected("alice");
    await inRoom("lobby", "alice");

    expect(replyFrame(await send("alice", { room: "lobby", message: "hi" }))).toMatchObject({ delivered: 0 });
  });
});

describe("direct messages", () => {
  test("a direct message reaches only its recipient and names it", async () => {
    await connected("alice", "bob", "carol");

    const result = await send("alice", { to: "bob", message: "psst" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 1, stale: 0, failed: 0 });
    expect(postedTo()).toEqual(["bob"]);
    expect(api.received("bob")).toEqual([
      { type: "message", message: "psst", from: "alice", to: "bob", sentAt: expect.any(String) },
    ]);
  });

  test("a direct message to a connection that is not connected is rejected with UNKNOWN_RECIPIENT", async () => {
    await connected("alice");
    await inRoom("lobby", "ghost");

    const result = await send("alice", { to: "ghost", message: "psst" });

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({
      type: "error",
      code: "UNKNOWN_RECIPIENT",
      message: expect.any(String),
      action: "send-message",
    });
    expect(api.requests).toEqual([]);
  });

  test("a direct message to the sender itself is delivered to nobody", async () => {
    await connected("alice");

    expect(replyFrame(await send("alice", { to: "alice", message: "me" }))).toMatchObject({ delivered: 0 });
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
    {
      name: "a message over 32 KiB of UTF-8 but under 32 Ki characters",
      code: "MESSAGE_TOO_LARGE",
      body: { message: "é".repeat(16 * 1024 + 1) },
    },
    { name: "an invalid room name", code: "INVALID_ROOM", body: { room: "no spaces", message: "hi" } },
    { name: "a room that is null", code: "INVALID_ROOM", body: { room: null, message: "hi" } },
    { name: "both a room and a recipient", code: "INVALID_TARGET", body: { room: "lobby", to: "bob", message: "hi" } },
    { name: "a recipient that is not a string", code: "UNKNOWN_RECIPIENT", body: { to: 7, message: "hi" } },
    { name: "an empty recipient", code: "UNKNOWN_RECIPIENT", body: { to: "", message: "hi" } },
  ];

  test.each(rejections)("$name is rejected with $code and nothing is sent", async ({ code, body }) => {
    await connected("alice", "bob");
    await inRoom("lobby", "alice", "bob");
    const frame = typeof body === "string" ? body : { action: "send-message", ...(body as object) };

    const result = await handler(websocketEvent({ routeKey: "send-message", connectionId: "alice", body: frame }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code, message: expect.any(String), action: "send-message" });
    expect(api.requests).toEqual([]);
  });

  test("a message of exactly 32 KiB of UTF-8 is accepted", async () => {
    await connected("alice", "bob");

    const result = await send("alice", { message: "é".repeat(16 * 1024) });

    expect(replyFrame(result)).toMatchObject({ type: "sent", delivered: 1 });
  });
});

describe("recipients that are gone", () => {
  test("a recipient answered 410 is removed with its memberships and counted stale", async () => {
    await connected("alice", "bob", "carol");
    await inRoom("lobby", "alice", "bob");
    api.gone.add("bob");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 1, stale: 1, failed: 0 });
    expect(await dynamo.itemsOf("bob")).toEqual([]);
    expect(api.received("carol")).toHaveLength(1);
  });

  test("removing a gone recipient leaves the sender's connection and memberships in place", async () => {
    await connected("alice", "bob");
    await inRoom("lobby", "alice", "bob");
    api.gone.add("bob");

    await send("alice", { room: "lobby", message: "hi" });

    expect((await dynamo.itemsOf("alice")).map((item) => item.sk)).toEqual(["#connection", "room#lobby"]);
  });

  test("a removed recipient is not posted to again", async () => {
    await connected("alice", "bob");
    api.gone.add("bob");
    await send("alice", { message: "first" });
    api.requests.length = 0;

    const result = await send("alice", { message: "second" });

    expect(replyFrame(result)).toMatchObject({ delivered: 0, stale: 0 });
    expect(api.requests).toEqual([]);
  });

  test("a direct recipient that turns out to be gone is removed and counted stale", async () => {
    await connected("alice", "bob");
    api.gone.add("bob");

    expect(replyFrame(await send("alice", { to: "bob", message: "psst" }))).toMatchObject({ delivered: 0, stale: 1 });
    expect(await dynamo.itemsOf("bob")).toEqual([]);
  });
});

describe("failing posts", () => {
  test("a throttled post is retried and delivered", async () => {
    await connected("alice", "bob");
    api.throttled.set("bob", 2);

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 1, stale: 0, failed: 0 });
    expect(postedTo()).toEqual(["bob", "bob", "bob"]);
    expect(api.received("bob")).toHaveLength(1);
  });

  test("a post answered 500 is retried and delivered", async () => {
    await connected("alice", "bob");
    api.broken.set("bob", 1);

    expect(replyFrame(await send("alice", { message: "hello!" }))).toMatchObject({ delivered: 1, failed: 0 });
  });

  test("a post throttled on every attempt is counted failed while the others are delivered", async () => {
    const logged = silenceErrorLog();
    await connected("alice", "bob", "carol");
    api.throttled.set("bob", 1000);

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 1, stale: 0, failed: 1 });
    expect(postedTo().filter((id) => id === "bob")).toHaveLength(DEFAULT_POST_RETRY.maxAttempts);
    expect(api.received("carol")).toHaveLength(1);
    expect(JSON.parse(String(logged.mock.calls[0][0]))).toMatchObject({
      error: "LimitExceededException",
      recipient: "bob",
    });
  });

  test("a post that fails for another reason is not retried, is logged, and does not stop the others", async () => {
    const logged = silenceErrorLog();
    await connected("alice", "bob", "carol", "dave");
    api.forbidden.add("bob");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toEqual({ type: "sent", delivered: 2, stale: 0, failed: 1 });
    expect(postedTo().filter((id) => id === "bob")).toHaveLength(1);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(logged.mock.calls[0][0]))).toEqual({
      level: "error",
      route: "send-message",
      connectionId: "alice",
      requestId: expect.any(String),
      recipient: "bob",
      error: "ForbiddenException",
      message: "Forbidden",
    });
  });
});

describe("server faults", () => {
  test("a database fault replies INTERNAL without internals and logs the cause", async () => {
    const logged = silenceErrorLog();
    process.env.TABLE_NAME = "no-such-table";

    const result = await send("alice", { room: "lobby", message: "hi" });

    expect(result.statusCode).toBe(500);
    expect(replyFrame(result)).toEqual({
      type: "error",
      code: "INTERNAL",
      message: "Internal error, please retry",
      action: "send-message",
    });
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(logged.mock.calls[0][0]))).toMatchObject({
      level: "error",
      route: "send-message",
      connectionId: "alice",
      error: "ResourceNotFoundException",
    });
  });

  test("an invalid FANOUT_CONCURRENCY replies INTERNAL before anything is sent", async () => {
    const logged = silenceErrorLog();
    process.env.FANOUT_CONCURRENCY = "lots";
    await connected("alice", "bob");

    const result = await send("alice", { message: "hello!" });

    expect(replyFrame(result)).toMatchObject({ code: "INTERNAL" });
    expect(api.requests).toEqual([]);
    expect(JSON.parse(String(logged.mock.calls[0][0])).message).toMatch(/FANOUT_CONCURRENCY/);
  });
});
