import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { synthesizeStack } from "../local/terraform/synth";
import { ClientPool, type Frame } from "./lib/clients";
import { count, ms } from "./lib/format";
import type { Probes } from "./lib/runtime-probes";
import { ServerProcess } from "./lib/server-process";
import { median, percentile } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

export interface HistoryOptions {
  /** Paired rounds of room messages, history on then off, and how long each side messages in a round. */
  readonly rounds: number;
  readonly windowSeconds: number;
  /** Rooms messaged at once in the paired rounds: one sender and one other member each. */
  readonly rooms: number;
  /** Messages a client misses and catches up on, and how many times that is measured. */
  readonly missed: number;
  readonly catchUpRuns: number;
  /** Senders to one room at once in each hot-room run, and for how long each runs. */
  readonly hotSenders: readonly number[];
  readonly hotSeconds: number;
}

/** A room message with history kept may cost at most this many times its CPU with history off. */
const CPU_BUDGET = 1.3;
/** Catching up on missed messages may take at most this many times receiving them live. */
const CATCH_UP_BUDGET = 2;
/** The largest page `history` gives (docs/protocol.md). */
const PAGE_LIMIT = 100;
/** Messages the sender keeps in flight while the missed messages are sent: one, so the room is not contended (the hot room measures that). */
const LIVE_IN_FLIGHT = 1;
const SEND_MESSAGE = /-send-message$/;

/**
 * Figure 15: what stored room history costs. A room message with CHAT_HISTORY_DAYS=7 beside the same
 * stack with 0 (seqs still taken, nothing stored), two runtimes side by side taking turns; catching up on
 * missed messages through `history` beside receiving them live; and one room with many senders at once.
 */
export async function benchHistory(options: HistoryOptions): Promise<FigureResult> {
  const [onDir, offDir] = [historyStack(7), historyStack(0)];
  const on = await ServerProcess.start({ kind: "runtime", stackDir: onDir, probes: true });
  const off = await ServerProcess.start({ kind: "runtime", stackDir: offDir, probes: true });
  const pools: ClientPool[] = [];
  try {
    const sides = [];
    for (const server of [on, off]) {
      const pool = new ClientPool(server.wsUrl);
      pools.push(pool);
      sides.push(await roomPairs(server, pool, options.rooms));
    }
    const rounds: Array<[Window, Window]> = [];
    for (let round = 0; round < options.rounds; round += 1) {
      const [a, b] = [await messageWindow(sides[0]!, options.windowSeconds * 1000), await messageWindow(sides[1]!, options.windowSeconds * 1000)];
      rounds.push([a, b]);
    }
    for (const pool of pools.splice(0)) pool.closeAll();
    if (rounds.some((pair) => pair.some((w) => !Number.isFinite(w.cpuMsPerMessage)))) {
      throw new Error(`this Node (${process.version}) has no Worker.cpuUsage(), which the send-message CPU is read with: run the figure on the project's Node (npm run bench)`);
    }

    const catchUps: CatchUp[] = [];
    for (let run = 0; run < options.catchUpRuns; run += 1) catchUps.push(await catchUp(on, `catch-up-${run}`, options.missed));
    const hot: HotRoom[] = [];
    for (const senders of options.hotSenders) hot.push(await hotRoom(on, senders, options.hotSeconds * 1000));
    return figure(options, rounds, catchUps, hot);
  } finally {
    for (const pool of pools) pool.closeAll();
    await on.stop();
    await off.stop();
  }
}

function historyStack(days: number): string {
  return synthesizeStack({
    outdir: mkdtempSync(joinPath(tmpdir(), `bench-history-${days}-`)),
    // The frame limiter off (CHAT_USER_RATE=0): each room's sender sends far more than a person's 5 frames a
    // second, and the figure prices history and a room's own ceiling, not the limiter (figure 14's).
    env: { ...process.env, CHAT_HISTORY_DAYS: String(days), CHAT_USER_RATE: "0" },
    warn: () => undefined,
  });
}

interface Side {
  readonly server: ServerProcess;
  readonly pool: ClientPool;
  readonly rooms: number;
  /** Requests sent so far, to give each frame a requestId (and so a message id) of its own. */
  sent: number;
}

/** Clients 2r (the sender) and 2r+1 (the other member) join room r. */
async function roomPairs(server: ServerProcess, pool: ClientPool, rooms: number): Promise<Side> {
  await pool.grow(2 * rooms);
  for (let client = 0; client < 2 * rooms; client += 1) await join(pool, client, `room-${client >> 1}`);
  return { server, pool, rooms, sent: 0 };
}

/**
 * Sends a frame and awaits its answer (`type`, or an error), as a client does: a RATE_LIMITED answer is
 * waited out (`retryAfterMs`) and the frame sent again, so a sender whose bucket a hot room emptied can
 * still read the history back.
 */
async function request(pool: ClientPool, client: number, frame: Record<string, unknown>, type: string): Promise<Frame> {
  for (;;) {
    const answer = pool.next(client, (reply) => reply.type === type || reply.type === "error");
    pool.send(client, frame);
    const reply = await answer;
    if (reply.type !== "error" || reply.code !== "RATE_LIMITED") return reply;
    await sleep(Number(reply.retryAfterMs ?? 250));
  }
}

async function join(pool: ClientPool, client: number, room: string): Promise<number> {
  const frame = await request(pool, client, { action: "join", room }, "joined");
  if (frame.type !== "joined") throw new Error(`client ${client} could not join ${room}: ${JSON.stringify(frame)}`);
  return Number(frame.seq);
}

interface Window {
  readonly messages: number;
  readonly failed: number;
  readonly latencies: number[];
  readonly cpuMsPerMessage: number;
  readonly callsPerMessage: number;
  readonly callsByOperation: Record<string, number>;
  readonly writeUnitsPerMessage: number;
  readonly cancelledPerMessage: number;
}

/**
 * Each room's sender sends its next message when the last is answered, so `rooms` are in flight; counted
 * for `windowMs` after 1 s of warm-up, then the messages in flight are let land.
 */
async function messageWindow(side: Side, windowMs: number): Promise<Window> {
  const { pool, server } = side;
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let running = true;
  let counting = false;
  let messages = 0;
  let answered = 0;
  let failed = 0;
  let inFlight = 0;
  const send = (room: number) => {
    if (!running) return;
    const requestId = `m${(side.sent += 1)}`;
    started.set(requestId, performance.now());
    inFlight += 1;
    pool.send(2 * room, { action: "send-message", room: `room-${room}`, message: `hello ${requestId}`, requestId });
  };
  pool.onFrame = (client, frame) => {
    if (client % 2 === 1 || typeof frame.requestId !== "string") return;
    inFlight -= 1;
    const at = started.get(frame.requestId);
    started.delete(frame.requestId);
    if (frame.type === "sent") answered += 1;
    if (counting && frame.type === "sent") {
      messages += 1;
      latencies.push(performance.now() - (at ?? NaN));
    } else if (counting) {
      failed += 1;
    }
    send(client >> 1);
  };
  // Calls and write units from before the first send to after the last answer, over every message sent:
  // exact, where a window's edges would cut messages in flight in two. CPU over the counted window.
  const first = await server.probes();
  for (let room = 0; room < side.rooms; room += 1) send(room);
  await sleep(1000);
  const before = await server.probes();
  counting = true;
  await sleep(windowMs);
  counting = false;
  const after = await server.probes();
  running = false;
  for (let waited = 0; inFlight > 0 && waited < 10_000; waited += 50) await sleep(50);
  pool.onFrame = () => undefined;
  const last = await server.probes();
  const cpu = probeDelta(before, after);
  const all = probeDelta(first, last);
  const per = (value: number) => value / Math.max(1, answered);
  return {
    messages,
    failed,
    latencies,
    cpuMsPerMessage: cpu.sendMessageCpuMs / Math.max(1, messages),
    callsPerMessage: per(all.calls),
    callsByOperation: Object.fromEntries(Object.entries(all.byOperation).map(([operation, n]) => [operation, per(n)])),
    cancelledPerMessage: per(all.cancelledTransactions),
    writeUnitsPerMessage: per(all.writeUnits),
  };
}

function probeDelta(before: Probes, after: Probes) {
  const cpu = (probes: Probes) => Object.entries(probes.functionCpuMs).reduce((sum, [name, msUsed]) => sum + (SEND_MESSAGE.test(name) ? msUsed : 0), 0);
  const byOperation: Record<string, number> = {};
  for (const [operation, n] of Object.entries(after.dynamodb.calls)) byOperation[operation] = n - (before.dynamodb.calls[operation] ?? 0);
  const cancelled = (after.dynamodb.failed.TransactWriteItems ?? 0) - (before.dynamodb.failed.TransactWriteItems ?? 0);
  return {
    sendMessageCpuMs: cpu(after) - cpu(before),
    calls: Object.values(byOperation).reduce((sum, n) => sum + n, 0),
    byOperation,
    cancelledTransactions: cancelled,
    writeUnits: after.dynamodb.transactWriteUnits - before.dynamodb.transactWriteUnits,
  };
}

interface CatchUp {
  /** From the first send to the live member's receipt of the last message. */
  readonly liveMs: number;
  /** From the reconnect (socket opened, room joined) to the last page. */
  readonly catchUpMs: number;
  /** The pages alone: from the first `history` request to the last page. */
  readonly pagesMs: number;
  readonly pages: number;
  /** Whether the pages held exactly the missed seqs, once each, in order. */
  readonly complete: boolean;
  readonly liveServerCpuMs: number;
  readonly catchUpServerCpuMs: number;
}

/**
 * One sender, a member connected throughout and a member that leaves: while it is away the sender sends
 * `missed` messages (LIVE_IN_FLIGHT at a time); it then reconnects, joins, and pages `history` after the
 * last seq it had until it reaches `joined.seq`.
 */
async function catchUp(server: ServerProcess, room: string, missed: number): Promise<CatchUp> {
  const pool = new ClientPool(server.wsUrl);
  const away = new ClientPool(server.wsUrl);
  try {
    await pool.grow(2);
    await away.grow(1);
    for (const client of [0, 1]) await join(pool, client, room);
    const last = await join(away, 0, room);
    away.closeAll();
    await sleep(500);

    // Live: the sender sends them all, the connected member receives them.
    let sentCount = 0;
    let received = 0;
    let lastReceipt = 0;
    let start = () => undefined as void;
    const done = new Promise<void>((resolve, reject) => {
      const sendNext = () => {
        if (sentCount >= missed) return;
        sentCount += 1;
        pool.send(0, { action: "send-message", room, message: `missed ${sentCount}`, requestId: `c${sentCount}` });
      };
      pool.onFrame = (client, frame) => {
        if (client === 0 && frame.type === "error" && frame.code === "RATE_LIMITED") {
          // Nothing was stored: the same frame again, after the wait it names.
          const again = { action: "send-message", room, message: `missed ${String(frame.requestId).slice(1)}`, requestId: frame.requestId };
          setTimeout(() => pool.send(0, again), Number(frame.retryAfterMs ?? 250));
        } else if (client === 0 && frame.type === "error") {
          reject(new Error(`a missed message was refused: ${JSON.stringify(frame)}`));
        } else if (client === 0 && frame.type === "sent") {
          sendNext();
        } else if (client === 1 && frame.type === "message" && frame.room === room) {
          received += 1;
          lastReceipt = performance.now();
          if (received === missed) resolve();
        }
      };
      start = () => {
        for (let i = 0; i < LIVE_IN_FLIGHT; i += 1) sendNext();
      };
    });
    const cpuBeforeLive = await server.cpu();
    const liveStarted = performance.now();
    start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the live member received ${received} of ${missed} in 5 minutes`)), 300_000);
    });
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    const liveMs = lastReceipt - liveStarted;
    const cpuAfterLive = await server.cpu();
    pool.onFrame = () => undefined;
    await sleep(500);

    // Catch-up: reconnect, join, page.
    const cpuBeforeCatchUp = await server.cpu();
    const reconnected = performance.now();
    await away.grow(1);
    const until = await join(away, 0, room);
    const pagesStarted = performance.now();
    const seqs: number[] = [];
    let after = last;
    let pages = 0;
    while (after < until) {
      const page = await request(away, 0, { action: "history", room, after, limit: PAGE_LIMIT }, "history");
      if (page.type !== "history") throw new Error(`history answered ${JSON.stringify(page)}`);
      pages += 1;
      const messages = page.messages as Frame[];
      if (messages.length === 0) break;
      for (const message of messages) seqs.push(Number(message.seq));
      after = Number(messages[messages.length - 1]!.seq);
    }
    const finished = performance.now();
    const cpuAfterCatchUp = await server.cpu();
    const complete = seqs.length === missed && seqs.every((seq, i) => seq === last + 1 + i);
    return {
      liveMs,
      catchUpMs: finished - reconnected,
      pagesMs: finished - pagesStarted,
      pages,
      complete,
      liveServerCpuMs: cpuAfterLive.processMs - cpuBeforeLive.processMs,
      catchUpServerCpuMs: cpuAfterCatchUp.processMs - cpuBeforeCatchUp.processMs,
    };
  } finally {
    pool.closeAll();
    away.closeAll();
  }
}

interface HotRoom {
  readonly senders: number;
  readonly elapsedMs: number;
  readonly accepted: number;
  /** Answers other than `sent`, by error code. */
  readonly refused: Record<string, number>;
  readonly latencies: number[];
  readonly maxSeq: number;
  readonly stored: number;
  /** Seqs in 1..max missing from history, seqs stored twice, and `sent` replies whose seq and id history does not hold. */
  readonly gaps: number;
  readonly duplicates: number;
  readonly unmatched: number;
  readonly transactionsPerAccepted: number;
  readonly cancelledPerAccepted: number;
}

/**
 * `senders` members of one room each send their next message as soon as the last is answered, whatever
 * the answer (a client that does not wait out RATE_LIMITED), for `windowMs`; every answer is then
 * awaited and the room's history read back from seq 1.
 */
async function hotRoom(server: ServerProcess, senders: number, windowMs: number): Promise<HotRoom> {
  const room = `hot-${senders}`;
  const pool = new ClientPool(server.wsUrl);
  try {
    await pool.grow(senders);
    for (let client = 0; client < senders; client += 1) await join(pool, client, room);
    const before = await server.probes();
    const startedAt = new Map<string, number>();
    const acceptedSeqs = new Map<number, string>();
    const refused: Record<string, number> = {};
    const latencies: number[] = [];
    let running = true;
    let inFlight = 0;
    let next = 0;
    let lastAnswer = 0;
    const send = (client: number) => {
      if (!running) return;
      const requestId = `h${(next += 1)}`;
      startedAt.set(requestId, performance.now());
      inFlight += 1;
      pool.send(client, { action: "send-message", room, message: `hot ${requestId}`, requestId });
    };
    pool.onFrame = (client, frame) => {
      if (typeof frame.requestId !== "string" || !startedAt.has(frame.requestId)) return;
      inFlight -= 1;
      lastAnswer = performance.now();
      latencies.push(lastAnswer - startedAt.get(frame.requestId)!);
      startedAt.delete(frame.requestId);
      if (frame.type === "sent") acceptedSeqs.set(Number(frame.seq), String(frame.id));
      else refused[String(frame.code ?? frame.type)] = (refused[String(frame.code ?? frame.type)] ?? 0) + 1;
      send(client);
    };
    const started = performance.now();
    for (let client = 0; client < senders; client += 1) send(client);
    await sleep(windowMs);
    running = false;
    for (let waited = 0; inFlight > 0 && waited < 60_000; waited += 50) await sleep(50);
    pool.onFrame = () => undefined;
    const after = await server.probes();
    const delta = probeDelta(before, after);

    // The stored log, from seq 1, through the route a client uses.
    const stored = new Map<number, string>();
    let duplicates = 0;
    let from = 0;
    for (;;) {
      const page = await request(pool, 0, { action: "history", room, after: from, limit: PAGE_LIMIT }, "history");
      if (page.type !== "history") throw new Error(`history answered ${JSON.stringify(page)}`);
      const messages = page.messages as Frame[];
      for (const message of messages) {
        const seq = Number(message.seq);
        if (stored.has(seq)) duplicates += 1;
        stored.set(seq, String(message.id));
      }
      if (messages.length === 0 || page.hasMore !== true) break;
      from = Number(messages[messages.length - 1]!.seq);
    }
    const maxSeq = Math.max(0, ...stored.keys(), ...acceptedSeqs.keys());
    let gaps = 0;
    for (let seq = 1; seq <= maxSeq; seq += 1) if (!stored.has(seq)) gaps += 1;
    const ids = new Set(stored.values());
    duplicates += stored.size - ids.size;
    let unmatched = 0;
    for (const [seq, id] of acceptedSeqs) if (stored.get(seq) !== id) unmatched += 1;
    const accepted = acceptedSeqs.size;
    return {
      senders,
      elapsedMs: lastAnswer - started,
      accepted,
      refused,
      latencies,
      maxSeq,
      stored: stored.size,
      gaps,
      duplicates,
      unmatched,
      transactionsPerAccepted: (delta.byOperation.TransactWriteItems ?? 0) / Math.max(1, accepted),
      cancelledPerAccepted: delta.cancelledTransactions / Math.max(1, accepted),
    };
  } finally {
    pool.closeAll();
  }
}

function figure(options: HistoryOptions, rounds: Array<[Window, Window]>, catchUps: CatchUp[], hotRuns: HotRoom[]): FigureResult {
  const on = rounds.map(([a]) => a);
  const off = rounds.map(([, b]) => b);
  const cpuRatios = rounds.map(([a, b]) => a.cpuMsPerMessage / b.cpuMsPerMessage);
  const cpuRatio = median(cpuRatios);
  const sorted = (windows: Window[]) => windows.flatMap((w) => w.latencies).sort((x, y) => x - y);
  const [latOn, latOff] = [sorted(on), sorted(off)];
  const med = (windows: Window[], pick: (w: Window) => number) => median(windows.map(pick));
  const operations = (windows: Window[]) => {
    const names = [...new Set(windows.flatMap((w) => Object.keys(w.callsByOperation)))].sort();
    // Operations other routes made earlier (join's GetItem) show up with none in the turns: left out.
    const perMessage = names.map((name) => [name, med(windows, (w) => w.callsByOperation[name] ?? 0)] as const).filter(([, n]) => n > 0);
    return perMessage.map(([name, n]) => `${name} ${n.toFixed(2)}`).join(", ");
  };
  const total = (windows: Window[]) => windows.reduce((sum, w) => sum + w.messages, 0);
  const failed = (windows: Window[]) => windows.reduce((sum, w) => sum + w.failed, 0);

  const catchUpRatios = catchUps.map((c) => c.catchUpMs / c.liveMs);
  const catchUpRatio = median(catchUpRatios);
  const allComplete = catchUps.every((c) => c.complete);
  const list = (values: number[], digits = 2) => [...values].sort((a, b) => a - b).map((v) => v.toFixed(digits)).join(", ");
  const hotRow = (hot: HotRoom): Row => {
    const latencies = [...hot.latencies].sort((a, b) => a - b);
    const refused = Object.entries(hot.refused).map(([code, n]) => `${count(n)} ${code}`).join(", ") || "none";
    const attempts = hot.accepted + Object.values(hot.refused).reduce((sum, n) => sum + n, 0);
    return {
      measure: `hot room, ${hot.senders} sender${hot.senders === 1 ? "" : "s"} at once for ${ms(options.hotSeconds * 1000)}: accepted messages per second`,
      ours: count((hot.accepted / hot.elapsedMs) * 1000),
      baseline: "",
      detail: `${count(hot.accepted)} accepted of ${count(attempts)} sent, the rest answered: ${refused}; answer p50 / p99 ${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))}; TransactWriteItems per accepted message ${hot.transactionsPerAccepted.toFixed(2)}, of which cancelled ${hot.cancelledPerAccepted.toFixed(2)}`,
    };
  };
  const intact = (hot: HotRoom) => hot.gaps === 0 && hot.duplicates === 0 && hot.unmatched === 0 && hot.stored === hot.accepted;
  const rows: Row[] = [
    {
      measure: `send-message CPU per room message, its worker threads (${options.rounds} rounds of ${options.windowSeconds} s each, ${options.rooms} rooms in flight)`,
      ours: ms(med(on, (w) => w.cpuMsPerMessage)),
      baseline: ms(med(off, (w) => w.cpuMsPerMessage)),
      budget: `≤ ${CPU_BUDGET}× history off`,
      pass: cpuRatio <= CPU_BUDGET,
      detail: `${cpuRatio.toFixed(2)}× (median of the rounds' ratios: ${list(cpuRatios)})`,
    },
    { measure: "`sent` latency p50 / p99", ours: `${ms(percentile(latOn, 50))} / ${ms(percentile(latOn, 99))}`, baseline: `${ms(percentile(latOff, 50))} / ${ms(percentile(latOff, 99))}` },
    {
      measure: "room messages sent in the counted windows (answers other than `sent`)",
      ours: `${count(total(on))} (${count(failed(on))})`,
      baseline: `${count(total(off))} (${count(failed(off))})`,
    },
    {
      measure: "DynamoDB calls per room message",
      ours: med(on, (w) => w.callsPerMessage).toFixed(2),
      baseline: med(off, (w) => w.callsPerMessage).toFixed(2),
      detail: `on: ${operations(on)}; off: ${operations(off)}; cancelled transactions per message: on ${med(on, (w) => w.cancelledPerMessage).toFixed(2)}, off ${med(off, (w) => w.cancelledPerMessage).toFixed(2)}`,
    },
    {
      measure: "write units per room message (computed from item sizes)",
      ours: med(on, (w) => w.writeUnitsPerMessage).toFixed(2),
      baseline: med(off, (w) => w.writeUnitsPerMessage).toFixed(2),
    },
    {
      measure: `catching up ${count(options.missed)} missed messages (reconnect, join, pages of ${PAGE_LIMIT}) vs receiving them live (first send to last receipt), ${catchUps.length} runs`,
      ours: ms(median(catchUps.map((c) => c.catchUpMs))),
      baseline: ms(median(catchUps.map((c) => c.liveMs))),
      budget: `≤ ${CATCH_UP_BUDGET}× live, every message once`,
      pass: catchUpRatio <= CATCH_UP_BUDGET && allComplete,
      detail: `${catchUpRatio.toFixed(2)}× (runs: ${list(catchUpRatios)}); ${allComplete ? "each run had every missed seq once, in order" : "a run MISSED or repeated a seq"}`,
    },
    {
      measure: "… pages, and the pages alone (first request to last page)",
      ours: `${median(catchUps.map((c) => c.pages))} pages, ${ms(median(catchUps.map((c) => c.pagesMs)))}`,
      baseline: "",
    },
    {
      measure: "… server CPU (every thread) to serve the catch-up vs to sequence and deliver the same messages live",
      ours: ms(median(catchUps.map((c) => c.catchUpServerCpuMs))),
      baseline: ms(median(catchUps.map((c) => c.liveServerCpuMs))),
    },
    ...hotRuns.map(hotRow),
    {
      measure: "… each hot room read back through `history`: seqs 1..max, gaps, duplicates, `sent` replies it does not match",
      ours: hotRuns.map((hot) => `1..${count(hot.maxSeq)}: ${hot.gaps} gaps, ${hot.duplicates} duplicates, ${hot.unmatched} unmatched`).join("; "),
      baseline: "",
      budget: "none lost or repeated",
      pass: hotRuns.every(intact),
      detail: hotRuns.map((hot) => `${count(hot.stored)} stored, ${count(hot.accepted)} accepted`).join("; "),
    },
  ];
  return {
    title: "15. Room history: a room message, catching up, a hot room",
    oursLabel: "history on (CHAT_HISTORY_DAYS=7)",
    baselineLabel: "history off (CHAT_HISTORY_DAYS=0) / live",
    rows,
    notes: [
      `Two runtimes side by side (bench/lib/server-child.ts), the stack synthesized with CHAT_HISTORY_DAYS=7 and with 0, both with the frame limiter off (CHAT_USER_RATE=0, its cost is figure 14); in each, ${options.rooms} rooms of two members, each room's sender sending its next message when the last is answered. The two take turns, ${options.windowSeconds} s each after 1 s of warm-up, so a slow spell of the machine moves both halves of a round; the budget is the median of the rounds' ratios. With history off a room message still takes its seq (a BatchGetItem and a TransactWriteItems of the counter and the message id), so the difference is storing the message item.`,
      "CPU: the send-message function's own worker threads (Worker.cpuUsage() of each of its execution environments), not the runtime's main thread (gateway, IAM, dynalite), ÷ the messages answered `sent` in the window. DynamoDB calls: the functions' requests as the runtime's DynamoDB endpoint receives them (the runtime's own calls to dynalite excluded), from before a turn's first send to after its last answer, ÷ the messages answered `sent` in that turn (so a window's edges cut no message in two); cancelled transactions are counted apart. Write units: computed from the sizes of the items each committed TransactWriteItems writes, 2 per started KB per item (the local store does not return ConsumedCapacity for transactions; docs/history.md gives the same computation); cancelled transactions also consume write units on DynamoDB, and are not in this row.",
      `Catch-up: a member leaves a room (closes its socket) and the sender sends ${count(options.missed)} messages, each when the last is answered (so the room is not contended), which a member connected throughout receives. Live is timed from the first send to that member's receipt of the last; catch-up from the absent member's reconnect (new socket, \`join\`) to its last \`history\` page (after its last seq, limit ${PAGE_LIMIT}, until \`joined.seq\`). Each clock runs from the moment the messages could start reaching the client to its holding all of them, which is what a reader waits for either way; the live clock includes sequencing each message, which a client that was connected also waits for. Client CPU is not compared: 10 pages cost a client far less than ${count(options.missed)} frames.`,
      `Hot room: ${options.hotSenders.join(", ")} members of one room (a room per run) each send their next message as soon as the last is answered, whatever the answer (they do not wait out RATE_LIMITED's retryAfterMs), for ${ms(options.hotSeconds * 1000)}; each accepted message goes to the room's other members. Every answer is awaited, then history is read back from seq 1 through the \`history\` route and checked against the \`sent\` replies. The local transaction window (local/services/dynamodb.ts) stands in for DynamoDB's; on AWS the partition's write ceiling (docs/history.md) bounds a room too.`,
    ],
  };
}
