/**
 * Room records and standings (docs/moderation.md) on the local DynamoDB: create-room, a first join's public
 * record, a private room's door (owner, admins, invitations, room bans) and what its outsiders learn from
 * join, members and history. Users are verified ones, as a jwt authorizer passes them on every frame.
 */
import { handler as createRoom } from "../handlers/create-room";
import { handler as history } from "../handlers/history";
import { handler as join } from "../handlers/join";
import { handler as members } from "../handlers/members";
import { ENV_MAX_ROOMS_PER_CONNECTION } from "../handlers/lib/env/contract";
import { INVITATION_SECONDS, RoomStore } from "../handlers/lib/store/room-store";
import { keys } from "../handlers/lib/store/table-schema";
import type { User } from "../handlers/lib/auth/user";
import type { LocalDynamo } from "./support/dynalite";
import { replyFrame, websocketEvent } from "./support/events";
import { handlerWorld } from "./support/handler-world";

// The moderation lines each create-room, invite and kick logs (asserted where it matters) stay out of the output.
beforeEach(() => void jest.spyOn(console, "info").mockImplementation(() => undefined));

const world = handlerWorld();
let dynamo: LocalDynamo;
beforeAll(() => ({ dynamo } = world));

const user = (id: string, admin = false): User => ({ id, name: id, verified: true, ...(admin && { admin: true as const }) });
const olga = user("olga");
const ivan = user("ivan");
const otto = user("otto");
const ada = user("ada", true);

/** What the authorizer puts on every event of a connection of `who`. */
const authorizerOf = (who: User) => ({ principalId: who.id, userId: who.id, userName: who.name, ...(who.admin && { admin: "true" }) });

/** Connections are named after their user: `<user>-1`. */
const connectionOf = (who: User) => `${who.id}-1`;

function frame(who: User, body: Record<string, unknown>) {
  return websocketEvent({ routeKey: String(body.action), connectionId: connectionOf(who), body, authorizer: authorizerOf(who) });
}

const send = {
  createRoom: async (who: User, room: string, extra: Record<string, unknown> = { private: true }) => replyFrame(await createRoom(frame(who, { action: "create-room", room, ...extra }))),
  join: async (who: User, room: string) => replyFrame(await join(frame(who, { action: "join", room }))),
  members: async (who: User, room: string) => replyFrame(await members(frame(who, { action: "members", room }))),
  history: async (who: User, room: string) => replyFrame(await history(frame(who, { action: "history", room }))),
};

const roomStore = (now: () => number = Date.now) => new RoomStore(dynamo.db, process.env.TABLE_NAME!, now);
const memberIds = async (room: string) => (await dynamo.partition(keys.roomPartition(room))).map((item) => item.connectionId).sort();
const roomRecord = async (room: string) => (await dynamo.partition(keys.historyPartition(room))).find((item) => item.sk === "room");
const forbidden = (action: string) => ({ type: "error", code: "FORBIDDEN", message: expect.any(String), action });
const roomExists = { type: "error", code: "ROOM_EXISTS", message: expect.any(String), action: "create-room" };

beforeEach(async () => {
  for (const who of [olga, ivan, otto, ada]) await dynamo.connectAs(connectionOf(who), who);
});

describe("create-room", () => {
  test("makes the sender's user the owner and the connection its first member, and answers created", async () => {
    expect(await send.createRoom(olga, "team")).toEqual({ type: "created", room: "team", private: true, owner: olga, seq: 0 });

    expect(await memberIds("team")).toEqual(["olga-1"]);
    expect(await roomRecord("team")).toEqual({ ...keys.roomRecord("team"), private: true, owner: olga, createdAt: expect.any(Number) });
    // A record is never deleted: it carries no TTL.
    expect(await roomRecord("team")).not.toHaveProperty("expiresAt");
  });

  test("private defaults to false", async () => {
    expect(await send.createRoom(olga, "open", {})).toEqual({ type: "created", room: "open", private: false, owner: olga, seq: 0 });
  });

  test.each([
    ["a room with members", async () => void (await send.join(otto, "team"))],
    ["a room with only history (its seq counter)", async () => dynamo.put({ ...keys.roomCounter("team"), seq: 3 })],
    ["a room with a record", async () => void (await send.createRoom(otto, "team"))],
    ["a room with members but no record (made before records existed)", async () => dynamo.join("team", "otto-1")],
  ])("of %s answers ROOM_EXISTS and changes nothing", async (_, arrange) => {
    await arrange();
    const before = await dynamo.allKeys();
    const recordBefore = await roomRecord("team");

    expect(await send.createRoom(olga, "team")).toEqual(roomExists);

    expect(await dynamo.allKeys()).toEqual(before);
    expect(await roomRecord("team")).toEqual(recordBefore);
  });

  test("a member's second create-room of its room answers ROOM_EXISTS", async () => {
    await send.createRoom(olga, "team");
    expect(await send.createRoom(olga, "team")).toEqual(roomExists);
  });

  test("counts against CHAT_MAX_ROOMS_PER_CONNECTION: TOO_MANY_ROOMS, and no record is left behind", async () => {
    process.env[ENV_MAX_ROOMS_PER_CONNECTION] = "1";
    try {
      await send.join(olga, "lobby");
      expect(await send.createRoom(olga, "team")).toEqual({ type: "error", code: "TOO_MANY_ROOMS", message: expect.any(String), action: "create-room" });
      expect(await roomRecord("team")).toBeUndefined();
      expect(await memberIds("team")).toEqual([]);
    } finally {
      delete process.env[ENV_MAX_ROOMS_PER_CONNECTION];
    }
  });

  test.each([["a string", "yes"], ["a number", 1], ["null", null]])("private as %s is INVALID_REQUEST naming private", async (_, value) => {
    expect(await send.createRoom(olga, "team", { private: value })).toEqual({ type: "error", code: "INVALID_REQUEST", field: "private", message: expect.any(String), action: "create-room" });
    expect(await dynamo.allKeys()).not.toContain("hist#team room");
  });

  test("an invalid room name is INVALID_ROOM", async () => {
    expect(await send.createRoom(olga, "a b")).toMatchObject({ type: "error", code: "INVALID_ROOM", action: "create-room" });
  });
});

describe("join and records", () => {
  test("a first join creates a public record without an owner; joined says so", async () => {
    expect(await send.join(otto, "lobby")).toEqual({ type: "joined", room: "lobby", seq: 0, private: false });
    expect(await roomRecord("lobby")).toEqual({ ...keys.roomRecord("lobby"), private: false, createdAt: expect.any(Number) });
  });

  test("joined carries private and owner of a created room", async () => {
    await send.createRoom(olga, "open", { private: false });
    expect(await send.join(otto, "open")).toEqual({ type: "joined", room: "open", seq: 0, private: false, owner: olga });
  });
});

describe("a private room", () => {
  beforeEach(async () => {
    await send.createRoom(olga, "team");
  });

  test("refuses an outsider's join with FORBIDDEN and stores nothing for them", async () => {
    expect(await send.join(otto, "team")).toEqual(forbidden("join"));
    expect(await memberIds("team")).toEqual(["olga-1"]);
    expect((await dynamo.keysMentioning("otto-1")).filter((key) => key.includes("team"))).toEqual([]);
  });

  test("answers an outsider's members and history with FORBIDDEN", async () => {
    expect(await send.members(otto, "team")).toEqual(forbidden("members"));
    expect(await send.history(otto, "team")).toEqual(forbidden("history"));
  });

  test("a public room's outsider still gets NOT_A_MEMBER", async () => {
    await send.createRoom(olga, "open", { private: false });
    expect(await send.members(otto, "open")).toMatchObject({ code: "NOT_A_MEMBER" });
    expect(await send.history(otto, "open")).toMatchObject({ code: "NOT_A_MEMBER" });
  });

  test("lets its owner in on another connection, and an admin uninvited", async () => {
    await dynamo.connectAs("olga-2", olga);
    const joined = replyFrame(await join(websocketEvent({ routeKey: "join", connectionId: "olga-2", body: { action: "join", room: "team" }, authorizer: authorizerOf(olga) })));
    expect(joined).toEqual({ type: "joined", room: "team", seq: 0, private: true, owner: olga });

    expect(await send.join(ada, "team")).toEqual({ type: "joined", room: "team", seq: 0, private: true, owner: olga });
    expect(await send.members(ada, "team")).toMatchObject({ type: "members" });
    expect(await memberIds("team")).toEqual(["ada-1", "olga-1", "olga-2"]);
  });

  test("lets an invited user in; members and history then answer", async () => {
    await roomStore().invite("team", ivan.id, olga);

    expect(await send.join(ivan, "team")).toEqual({ type: "joined", room: "team", seq: 0, private: true, owner: olga });
    expect(await send.members(ivan, "team")).toMatchObject({ type: "members", room: "team" });
    expect(await send.history(ivan, "team")).toMatchObject({ type: "history", room: "team" });
    // The invitation is the user's, not another's.
    expect(await send.join(otto, "team")).toEqual(forbidden("join"));
  });

  test("an invitation past its invitedUntil counts as gone while its item is still there (TTL deletes lazily)", async () => {
    // Invited longer ago than an invitation lasts: the item's own expiresAt is past too, and nothing swept it.
    const longAgo = Date.now() - (INVITATION_SECONDS + 60) * 1000;
    await roomStore(() => longAgo).invite("team", ivan.id, olga);
    expect(await dynamo.partition(keys.roomStanding("team", ivan.id).pk)).toHaveLength(1);

    expect(await send.join(ivan, "team")).toEqual(forbidden("join"));
    expect(await memberIds("team")).toEqual(["olga-1"]);
  });

  test("an invitation past its invitedUntil counts as gone even in an item that lives on", async () => {
    // The item outlives its invitation (a longer room ban once raised its expiresAt, and has ended since).
    const nowS = Math.floor(Date.now() / 1000);
    await dynamo.put({ ...keys.roomStanding("team", ivan.id), invitedUntil: nowS - 5, invitedBy: olga, bannedUntil: nowS - 10, expiresAt: nowS + 3600 });

    expect(await send.join(ivan, "team")).toEqual(forbidden("join"));
    expect(await memberIds("team")).toEqual(["olga-1"]);
  });

  test("a kick withdraws the invitation", async () => {
    await roomStore().invite("team", ivan.id, olga);
    await roomStore(() => Date.now() - 1000).kick("team", ivan.id);

    expect(await send.join(ivan, "team")).toEqual(forbidden("join"));
  });
});

test("a kick without a ban refuses no join received after it: the user may come back to a public room", async () => {
  await send.createRoom(olga, "open", { private: false });
  await roomStore(() => Date.now() - 1000).kick("open", otto.id);

  expect(await send.join(otto, "open")).toMatchObject({ type: "joined", room: "open" });
});

describe("a room ban (kick with banSeconds)", () => {
  test("refuses the join of a public room until it ends, then lets the user in", async () => {
    await send.createRoom(olga, "open", { private: false });
    // Kicked a second ago (the kick mark refuses only joins received before it), banned for an hour.
    await roomStore(() => Date.now() - 1000).kick("open", otto.id, 3600);

    expect(await send.join(otto, "open")).toEqual(forbidden("join"));
    expect(await memberIds("open")).toEqual(["olga-1"]);

    // A ban that has ended: kicked two minutes ago for a minute (its item still there, unswept).
    await send.createRoom(olga, "later", { private: false });
    await roomStore(() => Date.now() - 120_000).kick("later", otto.id, 60);
    expect(await dynamo.partition(keys.roomStanding("later", otto.id).pk)).toHaveLength(1);
    expect(await send.join(otto, "later")).toEqual({ type: "joined", room: "later", seq: 0, private: false, owner: olga });
  });

  test("refuses even an invited user of a private room, and outlasts a later invitation", async () => {
    await send.createRoom(olga, "team");
    await roomStore(() => Date.now() - 1000).kick("team", ivan.id, 3600);
    await roomStore().invite("team", ivan.id, olga);

    expect(await send.join(ivan, "team")).toEqual(forbidden("join"));
  });
});
