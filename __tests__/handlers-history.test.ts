/**
 * Room seq and history on the local DynamoDB: seqs without gaps or duplicates under concurrent senders,
 * a retried frame sequenced once, joined.seq, and history pages (after / before / neither, hasMore, the
 * 128 KB cap, retention).
 */
import { handler as sendMessage } from "../handlers/send-message";
import { handler as history } from "../handlers/history";
import { handler as join } from "../handlers/join";
import { MAX_HISTORY_PAGE_BYTES } from "../handlers/lib/frames/history-frames";
import { MAX_DELIVERED_BYTES } from "../handlers/lib/frames/client-frames";
import { keys, TTL_ATTRIBUTE } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { frameEvent, replyFrame } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

beforeEach(() => {
  delete process.env.HISTORY_DAYS;
  delete process.env.DYNAMODB_PAGE_SIZE;
});

const send = async (from: string, frame: Record<string, unknown>): Promise<Record<string, any>> => replyFrame(await sendMessage(frameEvent(from, { action: "send-message", ...frame })));
const page = async (from: string, frame: Record<string, unknown>): Promise<Record<string, any>> => replyFrame(await history(frameEvent(from, { action: "history", room: "lobby", ...frame })));
const seqs = (frame: Record<string, any>) => (frame.messages as Array<{ seq: number }>).map((message) => message.seq);

async function lobbyOf(...members: string[]) {
  await dynamo.connect(...members);
  await dynamo.join("lobby", ...members);
}

async function sendMany(from: string, count: number, message = (i: number) => `m${i}`) {
  for (let i = 1; i <= count; i += 1) expect(await send(from, { room: "lobby", message: message(i) })).toMatchObject({ type: "sent", seq: i });
}

describe("seq", () => {
  test("senders racing in one room get seqs 1..N, each once, each in history as delivered", async () => {
    const senders = Array.from({ length: 12 }, (_, i) => `s${i}`);
    await lobbyOf("reader", ...senders);

    const replies = await Promise.all(senders.map((id, i) => send(id, { room: "lobby", message: `from ${i}`, requestId: `r${i}` })));

    expect(replies.map((reply) => reply.type)).toEqual(senders.map(() => "sent"));
    expect(replies.map((reply) => reply.seq).sort((a, b) => a - b)).toEqual(senders.map((_, i) => i + 1));
    const stored = await page("reader", { after: 0, limit: 100 });
    expect(seqs(stored)).toEqual(senders.map((_, i) => i + 1));
    expect(stored.hasMore).toBe(false);
    // What the reader got live is exactly what history holds, byte for byte.
    const live = api.received("reader").sort((a: any, b: any) => a.seq - b.seq);
    expect(stored.messages).toEqual(live);
    for (const reply of replies) expect(live.find((message) => message.seq === reply.seq)?.id).toBe(reply.id);
  });

  test("a retried frame (same requestId) is stored and sequenced once: both replies carry the same id and seq", async () => {
    await lobbyOf("alice", "bob");
    await send("alice", { room: "lobby", message: "first" });

    const first = await send("alice", { room: "lobby", message: "hi", requestId: "again" });
    const retry = await send("alice", { room: "lobby", message: "hi", requestId: "again" });

    expect(first).toMatchObject({ type: "sent", seq: 2 });
    expect(retry).toMatchObject({ type: "sent", seq: 2, id: first.id, sentAt: first.sentAt });
    expect(seqs(await page("bob", {}))).toEqual([1, 2]);
    // Delivered twice with the same bytes: the recipient drops the second by its id.
    const [, once, twice] = api.received("bob");
    expect(twice).toEqual(once);
    expect(await send("alice", { room: "lobby", message: "next" })).toMatchObject({ seq: 3 });
  });

  test("two copies of one frame racing each other take one seq", async () => {
    await lobbyOf("alice", "bob");

    const [a, b] = await Promise.all([0, 1].map(() => send("alice", { room: "lobby", message: "hi", requestId: "twin" })));

    expect([a.seq, b.seq]).toEqual([1, 1]);
    expect(a.id).toBe(b.id);
    expect(seqs(await page("bob", {}))).toEqual([1]);
  });

  test("rooms count apart, and broadcasts and direct messages carry no seq", async () => {
    await lobbyOf("alice", "bob");
    await dynamo.join("games", "alice", "bob");

    expect(await send("alice", { room: "lobby", message: "a" })).toMatchObject({ seq: 1 });
    expect(await send("alice", { room: "games", message: "b" })).toMatchObject({ seq: 1 });
    expect(await send("alice", { room: "lobby", message: "c" })).toMatchObject({ seq: 2 });
    expect(await send("alice", { message: "everyone" })).not.toHaveProperty("seq");
    expect(await send("alice", { to: "bob", message: "direct" })).not.toHaveProperty("seq");
    expect(api.received("bob").filter((frame) => frame.seq === undefined).map((frame) => frame.message)).toEqual(["everyone", "direct"]);
  });

  test("joined carries the room's latest seq (0 before any message), read after the membership is written", async () => {
    await lobbyOf("alice");
    await dynamo.connect("bob", "carol");
    expect(replyFrame(await join(frameEvent("bob", { action: "join", room: "lobby" })))).toMatchObject({ type: "joined", seq: 0, private: false });
    await sendMany("alice", 3);

    expect(replyFrame(await join(frameEvent("carol", { action: "join", room: "lobby" })))).toMatchObject({ type: "joined", seq: 3 });
    expect(replyFrame(await join(frameEvent("carol", { action: "join", room: "lobby" })))).toMatchObject({ type: "joined", seq: 3 });
  });

  test("a room message too large to fit a history page with its envelope is refused before anything is stored", async () => {
    await lobbyOf("alice", "bob");
    // Control characters take six bytes in JSON: 21,800 of them make a frame over the page but under 128 KiB.
    const message = "\u0001".repeat(21_800);
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(MAX_DELIVERED_BYTES);
    expect(Buffer.byteLength(JSON.stringify(message))).toBeGreaterThan(MAX_HISTORY_PAGE_BYTES - 300);

    expect(await send("alice", { room: "lobby", message })).toMatchObject({ type: "error", code: "MESSAGE_TOO_LARGE" });
    expect(await dynamo.partition(keys.historyPartition("lobby"))).toEqual([]);
    expect(api.requests).toEqual([]);
  });

  test("CHAT_HISTORY_DAYS=0 stores no message but still gives seqs, and a retry still takes one", async () => {
    process.env.HISTORY_DAYS = "0";
    await lobbyOf("alice", "bob");

    expect(await send("alice", { room: "lobby", message: "a", requestId: "x" })).toMatchObject({ seq: 1 });
    expect(await send("alice", { room: "lobby", message: "a", requestId: "x" })).toMatchObject({ seq: 1 });
    expect(await send("alice", { room: "lobby", message: "b" })).toMatchObject({ seq: 2 });

    expect((await dynamo.partition(keys.historyPartition("lobby"))).map((item) => item.sk)).toEqual(["counter"]);
    expect(await page("bob", {})).toEqual({ type: "history", room: "lobby", messages: [], hasMore: false });
  });
});

describe("history pages", () => {
  test("neither after nor before: the newest messages, oldest first, hasMore when older ones remain", async () => {
    await lobbyOf("alice", "bob");
    await sendMany("alice", 7);

    expect(await page("bob", { limit: 3 })).toMatchObject({ type: "history", room: "lobby", hasMore: true });
    expect(seqs(await page("bob", { limit: 3 }))).toEqual([5, 6, 7]);
    expect(await page("bob", { limit: 7 })).toMatchObject({ hasMore: false });
    expect((await page("bob", { limit: 1 })).messages[0]).toMatchObject({ type: "message", room: "lobby", seq: 7, message: "m7", from: "alice" });
  });

  test("after N: the oldest messages above N; paging forward reaches the end with hasMore false", async () => {
    await lobbyOf("alice", "bob");
    await sendMany("alice", 7);

    const first = await page("bob", { after: 2, limit: 3 });
    expect([seqs(first), first.hasMore]).toEqual([[3, 4, 5], true]);
    const second = await page("bob", { after: 5, limit: 3 });
    expect([seqs(second), second.hasMore]).toEqual([[6, 7], false]);
    expect(await page("bob", { after: 7 })).toMatchObject({ messages: [], hasMore: false });
    expect(await page("bob", { after: Number.MAX_SAFE_INTEGER })).toMatchObject({ messages: [], hasMore: false });
  });

  test("before N: the newest messages below N, oldest first; hasMore while older ones remain", async () => {
    await lobbyOf("alice", "bob");
    await sendMany("alice", 7);

    const first = await page("bob", { before: 6, limit: 3 });
    expect([seqs(first), first.hasMore]).toEqual([[3, 4, 5], true]);
    const second = await page("bob", { before: 3, limit: 3 });
    expect([seqs(second), second.hasMore]).toEqual([[1, 2], false]);
    expect(await page("bob", { before: 0 })).toMatchObject({ messages: [], hasMore: false });
    expect(seqs(await page("bob", { before: 1000, limit: 2 }))).toEqual([6, 7]);
  });

  test("DynamoDB's own pages are followed: a query page smaller than the history page changes nothing", async () => {
    await lobbyOf("alice", "bob");
    await sendMany("alice", 7);
    process.env.DYNAMODB_PAGE_SIZE = "2";

    expect(seqs(await page("bob", { after: 1, limit: 5 }))).toEqual([2, 3, 4, 5, 6]);
    expect(seqs(await page("bob", { before: 7, limit: 4 }))).toEqual([3, 4, 5, 6]);
  });

  test("a page never passes 128 KB: it stops adding messages before the frame would, and says hasMore", async () => {
    await lobbyOf("alice", "bob");
    // Each frame is about 30 KB; four of them do not fit one reply.
    await sendMany("alice", 6, (i) => `${i}`.padEnd(30_000, "x"));

    for (const frame of [{ after: 0 }, { before: 7 }, {}]) {
      const result = await history(frameEvent("bob", { action: "history", room: "lobby", requestId: "a".repeat(64), ...frame }));
      expect(Buffer.byteLength(result.body!)).toBeLessThanOrEqual(MAX_DELIVERED_BYTES);
      const reply: Record<string, any> = replyFrame(result);
      expect(reply.messages).toHaveLength(4);
      expect(reply.hasMore).toBe(true);
    }
    expect(seqs(await page("bob", { after: 0 }))).toEqual([1, 2, 3, 4]);
    expect(seqs(await page("bob", {}))).toEqual([3, 4, 5, 6]);
  });

  test("one message of the largest size a room accepts still fits a page", async () => {
    await lobbyOf("alice", "bob");
    const overhead = Buffer.byteLength(JSON.stringify({ ...(await largestProbe()), message: "" }));
    const message = "y".repeat(Math.min(32 * 1024, MAX_HISTORY_PAGE_BYTES - overhead - 40));
    expect(await send("alice", { room: "lobby", message })).toMatchObject({ type: "sent", seq: 1 });

    const result = await history(frameEvent("bob", { action: "history", room: "lobby", requestId: "b".repeat(64) }));
    expect(Buffer.byteLength(result.body!)).toBeLessThanOrEqual(MAX_DELIVERED_BYTES);
    expect(seqs(replyFrame(result))).toEqual([1]);
  });

  test("a message past its TTL is gone from every page at once, before DynamoDB deletes it", async () => {
    await lobbyOf("alice", "bob");
    await sendMany("alice", 4);
    for (const seq of [1, 2]) {
      const key = keys.roomMessage("lobby", seq);
      const [item] = (await dynamo.partition(key.pk)).filter((candidate) => candidate.sk === key.sk);
      await dynamo.put({ ...item, [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) - 1 });
    }

    expect(seqs(await page("bob", { after: 0 }))).toEqual([3, 4]);
    const older = await page("bob", { before: 4, limit: 1 });
    expect([seqs(older), older.hasMore]).toEqual([[3], false]);
    expect(await page("bob", { before: 3 })).toMatchObject({ messages: [], hasMore: false });
  });

  test("a retention shortened since a message was stored hides it too", async () => {
    await lobbyOf("alice", "bob");
    await sendMany("alice", 2);
    const key = keys.roomMessage("lobby", 1);
    const [item] = (await dynamo.partition(key.pk)).filter((candidate) => candidate.sk === key.sk);
    await dynamo.put({ ...item, storedAt: Math.floor(Date.now() / 1000) - 2 * 86_400 });
    process.env.HISTORY_DAYS = "1";

    expect(seqs(await page("bob", {}))).toEqual([2]);
  });

  test("members only: a connection not in the room gets NOT_A_MEMBER", async () => {
    await lobbyOf("alice");
    await dynamo.connect("mallory");
    await sendMany("alice", 1);

    expect(await page("mallory", {})).toMatchObject({ type: "error", code: "NOT_A_MEMBER", action: "history" });
  });

  test.each([
    ["after", { after: -1 }],
    ["after", { after: 1.5 }],
    ["after", { after: "3" }],
    ["before", { before: null }],
    ["before", { after: 1, before: 5 }],
    ["limit", { limit: 0 }],
    ["limit", { limit: 101 }],
    ["limit", { limit: "10" }],
  ])("a bad %s (%j) gets INVALID_REQUEST naming the field", async (field, frame) => {
    await lobbyOf("alice");
    expect(await page("alice", frame)).toMatchObject({ type: "error", code: "INVALID_REQUEST", field, action: "history" });
  });

  test("an invalid room gets INVALID_ROOM", async () => {
    await lobbyOf("alice");
    expect(await page("alice", { room: "no spaces" })).toMatchObject({ type: "error", code: "INVALID_ROOM" });
  });
});

/** The delivered frame of a room message without its text: what a message adds around its text. */
async function largestProbe() {
  return { type: "message", id: "x".repeat(22), message: "", from: "alice", sender: { id: "alice", name: "alice", verified: false }, sentAt: new Date().toISOString(), room: "lobby", seq: Number.MAX_SAFE_INTEGER };
}
