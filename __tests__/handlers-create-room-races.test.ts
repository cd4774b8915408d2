/**
 * A room comes into being once (docs/moderation.md): two create-rooms of one name, and a create-room racing
 * a first join, run concurrently with one of them held before each of its DynamoDB calls in turn while the
 * other runs to the end. Whatever the order, exactly one of them makes the room, and a private room never
 * gets a member it did not let in. A create-room that checks for the room by a read before a plain Put, or a
 * join that does not write the room's record in its membership transaction, fails one of these positions.
 */
import { handler as createRoom } from "../handlers/create-room";
import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import { keys } from "../handlers/lib/store/table-schema";
import type { User } from "../handlers/lib/auth/user";
import type { LocalDynamo } from "./support/dynalite";
import { replyFrame, websocketEvent } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";

// The moderation lines each create-room, invite and kick logs (asserted where it matters) stay out of the output.
beforeEach(() => void jest.spyOn(console, "info").mockImplementation(() => undefined));

const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let faulty: FaultyDynamoDb;
beforeAll(() => ({ dynamo, faulty } = world));
beforeEach(() => faulty.reset());

const user = (id: string): User => ({ id, name: id, verified: true });
const olga = user("olga");
const otto = user("otto");
const ivan = user("ivan");

function frame(who: User, body: Record<string, unknown>) {
  return websocketEvent({ routeKey: String(body.action), connectionId: `${who.id}-1`, body, authorizer: { principalId: who.id, userId: who.id, userName: who.name } });
}

const createTeam = async (who: User) => replyFrame(await createRoom(frame(who, { action: "create-room", room: "team", private: true })));
const joinTeam = async (who: User) => replyFrame(await join(frame(who, { action: "join", room: "team" })));

/** Starts `start` with its `nth` DynamoDB call held; resolves once that call waits (or `start` finished without one). */
async function heldAtCall<T>(nth: number, start: () => Promise<T>) {
  const { held, release } = faulty.hold(nth);
  const running = start();
  const first = await Promise.race([held.then(() => "held" as const), running.then(() => "done" as const)]);
  if (first === "done") release();
  return { running, release, wasHeld: first === "held" };
}

const members = async () => (await dynamo.partition(keys.roomPartition("team"))).map((item) => item.connectionId).sort();
const record = async () => (await dynamo.partition(keys.historyPartition("team"))).find((item) => item.sk === "room");

beforeEach(async () => {
  for (const who of [olga, otto, ivan]) await dynamo.connectAs(`${who.id}-1`, who);
  faulty.reset();
});

// create-room makes three calls (the connection, the room's list, the transaction); a join two before it
// answers (its reads in one BatchGetItem, the transaction), and reads again after losing the record's race.
const CREATE_ROOM_CALLS = [1, 2, 3];
const JOIN_CALLS = [1, 2, 3];

describe("two create-rooms of one name", () => {
  test("both past their reads before either writes: one created, the other ROOM_EXISTS, one owner", async () => {
    // olga's transaction waits while otto's create-room reads, finds nothing, and commits.
    const first = await heldAtCall(3, () => createTeam(olga));
    expect(first.wasHeld).toBe(true);
    const second = await createTeam(otto);
    first.release();

    expect(await first.running).toEqual({ type: "error", code: "ROOM_EXISTS", message: expect.any(String), action: "create-room" });
    expect(second).toEqual({ type: "created", room: "team", private: true, owner: otto, seq: 0 });
    expect(await record()).toMatchObject({ private: true, owner: otto });
    expect(await members()).toEqual(["otto-1"]);
  });

  test.each(CREATE_ROOM_CALLS)("one held before its DynamoDB call %i: exactly one is created", async (nth) => {
    const first = await heldAtCall(nth, () => createTeam(olga));
    const second = await createTeam(otto);
    first.release();
    const replies = [await first.running, second];

    const created = replies.filter((reply) => reply.type === "created");
    expect(created).toHaveLength(1);
    expect(replies.filter((reply) => reply.code === "ROOM_EXISTS")).toHaveLength(1);
    const owner = created[0]!.owner as User;
    expect(await record()).toMatchObject({ private: true, owner });
    expect(await members()).toEqual([`${owner.id}-1`]);
  });

  test("sent together, many times: exactly one is created each time", async () => {
    for (let round = 0; round < 5; round += 1) {
      const room = `race-${round}`;
      const replies = await Promise.all([olga, otto].map(async (who) => replyFrame(await createRoom(frame(who, { action: "create-room", room })))));
      expect(replies.map((reply) => reply.type).sort()).toEqual(["created", "error"]);
      expect(replies.filter((reply) => reply.code === "ROOM_EXISTS")).toHaveLength(1);
      expect(await dynamo.partition(keys.roomPartition(room))).toHaveLength(1);
    }
  });
});

describe("a create-room whose transaction other transactions keep cancelling", () => {
  const conflict = { CancellationReasons: [{ Code: "TransactionConflict" }, { Code: "None" }, { Code: "None" }, { Code: "None" }, { Code: "None" }] };

  test("when the room exists by then, it lost the race: ROOM_EXISTS, not INTERNAL", async () => {
    // Many create-rooms at once: the others' transactions hold the items until one has made the room.
    expect(await createTeam(olga)).toMatchObject({ type: "created" });
    // An empty room: only its record says it exists.
    expect(replyFrame(await leave(frame(olga, { action: "leave", room: "team" })))).toMatchObject({ type: "left" });
    faulty.answer("TransactWriteItems", { status: 400, error: "TransactionCanceledException", fields: conflict }, { times: Infinity });
    expect(await createTeam(otto)).toEqual({ type: "error", code: "ROOM_EXISTS", message: expect.any(String), action: "create-room" });
  });

  test("when no room was made, it is a fault: INTERNAL, and nothing is stored", async () => {
    faulty.answer("TransactWriteItems", { status: 400, error: "TransactionCanceledException", fields: conflict }, { times: Infinity });
    const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
    expect(await createTeam(otto)).toMatchObject({ type: "error", code: "INTERNAL" });
    // The cause goes to the log, and only there.
    expect(logged).toHaveBeenCalledWith(expect.objectContaining({ route: "create-room", errorType: "TransactionCanceledException" }));
    logged.mockRestore();
    expect(await record()).toBeUndefined();
    expect(await members()).toEqual([]);
  });
});

describe("a private create-room racing a first join of the same name", () => {
  test("the join reads no record, the create-room commits, then the join's transaction: the joiner is refused", async () => {
    // The join's second call is its transaction, carrying a public record for a room it read as new.
    const joining = await heldAtCall(2, () => joinTeam(ivan));
    expect(joining.wasHeld).toBe(true);
    const created = await createTeam(olga);
    joining.release();

    expect(created).toEqual({ type: "created", room: "team", private: true, owner: olga, seq: 0 });
    expect(await joining.running).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
    expect(await members()).toEqual(["olga-1"]);
    expect(await record()).toMatchObject({ private: true, owner: olga });
  });

  test("the create-room reads no room, the join commits, then the create-room's transaction: ROOM_EXISTS", async () => {
    const creating = await heldAtCall(3, () => createTeam(olga));
    expect(creating.wasHeld).toBe(true);
    const joined = await joinTeam(ivan);
    creating.release();

    expect(joined).toEqual({ type: "joined", room: "team", seq: 0, private: false });
    expect(await creating.running).toMatchObject({ type: "error", code: "ROOM_EXISTS" });
    expect(await members()).toEqual(["ivan-1"]);
    const made = await record();
    expect(made).toMatchObject({ private: false });
    expect(made).not.toHaveProperty("owner");
  });

  /** One of them made the room; a private one has only its owner. */
  async function expectOneWinner(created: Record<string, unknown>, joined: Record<string, unknown>) {
    if (created.type === "created") {
      expect(joined).toMatchObject({ type: "error", code: "FORBIDDEN" });
      expect(await members()).toEqual(["olga-1"]);
      expect(await record()).toMatchObject({ private: true, owner: olga });
    } else {
      expect(created).toMatchObject({ type: "error", code: "ROOM_EXISTS" });
      expect(joined).toMatchObject({ type: "joined", private: false });
      expect(await members()).toEqual(["ivan-1"]);
      expect(await record()).not.toHaveProperty("owner");
    }
  }

  test.each(JOIN_CALLS)("the join held before its DynamoDB call %i while the create-room runs: one winner", async (nth) => {
    const joining = await heldAtCall(nth, () => joinTeam(ivan));
    const created = await createTeam(olga);
    joining.release();
    await expectOneWinner(created, await joining.running);
  });

  test.each(CREATE_ROOM_CALLS)("the create-room held before its DynamoDB call %i while the join runs: one winner", async (nth) => {
    const creating = await heldAtCall(nth, () => createTeam(olga));
    const joined = await joinTeam(ivan);
    creating.release();
    await expectOneWinner(await creating.running, joined);
  });
});
