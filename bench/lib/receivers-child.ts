/**
 * Child-process entry for the fan-out-at-scale figure: opens `count` real WebSocket connections to the
 * runtime (each one a handshake with its $connect) and only counts what they receive, so tens of thousands
 * of recipients cost this process little and the parent's measuring is not slowed by them.
 *   node --import tsx bench/lib/receivers-child.ts '<ReceiversSpec as JSON>'
 * Talks to the parent (receivers.ts) over IPC. Times are epoch milliseconds (performance.timeOrigin +
 * performance.now()), comparable across processes.
 */
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";
import type { ReceiversCommand, ReceiversReply, ReceiversSpec } from "./receivers";

const spec = JSON.parse(process.argv[2] ?? "{}") as ReceiversSpec;
const sockets: WebSocket[] = [];
const now = () => performance.timeOrigin + performance.now();

/** One broadcast, told apart by its text: when each connection first got it, and what came again. */
interface Tally {
  readonly first: Float64Array;
  reached: number;
  /** Frames of the same message id a connection had already received. */
  duplicates: number;
  readonly ids: Set<string>;
  lastAt: number;
}
const tallies = new Map<string, Tally>();
let otherFrames = 0;

function receive(index: number, data: Buffer): void {
  let frame: { type?: unknown; id?: unknown; message?: unknown };
  try {
    frame = JSON.parse(data.toString("utf8")) as typeof frame;
  } catch {
    otherFrames += 1;
    return;
  }
  if (frame.type !== "message" || typeof frame.message !== "string" || typeof frame.id !== "string") {
    otherFrames += 1;
    return;
  }
  let tally = tallies.get(frame.message);
  if (!tally) tallies.set(frame.message, (tally = { first: new Float64Array(spec.count).fill(NaN), reached: 0, duplicates: 0, ids: new Set(), lastAt: 0 }));
  tally.ids.add(frame.id);
  // A connection gets one message id once; the same id again is a duplicate on screen (a client drops it by id).
  if (Number.isNaN(tally.first[index]!)) {
    tally.first[index] = now();
    tally.reached += 1;
    tally.lastAt = tally.first[index]!;
  } else {
    tally.duplicates += 1;
  }
}

function open(index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(spec.url, { perMessageDeflate: false, ...(spec.localAddress ? { localAddress: spec.localAddress } : {}) });
    socket.on("message", (data: Buffer) => receive(index, data));
    socket.once("open", () => {
      sockets[index] = socket;
      resolve();
    });
    socket.once("error", (error) => reject(new Error(`receiver ${index} could not connect: ${error.message}`)));
    socket.once("unexpected-response", (_request, response) => reject(new Error(`receiver ${index} was refused: HTTP ${response.statusCode}`)));
  });
}

async function openAll(): Promise<number> {
  const started = now();
  let next = 0;
  const opener = async () => {
    while (next < spec.count) await open(next++);
  };
  await Promise.all(Array.from({ length: Math.min(spec.parallel, spec.count) }, opener));
  return now() - started;
}

function reply(message: ReceiversReply): void {
  process.send?.(message);
}

process.on("message", (command: ReceiversCommand) => {
  switch (command.type) {
    case "open":
      openAll().then(
        (ms) => reply({ type: "opened", ms }),
        (error: Error) => reply({ type: "failed", message: error.message }),
      );
      return;
    case "progress": {
      const tally = tallies.get(command.message);
      return reply({ type: "progress", reached: tally?.reached ?? 0, duplicates: tally?.duplicates ?? 0, lastAt: tally?.lastAt ?? 0 });
    }
    case "result": {
      const tally = tallies.get(command.message);
      const times = tally ? Array.from(tally.first).filter((t) => !Number.isNaN(t)) : [];
      return reply({ type: "result", reached: tally?.reached ?? 0, duplicates: tally?.duplicates ?? 0, ids: [...(tally?.ids ?? [])], times, otherFrames });
    }
    case "rss":
      return reply({ type: "rss", bytes: process.memoryUsage().rss });
    case "close":
      for (const socket of sockets) socket?.terminate();
      process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
reply({ type: "ready" });
