/**
 * A kick and the kicked user's join run as separate invocations on AWS, so their DynamoDB calls can
 * interleave. The handlers run against the local DynamoDB behind a proxy that holds a chosen call, which
 * puts each interleaving that matters at the same point every time (docs/moderation.md).
 */
import { handler as createRoom } from "../handlers/create-room";
import { handler as invite } from "../handlers/invite";
import { handler as join } from "../handlers/join";
import { handler as kick } from "../handlers/kick";
import type { User } from "../handlers/lib/auth/user";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame, websocketEvent } from "./support/events";
import type { FaultyDynamoDb, SeenRequest } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

// The moderation lines each create-room, invite and kick logs (asserted where it matters) stay out of the output.
beforeEach(() => void jest.spyOn(console, "info").mockImplementation(() => undefined));

const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
let faulty: FaultyDynamoDb;
beforeAll(() => ({ dynamo, api, faulty } = world));

const bob: User = { id: "bob-sub", name: "bob", verified: true };

/** bob's join, as API Gateway hands it to the function: received now, unless `receivedAt` says. */
function bobJoins(room: string, receivedAt?: number) {
  const event = websocketEvent({ routeKey: "join", connectionId: "b1", body: { action: "join", room }, authorizer: { userId: bob.id, userName: bob.name } });
  if (receivedAt !== undefined) (event.requestContext as { requestTimeEpoch: number }).requestTimeEpoch = receivedAt;
  return event;
}

/** Starts a handler and resolves once `held` (one of its calls waiting at the proxy) or the handler is done. */
async function startHeld<T>(hold: { held: Promise<void>; release: () => void }, start: () => Promise<T>) {
  const running = start();
  const first = await Promise.race([hold.held.then(() => "held" as const), running.then(() => "done" as const)]);
  // A hold still armed would stop another handler's call instead.
  if (first === "done") hold.release();
  return { running, release: hold.release, wasHeld: first === "held" };
}

/** join's calls: its reads (entryState, one BatchGetItem), then its transaction. Holds the transaction. */
const joinHeldAtItsTransaction = (event: ReturnType<typeof bobJoins>) => startHeld(faulty.hold(2), () => join(event));

/** The kick's read of bob's entry in the room: what decides whether it finds a membership to remove. */
const readsBobsEntry = (room: string) => (request: SeenRequest) =>
  request.operation === "GetItem" && request.input.Key?.pk?.S === keys.roomMember(room, "b1").pk && request.input.Key?.sk?.S === keys.roomMember(room, "b1").sk;

const inRoom = async (room: string) => (await dynamo.partition(keys.roomPartition(room))).map((item) => item.connectionId).sort();
const membershipsOfB1 = async () => (await dynamo.itemsOf("b1")).filter((item) => String(item.sk).startsWith("room#"));

beforeEach(async () => {
  await dynamo.connect("alice");
  await dynamo.connectAs("b1", bob);
  faulty.reset();
});

test("a kick racing the user's join: the join read its state before the kick and commits after the kick's sweep, and is refused", async () => {
  expect(replyFrame(await createRoom(frameEvent("alice", { action: "create-room", room: "lobby" })))).toMatchObject({ type: "created" });
  // The join has read that bob may enter (no mark, no ban) and waits to write.
  const joining = await joinHeldAtItsTransaction(bobJoins("lobby"));
  expect(joining.wasHeld).toBe(true);

  // The kick runs until it has looked for bob's membership (finding none yet), and is held at its next call,
  // if it makes one: a kick that sweeps before marking would be held there, its mark not yet written.
  const kicking = await startHeld(faulty.holdAfter(readsBobsEntry("lobby")), () => kick(frameEvent("alice", { action: "kick", room: "lobby", user: bob.id })));
  joining.release();
  const joined = replyFrame(await joining.running);
  kicking.release();
  const kicked = replyFrame(await kicking.running);

  expect(kicked).toMatchObject({ type: "kicked", room: "lobby", user: bob.id });
  expect(joined).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
  expect(await inRoom("lobby")).toEqual(["alice"]);
  expect(await membershipsOfB1()).toEqual([]);
  // Nobody heard bob join, and bob was not told of a removal that removed nothing.
  expect(api.received("alice")).toEqual([]);
  expect(api.received("b1")).toEqual([]);
});

test("a kick racing the user's join: a join that commits before the kick's sweep is removed by it", async () => {
  expect(replyFrame(await createRoom(frameEvent("alice", { action: "create-room", room: "lobby" })))).toMatchObject({ type: "created" });
  // The kick has written its mark and waits before reading bob's list; bob's join, received before the mark,
  // runs meanwhile: it fails its check of the standing (the mark is later than its receipt).
  const kicking = await startHeld(faulty.hold(3), () => kick(frameEvent("alice", { action: "kick", room: "lobby", user: bob.id })));
  expect(kicking.wasHeld).toBe(true);
  const early = replyFrame(await join(bobJoins("lobby", Date.now() - 60_000)));
  // A join received after the mark is a new frame: it is let in, and the sweep that follows removes it.
  const late = replyFrame(await join(bobJoins("lobby", Date.now() + 1)));
  kicking.release();
  await kicking.running;

  expect(early).toMatchObject({ code: "FORBIDDEN" });
  expect(late).toMatchObject({ type: "joined" });
  expect(await inRoom("lobby")).toEqual(["alice"]);
  expect(api.received("b1")).toEqual([{ type: "removed", room: "lobby", by: { id: "alice", name: "alice", verified: false } }]);
});

describe("an invite withdrawn by a kick while a join is in flight", () => {
  beforeEach(async () => {
    expect(replyFrame(await createRoom(frameEvent("alice", { action: "create-room", room: "team", private: true })))).toMatchObject({ type: "created", private: true });
    expect(replyFrame(await invite(frameEvent("alice", { action: "invite", room: "team", user: bob.id })))).toMatchObject({ type: "invited" });
    faulty.reset();
  });

  async function joinAcrossTheKick(receivedAt?: number) {
    // The join has read bob's invitation and waits to write; the kick withdraws it and sweeps meanwhile.
    const joining = await joinHeldAtItsTransaction(bobJoins("team", receivedAt));
    expect(joining.wasHeld).toBe(true);
    expect(replyFrame(await kick(frameEvent("alice", { action: "kick", room: "team", user: bob.id })))).toMatchObject({ type: "kicked" });
    joining.release();
    return replyFrame(await joining.running);
  }

  test("the join's transaction fails: the user is not let in", async () => {
    expect(await joinAcrossTheKick()).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
    expect(await inRoom("team")).toEqual(["alice"]);
    expect(await membershipsOfB1()).toEqual([]);
  });

  test("it fails on the withdrawn invitation itself, even when the gateway's clock stamped the join after the kick's mark", async () => {
    // The gateway's clock and the kick function's are different hosts' clocks: the kick's mark alone would
    // let this join in; the invitation it withdrew must not.
    expect(await joinAcrossTheKick(Date.now() + 60_000)).toMatchObject({ code: "FORBIDDEN" });
    expect(await inRoom("team")).toEqual(["alice"]);
  });
});
