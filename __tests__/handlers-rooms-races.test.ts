/**
 * Frames of one connection run concurrently on AWS, so a handler's calls can interleave with another's.
 * The handlers run against the local DynamoDB behind a proxy that holds one call until told, which puts
 * the interleaving a race may produce at a chosen point every time.
 */
import { handler as disconnect } from "../handlers/disconnect";
import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import type { LocalDynamo } from "./support/dynalite";
import type { FakeManagementApi } from "./support/management-api";
import { disconnectEvent, frameEvent, replyFrame } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";

const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
let faulty: FaultyDynamoDb;

beforeAll(() => ({ dynamo, api, faulty } = world));

beforeEach(() => faulty.reset());

/**
 * Starts a handler whose `nth` DynamoDB call waits until the returned `release` (one that needs fewer calls
 * just finishes), and resolves once that call is waiting or the handler is done.
 */
async function heldAtCall<T>(nth: number, start: () => Promise<T>) {
  const { held, release } = faulty.hold(nth);
  const running = start();
  const first = await Promise.race([held.then(() => "held" as const), running.then(() => "done" as const)]);
  // A hold still armed would stop the next handler's call instead.
  if (first === "done") release();
  return { running, release };
}

const leaveHeldAtSecondCall = async (connectionId: string) => {
  const { running, release } = await heldAtCall(2, () => leave(frameEvent(connectionId, { action: "leave", room: "lobby" })));
  return { leaving: running, release };
};

const lobbyKeys = async (id: string) => (await dynamo.keysMentioning(id)).filter((key) => key.includes("room#lobby")).sort();

test("a join landing between a leave's calls leaves the membership whole or gone, never half of it", async () => {
  // Half a membership would keep posting room messages to a connection told it is not a member (or the
  // reverse), and $disconnect, which finds rooms from the connection's side, would miss it.
  await dynamo.connect("alice");
  const { leaving, release } = await leaveHeldAtSecondCall("alice");

  const joined = await join(frameEvent("alice", { action: "join", room: "lobby" }));
  release();
  const left = await leaving;

  expect([replyFrame(joined).type, replyFrame(left).type]).toEqual(["joined", "left"]);
  expect([[], ["conn#alice room#lobby", "room#lobby conn#alice"]]).toContainEqual(await lobbyKeys("alice"));
});

test("a leave overlapping a join of a member ends the membership whole", async () => {
  await dynamo.connect("alice");
  await dynamo.join("lobby", "alice");
  const { leaving, release } = await leaveHeldAtSecondCall("alice");

  const joined = await join(frameEvent("alice", { action: "join", room: "lobby" }));
  release();
  const left = await leaving;

  expect([replyFrame(joined).type, replyFrame(left).type]).toEqual(["joined", "left"]);
  expect(await lobbyKeys("alice")).toEqual([]);
});

test("a $disconnect whose first write meets a join's transaction tries again and removes the connection", async () => {
  // DynamoDB cancels a write to an item a transaction holds (the join's check of the connection record)
  // with TransactionConflictException, which the SDK does not retry.
  await dynamo.connect("alice", "bob");
  await dynamo.join("lobby", "alice", "bob");
  faulty.answer("UpdateItem", { status: 400, error: "TransactionConflictException" });

  await disconnect(disconnectEvent("alice"));

  expect(faulty.inputs("UpdateItem")).toHaveLength(2);
  expect(await dynamo.keysMentioning("alice")).toEqual([]);
});

test("a join cancelled by another transaction on its items tries again and joins", async () => {
  await dynamo.connect("alice");
  faulty.reset();
  // How DynamoDB cancels a transaction that met another one: one reason per item, in order.
  const conflict = { CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict" }, { Code: "None" }] };
  faulty.answer("TransactWriteItems", { status: 400, error: "TransactionCanceledException", fields: conflict });

  const joined = await join(frameEvent("alice", { action: "join", room: "lobby" }));

  expect(replyFrame(joined)).toEqual({ type: "joined", room: "lobby", seq: 0, private: false });
  expect(faulty.inputs("TransactWriteItems")).toHaveLength(2);
  expect(await lobbyKeys("alice")).toEqual(["conn#alice room#lobby", "room#lobby conn#alice"]);
});

test("two joins sent together make one membership, and the room hears `joined` once", async () => {
  await dynamo.connect("alice", "bob");
  await dynamo.join("lobby", "bob");
  // The first join's third call (its transaction, after reading the record and the membership) waits
  // while the second join runs to the end.
  const first = await heldAtCall(3, () => join(frameEvent("alice", { action: "join", room: "lobby" })));
  const second = await join(frameEvent("alice", { action: "join", room: "lobby" }));
  first.release();

  expect([replyFrame(await first.running), replyFrame(second)]).toEqual([
    { type: "joined", room: "lobby", seq: 0, private: false },
    { type: "joined", room: "lobby", seq: 0, private: false },
  ]);
  expect(api.received("bob").filter((frame) => frame.type === "presence")).toEqual([expect.objectContaining({ event: "joined", connectionId: "alice" })]);
  expect(await lobbyKeys("alice")).toEqual(["conn#alice room#lobby", "room#lobby conn#alice"]);
});
