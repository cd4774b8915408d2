/**
 * Churn through the local runtime (what `npm start` runs): senders post to one room at once while readers
 * drop and reconnect at random, some joining mid-stream. Each reader rebuilds the room's log the way
 * docs/protocol.md says a client catches up: `join` (seq J), `history` after the last seq it holds without
 * a gap until J, live messages as they come. No reader ever reads past a gap by any other means, so a
 * message the server neither delivered live nor had in history leaves a hole. At the end every reader must
 * hold seqs 1..N exactly once, each with the id its sender was answered. docs/history.md points here.
 *
 * Randomness is seeded: the seed is printed, and CHURN_SEED=<seed> replays the same schedule (timing on a
 * busy machine still varies).
 */
import WebSocket from "ws";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { synthesizeWorkspace, type Workspace } from "./support/local-stacks";
import { LogCollector } from "./support/ws-client";

const ROOM = "churn";
const SENDERS = 4;
const MESSAGES_PER_SENDER = 30;
const READERS = 5;
/** Readers that first join only once this many messages have been sent. */
const LATE_READERS = 2;
const SEED = Number(process.env.CHURN_SEED ?? Math.floor(Math.random() * 2 ** 31));

let workspace: Workspace;
let runtime: LocalRuntime;
const logs = new LogCollector();

beforeAll(async () => {
  workspace = synthesizeWorkspace("local-churn");
  runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log });
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  workspace?.remove();
});

/** mulberry32: small, fast and good enough to draw delays from. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One WebSocket connection with replies matched by requestId; other frames go to `onFrame`. */
class Connection {
  private readonly waiting = new Map<string, (frame: any) => void>();
  private counter = 0;
  readonly closed: Promise<void>;

  private constructor(readonly socket: WebSocket, onFrame: (frame: any) => void) {
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      const waiter = typeof frame.requestId === "string" ? this.waiting.get(frame.requestId) : undefined;
      if (waiter) {
        this.waiting.delete(frame.requestId);
        waiter(frame);
      } else onFrame(frame);
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
    // A reply that will never come (the socket closed) ends the request with no frame.
    void this.closed.then(() => {
      for (const waiter of this.waiting.values()) waiter(undefined);
      this.waiting.clear();
    });
  }

  static open(url: string, onFrame: (frame: any) => void = () => undefined): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const connection = new Connection(socket, onFrame);
      socket.once("open", () => resolve(connection));
      socket.once("error", reject);
    });
  }

  /** The reply to `frame`, or undefined if the connection closed first. */
  request(frame: Record<string, unknown>, requestId = `r${(this.counter += 1)}`): Promise<any> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.resolve(undefined);
    const reply = new Promise<any>((resolve) => this.waiting.set(requestId, resolve));
    this.socket.send(JSON.stringify({ ...frame, requestId }));
    return reply;
  }
}

/** The sender's ground truth: each message's seq and id as its `sent` reply gave them. */
async function send(connection: Connection, text: string, i: number): Promise<{ seq: number; id: string }> {
  const requestId = `m${i}`;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const reply = await connection.request({ action: "send-message", room: ROOM, message: text }, requestId);
    if (reply?.type === "sent") return { seq: reply.seq, id: reply.id };
    // A busy room or a failed step: the same frame again is sequenced once (docs/protocol.md).
    if (reply?.type === "error" && (reply.code === "RATE_LIMITED" || reply.code === "INTERNAL")) {
      await sleep(reply.retryAfterMs ?? 50);
      continue;
    }
    throw new Error(`send "${text}" answered ${JSON.stringify(reply)}`);
  }
  throw new Error(`send "${text}" never accepted`);
}

/** A reader as a client implements catch-up; it keeps its log across connections. */
class Reader {
  /** seq → id, everything this reader holds. */
  readonly log = new Map<number, string>();
  /** Every seq up to this one is in `log`. */
  upTo = 0;
  readonly problems: string[] = [];
  private connection: Connection | undefined;
  connects = 0;

  constructor(readonly name: string) {}

  private hold(frame: any, how: string): void {
    if (frame?.type !== "message" || frame.room !== ROOM || !Number.isSafeInteger(frame.seq)) return;
    const known = this.log.get(frame.seq);
    if (known !== undefined && known !== frame.id) this.problems.push(`${how} seq ${frame.seq} as ${frame.id}, already held as ${known}`);
    this.log.set(frame.seq, frame.id);
    while (this.log.has(this.upTo + 1)) this.upTo += 1;
  }

  /** Connects, joins, and reads history from `upTo` until the joined seq; live messages are held meanwhile. */
  async connect(pageSize: number): Promise<void> {
    this.connects += 1;
    const connection = await Connection.open(runtime.wsUrl, (frame) => this.hold(frame, "live"));
    this.connection = connection;
    const joined = await connection.request({ action: "join", room: ROOM });
    if (joined === undefined) return;
    if (joined.type !== "joined") throw new Error(`${this.name}: join answered ${JSON.stringify(joined)}`);
    while (this.upTo < joined.seq) {
      const after = this.upTo;
      const page = await connection.request({ action: "history", room: ROOM, after, limit: pageSize });
      if (page === undefined) return; // dropped mid catch-up: the next connection starts from upTo again
      if (page.type !== "history") throw new Error(`${this.name}: history answered ${JSON.stringify(page)}`);
      const seqs: number[] = page.messages.map((message: { seq: number }) => message.seq);
      // History has every seq up to one anyone has seen: a page that skips one means it is lost.
      if (seqs.some((seq, i) => seq !== after + 1 + i)) this.problems.push(`history after ${after} gave seqs ${seqs.join(",")}`);
      for (const message of page.messages) this.hold(message, "history");
      if (!page.hasMore && this.upTo < joined.seq) {
        this.problems.push(`history after ${after} ended at ${seqs.at(-1)}, though joined.seq is ${joined.seq}`);
        return;
      }
    }
  }

  drop(clean: boolean): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (!connection) return Promise.resolve();
    if (clean) connection.socket.close(1000);
    else connection.socket.terminate();
    return connection.closed;
  }

  get connected(): boolean {
    return this.connection !== undefined;
  }
}

test(`${SENDERS} senders × ${MESSAGES_PER_SENDER} messages, ${READERS} readers dropping at random: every reader ends with seqs 1..N once, the same ids`, async () => {
  console.log(`churn seed ${SEED} (CHURN_SEED=${SEED} replays it)`);
  const draw = random(SEED);
  const between = (low: number, high: number) => low + Math.floor(draw() * (high - low));
  const total = SENDERS * MESSAGES_PER_SENDER;
  const bySeq = new Map<number, string>();
  let sentCount = 0;
  let sending = true;

  const readers = Array.from({ length: READERS }, (_, i) => new Reader(`reader ${i}`));
  // Each reader's schedule drawn up front, so the seed fixes it whatever order the awaits resume in.
  const schedules = readers.map((_, i) => ({
    startAfter: i >= READERS - LATE_READERS ? between(10, total / 2) : 0,
    stays: Array.from({ length: 200 }, () => between(100, 800)),
    away: Array.from({ length: 200 }, () => between(0, 250)),
    clean: Array.from({ length: 200 }, () => draw() < 0.3),
    pageSize: between(3, 20),
  }));
  const senderDelays = Array.from({ length: SENDERS }, () => Array.from({ length: MESSAGES_PER_SENDER }, () => between(0, 25)));

  const churn = readers.map(async (reader, i) => {
    const schedule = schedules[i]!;
    while (sentCount < schedule.startAfter) await sleep(5);
    for (let round = 0; sending; round += 1) {
      await reader.connect(schedule.pageSize);
      await sleep(schedule.stays[round % 200]!);
      if (!sending) break;
      await reader.drop(schedule.clean[round % 200]!);
      await sleep(schedule.away[round % 200]!);
    }
    // The churn is over: connected again, if the last drop left the reader out.
    if (!reader.connected) await reader.connect(schedule.pageSize);
  });

  const started = Date.now();
  const senders = await Promise.all(Array.from({ length: SENDERS }, () => Connection.open(runtime.wsUrl)));
  for (const sender of senders) expect(await sender.request({ action: "join", room: ROOM })).toMatchObject({ type: "joined" });
  await Promise.all(
    senders.map(async (sender, s) => {
      for (let m = 0; m < MESSAGES_PER_SENDER; m += 1) {
        await sleep(senderDelays[s]![m]!);
        const { seq, id } = await send(sender, `sender ${s} message ${m}`, m);
        expect(bySeq.has(seq)).toBe(false);
        bySeq.set(seq, id);
        sentCount += 1;
      }
    }),
  );
  sending = false;
  const sendingMs = Date.now() - started;
  await Promise.all(churn);
  const churnMs = Date.now() - started;

  // The last live messages may still be on their way.
  const deadline = Date.now() + 15_000;
  while (readers.some((reader) => reader.upTo < total) && Date.now() < deadline) await sleep(50);
  await sleep(200);
  const settledMs = Date.now() - started;

  const expected = [...bySeq.entries()].sort(([a], [b]) => a - b);
  expect(expected.map(([seq]) => seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  for (const reader of readers) {
    const held = [...reader.log.entries()].sort(([a], [b]) => a - b);
    expect({ seed: SEED, reader: reader.name, problems: reader.problems, missing: expected.filter(([seq]) => !reader.log.has(seq)).map(([seq]) => seq) }).toEqual({
      seed: SEED,
      reader: reader.name,
      problems: [],
      missing: [],
    });
    expect(held).toEqual(expected);
  }
  // The churn did churn: every reader reconnected, and the late ones joined after messages were sent.
  for (const reader of readers) expect(reader.connects).toBeGreaterThan(1);
  console.log(`churn seed ${SEED}: ${total} messages sent in ${sendingMs} ms, churn over at ${churnMs} ms, settled at ${settledMs} ms, reader connections ${readers.map((reader) => reader.connects).join(", ")}`);
  for (const sender of senders) sender.socket.terminate();
  for (const reader of readers) await reader.drop(false);
}, 60_000);
