/**
 * The frame limiter's bucket write riding in the transaction join and leave make anyway (docs/limits.md):
 * counted at a proxy in front of the local DynamoDB, those frames make no write call of their own, a frame
 * over the limit changes nothing, and a frame that makes no transaction still counts exactly once.
 */
import { handler as defaultRoute } from "../handlers/default";
import { handler as join } from "../handlers/join";
import { handler as leave } from "../handlers/leave";
import { ENV_MAX_ROOMS_PER_CONNECTION, ENV_USER_BURST, ENV_USER_RATE } from "../handlers/lib/env/contract";
import { keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame, websocketEvent } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";

const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let faulty: FaultyDynamoDb;
beforeAll(() => ({ dynamo, faulty } = world));

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
/** The write calls the proxy saw since the last reset, by operation, in order. */
const writes = () => faulty.requests.filter((r) => WRITES.has(r.operation)).map((r) => r.operation);
/** The bucket's tat (epoch ms), or undefined when the user has no bucket item. */
const tatOf = async (userId: string) => (await dynamo.partition(keys.userRate(userId).pk))[0]?.tat as number | undefined;

// Burst 4 at one frame a second, and a clock that stands still, so no token comes back during a test.
const NOW = Date.now();
beforeEach(() => {
  process.env[ENV_USER_RATE] = "1";
  process.env[ENV_USER_BURST] = "4";
  jest.spyOn(Date, "now").mockReturnValue(NOW);
});
afterEach(() => jest.restoreAllMocks());
afterAll(() => {
  process.env[ENV_USER_RATE] = "0";
  delete process.env[ENV_USER_BURST];
});

test("a join takes its token in its own transaction: one TransactWriteItems, no UpdateItem of the bucket's own", async () => {
  await dynamo.connect("j1");
  faulty.reset();
  expect(replyFrame(await join(frameEvent("j1", { action: "join", room: "lobby" })))).toMatchObject({ type: "joined" });
  expect(writes()).toEqual(["TransactWriteItems"]);
  const [transaction] = faulty.inputs("TransactWriteItems");
  expect(transaction!.TransactItems.at(-1).Update.Key).toEqual({ pk: { S: keys.userRate("j1").pk }, sk: { S: "rate" } });
  // One frame taken from a full bucket: tat = now + one interval.
  expect(await tatOf("j1")).toBe(NOW + 1000);
});

test("a leave takes its token in its own transaction too", async () => {
  await dynamo.connect("l1");
  await dynamo.join("lobby", "l1");
  faulty.reset();
  expect(replyFrame(await leave(frameEvent("l1", { action: "leave", room: "lobby" })))).toMatchObject({ type: "left" });
  expect(writes()).toEqual(["TransactWriteItems"]);
  expect(await tatOf("l1")).toBe(NOW + 1000);
  expect(await dynamo.partition(keys.roomPartition("lobby"))).toEqual([]);
});

test("a join over the limit is answered RATE_LIMITED, and nothing of its transaction happened", async () => {
  await dynamo.connect("o1");
  for (let i = 0; i < 4; i += 1) expect(replyFrame(await defaultRoute(frameEvent("o1", { action: "hello" })))).toMatchObject({ type: "info" });
  const [recordBefore] = await dynamo.itemsOf("o1");
  faulty.reset();
  const limited = replyFrame(await join(frameEvent("o1", { action: "join", room: "lobby", requestId: "r5" })));
  expect(limited).toMatchObject({ type: "error", code: "RATE_LIMITED", action: "join", requestId: "r5", retryAfterMs: 1000 });
  // The bucket's condition cancelled the join's own transaction: no second try, no write of the bucket's own.
  expect(writes()).toEqual(["TransactWriteItems"]);
  expect(await dynamo.partition(keys.roomPartition("lobby"))).toEqual([]);
  expect(await dynamo.itemsOf("o1")).toEqual([recordBefore]);
  expect(await tatOf("o1")).toBe(NOW + 4000);
});

test("a transaction that guessed the bucket's branch wrong is tried again with the other one", async () => {
  await dynamo.connect("w1");
  // Another container moved this user's bucket into its burst: this one, knowing nothing, tries the idle branch.
  await dynamo.put({ ...keys.userRate("w1"), tat: NOW + 500 });
  faulty.reset();
  expect(replyFrame(await join(frameEvent("w1", { action: "join", room: "lobby" })))).toMatchObject({ type: "joined" });
  expect(writes()).toEqual(["TransactWriteItems", "TransactWriteItems"]);
  expect(await tatOf("w1")).toBe(NOW + 1500);
  expect(await dynamo.partition(keys.roomPartition("lobby"))).toHaveLength(1);
});

test("a join whose own items cancel its transaction (past the room cap) takes its token with a write of its own", async () => {
  process.env[ENV_MAX_ROOMS_PER_CONNECTION] = "1";
  try {
    await dynamo.connect("m1");
    await dynamo.join("first", "m1");
    faulty.reset();
    expect(replyFrame(await join(frameEvent("m1", { action: "join", room: "second" })))).toMatchObject({ code: "TOO_MANY_ROOMS" });
    // The bucket's item passed; the transaction did not commit, so the token is taken after it.
    expect(writes()).toEqual(["TransactWriteItems", "UpdateItem"]);
    expect(await tatOf("m1")).toBe(NOW + 1000);
  } finally {
    delete process.env[ENV_MAX_ROOMS_PER_CONNECTION];
  }
});

test("frames that make no transaction still count, once each: the fifth frame of a burst of four is refused", async () => {
  await dynamo.connect("c1");
  await dynamo.join("kept", "c1");
  faulty.reset();
  // Each of these returns before any transaction: its token is taken with an UpdateItem of its own.
  expect(replyFrame(await join(frameEvent("c1", { action: "join", room: "kept" })))).toMatchObject({ type: "joined" });
  expect(replyFrame(await leave(frameEvent("c1", { action: "leave", room: "elsewhere" })))).toMatchObject({ type: "left" });
  expect(replyFrame(await join(frameEvent("c1", { action: "join" })))).toMatchObject({ code: "INVALID_ROOM" });
  expect(writes()).toEqual(["UpdateItem", "UpdateItem", "UpdateItem"]);
  // The fourth rides in its transaction.
  expect(replyFrame(await join(frameEvent("c1", { action: "join", room: "new" })))).toMatchObject({ type: "joined" });
  expect(await tatOf("c1")).toBe(NOW + 4000);
  // The fifth, a leave that would write, is refused and leaves the membership alone.
  expect(replyFrame(await leave(frameEvent("c1", { action: "leave", room: "kept" })))).toMatchObject({ code: "RATE_LIMITED" });
  expect(await dynamo.partition(keys.roomPartition("kept"))).toHaveLength(1);
  // So is one that would not.
  expect(replyFrame(await leave(frameEvent("c1", { action: "leave", room: "elsewhere" })))).toMatchObject({ code: "RATE_LIMITED" });
});

test("joins, leaves and other frames of one user in parallel over two connections: each allowed frame counted once, no more than the burst", async () => {
  const pat = { id: "pat", name: "pat", verified: true };
  await dynamo.connectAs("p1", pat);
  await dynamo.connectAs("p2", pat);
  const authorizer = { principalId: "pat", userId: "pat", userName: "pat" };
  const frame = (connectionId: string, body: Record<string, unknown>) => websocketEvent({ routeKey: String(body.action), connectionId, body, authorizer });
  const frames = Array.from({ length: 24 }, (_, i) => {
    const connectionId = i % 2 ? "p1" : "p2";
    const room = `room-${i % 3}`;
    if (i % 4 === 0) return join(frame(connectionId, { action: "join", room }));
    if (i % 4 === 1) return leave(frame(connectionId, { action: "leave", room }));
    return defaultRoute(frame(connectionId, { action: "hello" }));
  });
  const answers = (await Promise.all(frames)).map((answer) => replyFrame(answer));
  const limited = answers.filter((answer) => answer.code === "RATE_LIMITED").length;
  expect(answers.filter((answer) => answer.type === "error" && answer.code !== "RATE_LIMITED")).toEqual([]);
  const allowed = answers.length - limited;
  expect(allowed).toBeGreaterThanOrEqual(1);
  expect(allowed).toBeLessThanOrEqual(4);
  // The clock stands still: every allowed frame moved tat by one interval, and no refused frame moved it.
  expect(await tatOf("pat")).toBe(NOW + allowed * 1000);
});
