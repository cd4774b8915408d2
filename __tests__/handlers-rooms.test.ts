import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame, websocketEvent } from "./support/events";

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});

afterAll(async () => {
  await dynamo.stop();
});

beforeEach(async () => {
  await dynamo.freshTable();
  await dynamo.putConnection("alice");
});

const INVALID_ROOMS: [string, unknown][] = [
  ["an empty name", ""],
  ["a name with a space", "the lobby"],
  ["a name with a slash", "a/b"],
  ["a name of 65 characters", "a".repeat(65)],
  ["a number", 42],
  ["null", null],
];

describe("join", () => {
  test("join stores a membership that the room index can find and replies joined", async () => {
    const result = await join(frameEvent("alice", { action: "join", room: "lobby" }));

    expect(result.statusCode).toBe(200);
    expect(replyFrame(result)).toEqual({ type: "joined", room: "lobby" });
    const [, membership] = await dynamo.itemsOf("alice");
    expect(membership).toEqual({
      connectionId: "alice",
      sk: "room#lobby",
      room: "lobby",
      expiresAt: expect.any(Number),
    });
  });

  test("joining the same room twice leaves one membership", async () => {
    await join(frameEvent("alice", { action: "join", room: "lobby" }));
    const again = await join(frameEvent("alice", { action: "join", room: "lobby" }));

    expect(replyFrame(again)).toEqual({ type: "joined", room: "lobby" });
    expect((await dynamo.itemsOf("alice")).map((item) => item.sk)).toEqual(["#connection", "room#lobby"]);
  });

  test("join accepts a 64-character name made of every allowed character class", async () => {
    const room = `Az09_.-${"x".repeat(57)}`;

    expect(replyFrame(await join(frameEvent("alice", { action: "join", room })))).toEqual({ type: "joined", room });
  });

  test.each(INVALID_ROOMS)("join rejects %s with INVALID_ROOM and stores nothing", async (_, room) => {
    const result = await join(frameEvent("alice", { action: "join", room }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({
      type: "error",
      code: "INVALID_ROOM",
      message: expect.any(String),
      action: "join",
    });
    expect(await dynamo.itemsOf("alice")).toHaveLength(1);
  });

  test("join rejects a frame without a room with INVALID_ROOM", async () => {
    const result = await join(frameEvent("alice", { action: "join" }));

    expect(replyFrame(result)).toMatchObject({ type: "error", code: "INVALID_ROOM" });
  });

  test("join rejects a body that is not JSON with INVALID_JSON", async () => {
    const result = await join(websocketEvent({ routeKey: "join", connectionId: "alice", body: "{not json" }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({
      type: "error",
      code: "INVALID_JSON",
      message: expect.any(String),
      action: "join",
    });
  });
});

describe("leave", () => {
  test("leave deletes the membership and replies left", async () => {
    await dynamo.putMembership("alice", "lobby");

    const result = await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect(result.statusCode).toBe(200);
    expect(replyFrame(result)).toEqual({ type: "left", room: "lobby" });
    expect((await dynamo.itemsOf("alice")).map((item) => item.sk)).toEqual(["#connection"]);
  });

  test("leaving a room the connection is not in still replies left", async () => {
    const result = await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect(replyFrame(result)).toEqual({ type: "left", room: "lobby" });
  });

  test("leave keeps the connection's other memberships", async () => {
    await dynamo.putMembership("alice", "lobby");
    await dynamo.putMembership("alice", "games");

    await leave(frameEvent("alice", { action: "leave", room: "lobby" }));

    expect((await dynamo.itemsOf("alice")).map((item) => item.sk)).toEqual(["#connection", "room#games"]);
  });

  test.each(INVALID_ROOMS)("leave rejects %s with INVALID_ROOM", async (_, room) => {
    const result = await leave(frameEvent("alice", { action: "leave", room }));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({
      type: "error",
      code: "INVALID_ROOM",
      message: expect.any(String),
      action: "leave",
    });
  });
});
