/**
 * Frames of one connection run concurrently on AWS, so a handler's calls can interleave with another's.
 * The handlers run against the local DynamoDB behind a proxy that holds one call until told, which puts
 * the interleaving a race may produce at a chosen point every time.
 */
import { handler as disconnect } from "../handlers/disconnect";
import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import type { LocalDynamo } from "./support/dynalite";
import { disconnectEvent, frameEvent, replyFrame } from "./support/events";
import { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorld } from "./support/handler-world";

const world = handlerWorld();
let dynamo: LocalDynamo;
let faulty: FaultyDynamoDb;

beforeAll(async () => {
  ({ dynamo } = world);
  faulty = await FaultyDynamoDb.start(dynamo.endpoint);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = faulty.endpoint;
});

afterAll(() => faulty?.stop());

beforeEach(() => faulty.reset());

/**
 * Starts a leave whose second DynamoDB call waits until the returned `release` (a leave that needs only one
 * call just finishes), and resolves once it is waiting or done.
 */
async function leaveHeldAtSecondCall(connectionId: string) {
  const { held, release } = faulty.hold(2);
  const leaving = leave(frameEvent(connectionId, { action: "leave", room: "lobby" }));
  const first = await Promise.race([held.then(() => "held" as const), leaving.then(() => "done" as const)]);
  // A hold still armed would stop the next handler's call instead.
  if (first === "done") release();
  return { leaving, release };
}

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

  expect(replyFrame(joined)).toEqual({ type: "joined", room: "lobby" });
  expect(faulty.inputs("TransactWriteItems")).toHaveLength(2);
  expect(await lobbyKeys("alice")).toEqual(["conn#alice room#lobby", "room#lobby conn#alice"]);
});
