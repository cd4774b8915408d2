/**
 * invite and kick on the local DynamoDB with a real @connections endpoint (docs/moderation.md): who may
 * moderate a room, what an invitation lets in, what a kick removes and for how long, and that each action
 * is logged with ids only.
 */
import { handler as createRoom } from "../handlers/create-room";
import { handler as invite } from "../handlers/invite";
import { handler as join } from "../handlers/join";
import { handler as kick } from "../handlers/kick";
import type { User } from "../handlers/lib/auth/user";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame, websocketEvent } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

// The moderation lines each create-room, invite and kick logs (asserted where it matters) stay out of the output.
beforeEach(() => void jest.spyOn(console, "info").mockImplementation(() => undefined));

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

/** Anonymous users (none mode): each connection is its own user, its id the connection id. */
const alice: User = { id: "alice", name: "alice", verified: false };
const carol: User = { id: "carol", name: "carol", verified: false };
/** Verified users (jwt mode): bob has two connections, b1 and b2; root is an admin. */
const bob: User = { id: "bob-sub", name: "Robert", verified: true };
const root: User = { id: "root-sub", name: "Root", verified: true, admin: true };

/** A frame from a connection, with the authorizer's context a verified user's connection carries. */
function from(connectionId: string, user: User, frame: Record<string, unknown>) {
  if (!user.verified) return frameEvent(connectionId, frame);
  const authorizer = { userId: user.id, userName: user.name, ...(user.admin && { admin: "true" }) };
  return websocketEvent({ routeKey: String(frame.action), connectionId, body: frame, authorizer });
}

const send = {
  alice: (frame: Record<string, unknown>) => from("alice", alice, frame),
  carol: (frame: Record<string, unknown>) => from("carol", carol, frame),
  b1: (frame: Record<string, unknown>) => from("b1", bob, frame),
  b2: (frame: Record<string, unknown>) => from("b2", bob, frame),
  root: (frame: Record<string, unknown>) => from("r1", root, frame),
};

const reply = async (result: Promise<{ body?: string }>) => replyFrame(await result);
const roomConnections = async (room: string) => (await dynamo.partition(keys.roomPartition(room))).map((item) => item.connectionId).sort();
const standing = async (room: string, userId: string) => (await dynamo.partition(`acl#${room}`)).find((item) => item.sk === keys.roomStanding(room, userId).sk);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(async () => {
  await dynamo.connect("alice", "carol");
  await Promise.all([dynamo.connectAs("b1", bob), dynamo.connectAs("b2", bob), dynamo.connectAs("r1", root)]);
});

async function aliceCreates(room: string, isPrivate: boolean) {
  expect(await reply(createRoom(send.alice({ action: "create-room", room, private: isPrivate })))).toMatchObject({ type: "created", room, private: isPrivate });
}

describe("invite", () => {
  test("the owner's invite lets the user into the private room, and each of the user's online connections gets an invitation", async () => {
    await aliceCreates("team", true);
    expect(await reply(join(send.b1({ action: "join", room: "team" })))).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });

    expect(await reply(invite(send.alice({ action: "invite", room: "team", user: "bob-sub" })))).toEqual({ type: "invited", room: "team", user: "bob-sub" });

    expect(api.received("b1")).toEqual([{ type: "invitation", room: "team", by: alice }]);
    expect(api.received("b2")).toEqual([{ type: "invitation", room: "team", by: alice }]);
    expect(api.received("carol")).toEqual([]);
    expect(await reply(join(send.b1({ action: "join", room: "team" })))).toEqual({ type: "joined", room: "team", seq: 0, private: true, owner: alice });
    expect(await roomConnections("team")).toEqual(["alice", "b1"]);
  });

  test("an admin may invite to a room it does not own", async () => {
    await aliceCreates("team", true);

    expect(await reply(invite(send.root({ action: "invite", room: "team", user: "carol" })))).toEqual({ type: "invited", room: "team", user: "carol" });

    expect(api.received("carol")).toEqual([{ type: "invitation", room: "team", by: root }]);
    expect(await reply(join(send.carol({ action: "join", room: "team" })))).toMatchObject({ type: "joined", private: true });
  });

  test("anyone else gets FORBIDDEN, the same answer whether the room exists or not, and nothing is written or sent", async () => {
    await aliceCreates("team", true);
    await dynamo.join("team", "carol");

    // A member who is neither owner nor admin may not invite either.
    const existing = await reply(invite(send.carol({ action: "invite", room: "team", user: "bob-sub" })));
    const missing = await reply(invite(send.carol({ action: "invite", room: "nowhere", user: "bob-sub" })));

    expect(existing).toMatchObject({ type: "error", code: "FORBIDDEN", action: "invite" });
    expect({ ...missing, message: String(missing.message).replace("nowhere", "team") }).toEqual(existing);
    expect(await dynamo.partition("acl#team")).toEqual([]);
    expect(await dynamo.partition("acl#nowhere")).toEqual([]);
    expect(api.received("b1")).toEqual([]);
    expect(await reply(join(send.b1({ action: "join", room: "team" })))).toMatchObject({ code: "FORBIDDEN" });
  });

  test("an admin cannot invite to a room that does not exist", async () => {
    expect(await reply(invite(send.root({ action: "invite", room: "nowhere", user: "carol" })))).toMatchObject({ code: "FORBIDDEN" });
    expect(await dynamo.partition("acl#nowhere")).toEqual([]);
  });
});

describe("kick", () => {
  test("a kick removes every connection of the user from the room at once: each gets removed, the room hears left for each", async () => {
    await aliceCreates("lobby", false);
    for (const joining of [send.b1, send.b2, send.carol]) expect(await reply(join(joining({ action: "join", room: "lobby" })))).toMatchObject({ type: "joined" });
    // bob's third connection is not in the room: it is told nothing.
    await dynamo.connectAs("b3", bob);
    api.reset();

    expect(await reply(kick(send.alice({ action: "kick", room: "lobby", user: "bob-sub" })))).toEqual({ type: "kicked", room: "lobby", user: "bob-sub" });

    expect(await roomConnections("lobby")).toEqual(["alice", "carol"]);
    for (const id of ["b1", "b2"]) {
      expect(api.received(id)).toEqual([{ type: "removed", room: "lobby", by: alice }]);
      expect((await dynamo.itemsOf(id)).filter((item) => item.sk === keys.membership(id, "lobby").sk)).toEqual([]);
    }
    expect(api.received("b3")).toEqual([]);
    const left = (id: string) => ({ type: "presence", room: "lobby", event: "left", connectionId: id, user: bob });
    for (const member of ["alice", "carol"]) {
      expect(api.received(member)).toHaveLength(2);
      expect(api.received(member)).toEqual(expect.arrayContaining([left("b1"), left("b2")]));
    }
  });

  test("without banSeconds, the user may rejoin a public room with a frame sent after the kick", async () => {
    await aliceCreates("lobby", false);
    await join(send.b1({ action: "join", room: "lobby" }));
    await kick(send.alice({ action: "kick", room: "lobby", user: "bob-sub" }));
    // The kick's mark refuses only joins the gateway received before it.
    await sleep(5);

    expect(await reply(join(send.b1({ action: "join", room: "lobby" })))).toMatchObject({ type: "joined", room: "lobby" });
  });

  test("banSeconds refuses a rejoin with FORBIDDEN until the ban ends, then lets it in", async () => {
    await aliceCreates("lobby", false);
    await join(send.b1({ action: "join", room: "lobby" }));
    const before = Date.now();

    const kicked = await reply(kick(send.alice({ action: "kick", room: "lobby", user: "bob-sub", banSeconds: 2 })));

    expect(kicked).toEqual({ type: "kicked", room: "lobby", user: "bob-sub", until: expect.any(String) });
    const until = Date.parse(String(kicked.until));
    // Whole seconds: the ban ends on the second boundary 1 to 2 s away.
    expect(until).toBeGreaterThan(before + 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 2000);
    expect(api.received("b1")).toEqual([{ type: "removed", room: "lobby", by: alice, until: kicked.until }]);
    await sleep(5);
    expect(await reply(join(send.b1({ action: "join", room: "lobby" })))).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
    expect(await reply(join(send.b2({ action: "join", room: "lobby" })))).toMatchObject({ code: "FORBIDDEN" });
    expect(await roomConnections("lobby")).toEqual(["alice"]);

    await sleep(until - Date.now() + 50);
    expect(await reply(join(send.b1({ action: "join", room: "lobby" })))).toMatchObject({ type: "joined", room: "lobby" });
  });

  test("a kick withdraws the invitation: the user cannot rejoin the private room", async () => {
    await aliceCreates("team", true);
    await invite(send.alice({ action: "invite", room: "team", user: "bob-sub" }));
    expect(await reply(join(send.b1({ action: "join", room: "team" })))).toMatchObject({ type: "joined" });

    await kick(send.alice({ action: "kick", room: "team", user: "bob-sub" }));
    await sleep(5);

    expect(await standing("team", "bob-sub")).not.toHaveProperty("invitedUntil");
    expect(await standing("team", "bob-sub")).not.toHaveProperty("invitedBy");
    expect(await reply(join(send.b1({ action: "join", room: "team" })))).toMatchObject({ code: "FORBIDDEN" });
    expect(await reply(join(send.b2({ action: "join", room: "team" })))).toMatchObject({ code: "FORBIDDEN" });
    // Invited again, the user is in again.
    await invite(send.alice({ action: "invite", room: "team", user: "bob-sub" }));
    expect(await reply(join(send.b2({ action: "join", room: "team" })))).toMatchObject({ type: "joined" });
  });

  test("only the owner and admins may kick; anyone else gets FORBIDDEN and nothing changes", async () => {
    await aliceCreates("lobby", false);
    await join(send.b1({ action: "join", room: "lobby" }));
    await join(send.carol({ action: "join", room: "lobby" }));
    api.reset();

    expect(await reply(kick(send.carol({ action: "kick", room: "lobby", user: "bob-sub" })))).toMatchObject({ type: "error", code: "FORBIDDEN", action: "kick" });
    expect(await reply(kick(send.carol({ action: "kick", room: "nowhere", user: "bob-sub" })))).toMatchObject({ code: "FORBIDDEN" });

    expect(await dynamo.partition("acl#lobby")).toEqual([]);
    expect(await roomConnections("lobby")).toEqual(["alice", "b1", "carol"]);
    expect(api.received("b1")).toEqual([]);
    // An admin may kick in a room it does not own.
    expect(await reply(kick(send.root({ action: "kick", room: "lobby", user: "bob-sub" })))).toMatchObject({ type: "kicked" });
    expect(api.received("b1")).toEqual([{ type: "removed", room: "lobby", by: root }]);
  });

  test("the owner can be kicked by an admin only, not by the owner", async () => {
    await aliceCreates("lobby", false);
    await join(send.b1({ action: "join", room: "lobby" }));

    expect(await reply(kick(send.alice({ action: "kick", room: "lobby", user: "alice" })))).toMatchObject({ code: "FORBIDDEN" });
    expect(await reply(kick(send.b1({ action: "kick", room: "lobby", user: "alice" })))).toMatchObject({ code: "FORBIDDEN" });
    expect(await roomConnections("lobby")).toEqual(["alice", "b1"]);
    expect(await dynamo.partition("acl#lobby")).toEqual([]);

    expect(await reply(kick(send.root({ action: "kick", room: "lobby", user: "alice" })))).toEqual({ type: "kicked", room: "lobby", user: "alice" });
    expect(await roomConnections("lobby")).toEqual(["b1"]);
    expect(api.received("alice").filter((frame) => frame.type !== "presence")).toEqual([{ type: "removed", room: "lobby", by: root }]);
    expect(api.received("b1")).toContainEqual({ type: "presence", room: "lobby", event: "left", connectionId: "alice", user: alice });
  });

  test("a room made by its first join has no owner: only admins moderate it", async () => {
    await join(send.carol({ action: "join", room: "open" }));
    await join(send.b1({ action: "join", room: "open" }));

    expect(await reply(kick(send.carol({ action: "kick", room: "open", user: "bob-sub" })))).toMatchObject({ code: "FORBIDDEN" });
    expect(await reply(kick(send.root({ action: "kick", room: "open", user: "bob-sub" })))).toMatchObject({ type: "kicked" });
    expect(await roomConnections("open")).toEqual(["carol"]);
  });
});

describe("frames", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["invite without user", { action: "invite", room: "lobby" }, "user"],
    ["invite with an empty user", { action: "invite", room: "lobby", user: "" }, "user"],
    ["invite with a user of 257 characters", { action: "invite", room: "lobby", user: "u".repeat(257) }, "user"],
    ["invite with a number for user", { action: "invite", room: "lobby", user: 7 }, "user"],
    ["kick without user", { action: "kick", room: "lobby" }, "user"],
    ["kick with banSeconds 0", { action: "kick", room: "lobby", user: "bob-sub", banSeconds: 0 }, "banSeconds"],
    ["kick with banSeconds 1.5", { action: "kick", room: "lobby", user: "bob-sub", banSeconds: 1.5 }, "banSeconds"],
    ["kick with banSeconds as a string", { action: "kick", room: "lobby", user: "bob-sub", banSeconds: "60" }, "banSeconds"],
    ["kick with banSeconds over a year", { action: "kick", room: "lobby", user: "bob-sub", banSeconds: 31_536_001 }, "banSeconds"],
  ];

  test.each(cases)("%s: INVALID_REQUEST naming the field, and nothing written", async (_, frame, field) => {
    await aliceCreates("lobby", false);
    const handler = frame.action === "invite" ? invite : kick;

    const result = await handler(send.alice(frame));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INVALID_REQUEST", field, message: expect.any(String), action: frame.action });
    expect(await dynamo.partition("acl#lobby")).toEqual([]);
  });

  test("an invalid room is INVALID_ROOM", async () => {
    expect(await reply(kick(send.alice({ action: "kick", room: "a b", user: "bob-sub" })))).toMatchObject({ code: "INVALID_ROOM", action: "kick" });
    expect(await reply(invite(send.alice({ action: "invite", room: "a b", user: "bob-sub" })))).toMatchObject({ code: "INVALID_ROOM", action: "invite" });
  });

  test("a kick or invite from a connection that is not open answers NOT_CONNECTED", async () => {
    await aliceCreates("lobby", false);
    expect(await reply(kick(frameEvent("ghost", { action: "kick", room: "lobby", user: "bob-sub" })))).toMatchObject({ code: "NOT_CONNECTED" });
    expect(await reply(invite(frameEvent("ghost", { action: "invite", room: "lobby", user: "bob-sub" })))).toMatchObject({ code: "NOT_CONNECTED" });
  });
});

test("each invite and kick is logged with who did what to whom, by ids only", async () => {
  await aliceCreates("team", true);
  const info = jest.spyOn(console, "info").mockImplementation(() => undefined);
  try {
    await invite(send.alice({ action: "invite", room: "team", user: "bob-sub" }));
    await kick(send.root({ action: "kick", room: "team", user: "bob-sub", banSeconds: 60 }));

    const lines = info.mock.calls.map(([line]) => line as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ route: "invite", moderation: "invite", by: "alice", room: "team", user: "bob-sub" }));
    expect(lines).toContainEqual(expect.objectContaining({ route: "kick", moderation: "kick", by: "root-sub", room: "team", user: "bob-sub", banSeconds: 60 }));
    // Ids only: no names, no frames.
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain("Robert");
    expect(logged).not.toContain("Root");
    expect(logged).not.toContain('"action"');
  } finally {
    info.mockRestore();
  }
});
