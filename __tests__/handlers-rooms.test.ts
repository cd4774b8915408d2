import { handler as disconnect } from "../handlers/disconnect";
import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import { handler as members } from "../handlers/members";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { disconnectEvent, frameEvent, replyFrame, websocketEvent } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

beforeEach(async () => {
  delete process.env.DYNAMODB_PAGE_SIZE;
  await dynamo.connect("alice");
});

const INVALID_ROOMS: [string, unknown][] = [
  ["an empty name", ""],
  ["a name with a space", "the lobby"],
  ["a name with a slash", "a/b"],
  ["a name of 65 characters", "a".repeat(65)],
  ["a number", 42],
  ["null", null],
];

const alice = { id: "alice", name: "alice", verified: false };
const bob = { id: "bob", name: "bob", verified: false };

describe("join", () => {
  test("join lists the connection in the room and the room under the connection, and replies joined", async () => {
    const result = await join(frameEvent("alice", { action: "join", room: "lobby" }));

    expect(result.statusCode).toBe(200);
    expect(replyFrame(result)).toEqual({ type: "joined", room: "lobby", seq: 0, private: false });
    expect(await dynamo.partition(keys.roomPartition("lobby"))).toEqual([
      expect.objectContaining({ ...keys.roomMember("lobby", "alice"), connectionId: "alice", user: alice, expiresAt: expect.any(Number) }),
    ]);
    expect(await dynamo.itemsOf("alice")).toContainEqual(expect.objectContaining({ ...keys.membership("alice", "lobby"), room: "lobby" }));
  });

  test("joining the same room twice leaves one membership", async () => {
    await join(frameEvent("alice", { action: "join", room: "lobby" }));
    const again = await join(frameEvent("alice", { action: "join", room: "lobby" }));

    expect(replyFrame(again)).toEqual({ type: "joined", room: "lobby", seq: 0, private: false });
    expect(await dynamo.partition(keys.roomPartition("lobby"))).toHaveLength(1);
  });

  test("join tells the room's other members who joined, once", async () => {
    await dynamo.connect("bob");
    await dynamo.join("lobby", "bob");

    await join(frameEvent("alice", { action: "join", room: "lobby" }));
    await join(frameEvent("alice", { action: "join", room: "lobby" }));

    expect(api.received("bob")).toEqual([{ type: "presence", room: "lobby", event: "joined", connectionId: "alice", user: alice }]);
    expect(api.received("alice")).toEqual([]);
  });

  test("join from a connection that has no record answers NOT_CONNECTED and stores nothing", async () => {
    const result = await join(frameEvent("ghost", { action: "join", room: "lobby" }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "NOT_CONNECTED", message: expect.any(String), action: "join" });
    expect(await dynamo.keysMentioning("ghost")).toEqual([]);
  });

  test("join after the connection's $disconnect answers NOT_CONNECTED and leaves no orphan membership", async () => {
    await disconnect(disconnectEvent("alice"));

    const result = await join(frameEvent("alice", { action: "join", room: "lobby" }));

    expect(replyFrame(result)).toMatchObject({ type: "error", code: "NOT_CONNECTED" });
    expect(await dynamo.allKeys()).toEqual([]);
  });

  test("a join racing the connection's removal either lands before it and is removed with it, or fails", async () => {
    for (let round = 0; round < 10; round += 1) {
      const id = `racer-${round}`;
      await dynamo.connect(id);
      const [joined] = await Promise.all([
        join(frameEvent(id, { action: "join", room: "lobby" })),
        disconnect(disconnectEvent(id)),
      ]);
      expect(["joined", "error"]).toContain(replyFrame(joined).type);
      expect(await dynamo.keysMentioning(id)).toEqual([]);
    }
  });

  test("join accepts a 64-character name made of every allowed character class", async () => {
    const room = `Az09_.-${"x".repeat(57)}`;

    expect(replyFrame(await join(frameEvent("alice", { action: "join", room })))).toEqual({ type: "joined", room, seq: 0, private: false });
  });

  test.each(INVALID_ROOMS)("join rejects %s with INVALID_ROOM and stores nothing", async (_, room) => {
    const before = await dynamo.allKeys();
    const result = await join(frameEvent("alice", { action: "join", room }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INVALID_ROOM", message: expect.any(String), action: "join" });
    expect(await dynamo.allKeys()).toEqual(before);
  });

  test("join rejects a body that is not JSON with INVALID_JSON", async () => {
    const result = await join(websocketEvent({ routeKey: "join", connectionId: "alice", body: "{not json" }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INVALID_JSON", message: expect.any(String), action: "join" });
  });

  test("join echoes the frame's requestId", async () => {
    const result = await join(frameEvent("alice", { action: "join", room: "lobby", requestId: "r:1" }));

    expect(replyFrame(result)).toEqual({ type: "joined", room: "lobby", seq: 0, private: false, requestId: "r:1" });
  });
});

describe("leave", () => {
  test("leave removes both membership items and replies left", async () => {
    await dynamo.join("lobby", "alice");

    const result = await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect(result.statusCode).toBe(200);
    expect(replyFrame(result)).toEqual({ type: "left", room: "lobby" });
    expect(await dynamo.keysMentioning("alice")).not.toContainEqual(expect.stringContaining("room#lobby"));
  });

  test("leave tells the room's remaining members, and only when the connection was a member", async () => {
    await dynamo.connect("bob");
    await dynamo.join("lobby", "alice", "bob");
    api.reset();

    await leave(frameEvent("alice", { action: "leave", room: "lobby" }));
    await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect(api.received("bob")).toEqual([{ type: "presence", room: "lobby", event: "left", connectionId: "alice", user: alice }]);
  });

  test("leaving a room the connection is not in still replies left", async () => {
    const result = await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect(replyFrame(result)).toEqual({ type: "left", room: "lobby" });
  });

  test("leave keeps the connection's other memberships", async () => {
    await dynamo.join("lobby", "alice");
    await dynamo.join("games", "alice");

    await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect((await dynamo.itemsOf("alice")).map((item) => item.sk)).toEqual(["meta", "room#games"]);
  });

  test.each(INVALID_ROOMS)("leave rejects %s with INVALID_ROOM", async (_, room) => {
    const result = await leave(frameEvent("alice", { action: "leave", room }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INVALID_ROOM", message: expect.any(String), action: "leave" });
  });
});

describe("members", () => {
  test("members lists the room's members with their users", async () => {
    await dynamo.connect("bob", "carol");
    await dynamo.join("lobby", "alice", "bob");
    await dynamo.join("games", "carol");

    const result = await members(frameEvent("alice", { action: "members", room: "lobby", requestId: "m1" }));

    expect(replyFrame(result)).toEqual({
      type: "members",
      room: "lobby",
      members: expect.arrayContaining([
        { connectionId: "alice", user: alice },
        { connectionId: "bob", user: bob },
      ]),
      truncated: false,
      requestId: "m1",
    });
    expect((replyFrame(result).members as unknown[]).length).toBe(2);
  });

  test("members is refused with NOT_A_MEMBER for a room the sender has not joined", async () => {
    await dynamo.connect("bob");
    await dynamo.join("lobby", "bob");

    const result = await members(frameEvent("alice", { action: "members", room: "lobby" }));

    expect(replyFrame(result)).toMatchObject({ type: "error", code: "NOT_A_MEMBER", action: "members" });
  });

  test("members lists at most 1,000 and says the list is truncated", async () => {
    process.env.DYNAMODB_PAGE_SIZE = "500";
    const ids = Array.from({ length: 1001 }, (_, i) => `m${String(i).padStart(4, "0")}`);
    await dynamo.join("lobby", "alice");
    for (const id of ids) {
      await dynamo.put({ ...keys.roomMember("lobby", id), connectionId: id, connectedAt: Date.now(), user: { id, name: id, verified: false } });
    }

    const frame = replyFrame(await members(frameEvent("alice", { action: "members", room: "lobby" })));

    expect(frame.members).toHaveLength(1000);
    expect(frame.truncated).toBe(true);
  });

  test("members from a connection with no record answers NOT_CONNECTED", async () => {
    expect(replyFrame(await members(frameEvent("ghost", { action: "members", room: "lobby" })))).toMatchObject({ code: "NOT_CONNECTED" });
  });
});
