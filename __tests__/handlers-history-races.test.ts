/**
 * The catch-up promise under the worst interleavings (docs/history.md): a sender and a joiner of one room
 * run concurrently, one of them held before each of its DynamoDB calls in turn while the other runs to the
 * end. Whatever the order, every room message with seq ≤ joined.seq is in the joiner's history and every one
 * with seq > joined.seq reaches the joiner live. A design that sequences after reading the members, reads
 * the counter before writing the membership, or moves the counter before storing the message fails one of
 * these positions.
 */
import { handler as sendMessage } from "../handlers/send-message";
import { handler as history } from "../handlers/history";
import { handler as join } from "../handlers/join";
import type { LocalDynamo } from "./support/dynalite";
import type { FakeManagementApi } from "./support/management-api";
import { frameEvent, replyFrame } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";

const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
let faulty: FaultyDynamoDb;
beforeAll(() => ({ dynamo, api, faulty } = world));
beforeEach(() => faulty.reset());

/** Starts `start` with its `nth` DynamoDB call held; resolves once that call waits (or `start` finished without one). */
async function heldAtCall<T>(nth: number, start: () => Promise<T>) {
  const { held, release } = faulty.hold(nth);
  const running = start();
  const first = await Promise.race([held.then(() => "held" as const), running.then(() => "done" as const)]);
  if (first === "done") release();
  return { running, release, wasHeld: first === "held" };
}

const sendToLobby = (from: string, message: string) => sendMessage(frameEvent(from, { action: "send-message", room: "lobby", message }));
const joinLobby = (who: string) => join(frameEvent(who, { action: "join", room: "lobby" }));

/** The seqs the joiner's history holds now (catching up: after 0, up to 100). */
async function historySeqs(joiner: string): Promise<Set<number>> {
  const page = replyFrame(await history(frameEvent(joiner, { action: "history", room: "lobby", after: 0, limit: 100 })));
  return new Set((page.messages as Array<{ seq: number }>).map((message) => message.seq));
}

/**
 * The promise for `joiner`: every seq up to joined.seq was in history when it caught up (`caughtUp`, read
 * right after `joined`, while the other side may still be held), every one above reached it live.
 */
function expectNothingMissed(joiner: string, joinedSeq: number, caughtUp: Set<number>, sentSeqs: number[]) {
  const live = new Set(api.received(joiner).filter((frame) => frame.type === "message").map((frame) => frame.seq as number));
  for (const seq of sentSeqs) {
    const seen = seq <= joinedSeq ? { seq, inHistory: caughtUp.has(seq) } : { seq, live: live.has(seq) };
    expect(seen).toEqual(seq <= joinedSeq ? { seq, inHistory: true } : { seq, live: true });
  }
}

// A room message makes four calls (sender and membership, counter, transaction, members); a join five
// (record, membership, transaction, counter, members for presence). Holding each in turn covers every gap.
const POSITIONS = [1, 2, 3, 4, 5, 6];

test.each(POSITIONS)("a sender held before its DynamoDB call %i while a joiner joins: nothing is missed", async (nth) => {
  await dynamo.connect("alice", "bob", "carol");
  await dynamo.join("lobby", "alice", "carol");
  await sendToLobby("alice", "before");
  faulty.reset();

  const sending = await heldAtCall(nth, () => sendToLobby("alice", "racing"));
  const joined = replyFrame(await joinLobby("bob"));
  // Caught up while the sender may still be held: whatever joined.seq says must be readable already.
  const caughtUp = await historySeqs("bob");
  sending.release();
  const sent = replyFrame(await sending.running);

  expect(sent).toMatchObject({ type: "sent", seq: 2 });
  expect(joined).toMatchObject({ type: "joined" });
  expectNothingMissed("bob", joined.seq as number, caughtUp, [1, 2]);
});

test.each(POSITIONS)("a joiner held before its DynamoDB call %i while a message is sent: nothing is missed", async (nth) => {
  await dynamo.connect("alice", "bob", "carol");
  await dynamo.join("lobby", "alice", "carol");
  await sendToLobby("alice", "before");
  faulty.reset();

  const joining = await heldAtCall(nth, () => joinLobby("bob"));
  const sent = replyFrame(await sendToLobby("alice", "racing"));
  joining.release();
  const joined = replyFrame(await joining.running);

  expect(sent).toMatchObject({ type: "sent", seq: 2 });
  expectNothingMissed("bob", joined.seq as number, await historySeqs("bob"), [1, 2]);
});

test("a room too contended to give a seq answers RATE_LIMITED with retryAfterMs; nothing is stored or sent", async () => {
  await dynamo.connect("alice", "bob");
  await dynamo.join("lobby", "alice", "bob");
  faulty.reset();
  const conflict = { CancellationReasons: [{ Code: "TransactionConflict" }, { Code: "None" }, { Code: "None" }] };
  faulty.answer("TransactWriteItems", { status: 400, error: "TransactionCanceledException", fields: conflict }, { times: Infinity });

  const reply = replyFrame(await sendMessage(frameEvent("alice", { action: "send-message", room: "lobby", message: "hi", requestId: "hot" })));

  expect(reply).toMatchObject({ type: "error", code: "RATE_LIMITED", action: "send-message", requestId: "hot", retryAfterMs: expect.any(Number) });
  expect(faulty.inputs("TransactWriteItems").length).toBeGreaterThan(1);
  expect(api.requests).toEqual([]);
  expect((await dynamo.partition("hist#lobby")).length).toBe(0);

  // The same frame sent again once the room cools down takes the next seq.
  faulty.reset();
  expect(replyFrame(await sendMessage(frameEvent("alice", { action: "send-message", room: "lobby", message: "hi", requestId: "hot" })))).toMatchObject({ type: "sent", seq: 1 });
});

test("a sender whose seq another took meanwhile tries the next one with the counter its cancellation returned, without reading it again", async () => {
  await dynamo.connect("alice", "bob");
  await dynamo.join("lobby", "alice", "bob");
  faulty.reset();
  // Alice's third call is her transaction: held until Bob has taken seq 1.
  const alices = await heldAtCall(3, () => sendToLobby("alice", "from alice"));
  expect(replyFrame(await sendToLobby("bob", "from bob"))).toMatchObject({ type: "sent", seq: 1 });
  alices.release();

  expect(replyFrame(await alices.running)).toMatchObject({ type: "sent", seq: 2 });
  const counterReads = faulty.inputs("BatchGetItem").filter((input) => JSON.stringify(input).includes('"counter"'));
  // One read each: Alice's retry used the counter that came back with her cancelled transaction.
  expect(counterReads).toHaveLength(2);
  expect(faulty.inputs("TransactWriteItems")).toHaveLength(3);
});
