import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { ClientPool } from "./lib/clients";
import { bytes, count, ms } from "./lib/format";
import { type CpuTime, type ServerSpec, ServerProcess } from "./lib/server-process";
import { shippedStack } from "./lib/stacks";
import { median, percentile } from "./lib/stats";
import type { FigureResult } from "./lib/table";

export interface CapacityOptions {
  /** Idle connections held open at once (the pairs' clients included). */
  readonly connections: number;
  readonly pairs: number;
  readonly seconds: number;
}

interface Capacity {
  readonly idleRss: number;
  readonly loadedRss: number;
  /** After the messaging: what the messages left behind (the runtime's metrics, logs, caches). */
  readonly messagedRss: number;
  readonly perConnection: number;
  readonly connectMs: number;
  readonly messagesPerSecond: number;
  readonly latencies: readonly number[];
  readonly failed: number;
  /** Server CPU per delivered message while messaging, in ms: all threads, and the main thread alone. */
  readonly cpuPerMessageMs: number;
  readonly mainThreadPerMessageMs?: number;
}

/**
 * The budget: the runtime's server CPU per direct message at most this many times its bare path's (the same
 * threads and calls with none of the AWS emulation), so what it bounds is the runtime's own work per
 * message: verifying, checking, dynalite, the handler, metrics and logs. Both servers run side by side and
 * take turns messaging, a few seconds each, and the budget is the median of each round's ratio: a slow
 * spell of the machine moves both halves of a round. The ratio still rises with contention, so the bound
 * sits above what a loaded machine gives unchanged code (bench/results.md); the relay stays as context,
 * since its throughput is bound by the clients' process and swings with the load.
 */
const MAX_CPU_PER_MESSAGE_VS_BARE_PATH = 8;
/** Rounds of the paired measurement, and how long each server messages in a round. */
const PAIRED_ROUNDS = 5;
const PAIRED_WINDOW_SECONDS = 3;

/**
 * Figure 10: what the local runtime holds and moves, beside a bare `ws` relay (the floor it sits on): RSS
 * per idle connection, then direct messages between pairs of clients while those connections stay open.
 */
export async function benchCapacity(options: CapacityOptions): Promise<FigureResult> {
  const stackDir = await shippedStack();
  const ours = await measure({ kind: "runtime", stackDir }, options);
  const bare = await measure({ kind: "bare-path" }, options);
  const barePort = await measure({ kind: "bare-path", transport: "port" }, options);
  const relay = await measure({ kind: "relay" }, options);
  const paired = await pairedCpuRatios({ kind: "runtime", stackDir }, { kind: "bare-path" }, options.pairs);
  const share = ours.messagesPerSecond / relay.messagesPerSecond;
  const cpuVsBarePath = median(paired);
  const latency = (c: Capacity) => `${ms(percentile(c.latencies, 50))} / ${ms(percentile(c.latencies, 99))}`;
  return {
    title: `10. Runtime capacity (${count(options.connections)} idle connections, ${options.pairs} pairs messaging)`,
    oursLabel: "local runtime",
    baselineLabel: "bare ws relay",
    rows: [
      { measure: "server RSS, warmed up, before the connections", ours: bytes(ours.idleRss), baseline: bytes(relay.idleRss) },
      { measure: `server RSS with ${count(options.connections)} connections`, ours: bytes(ours.loadedRss), baseline: bytes(relay.loadedRss) },
      {
        measure: "RSS per connection",
        ours: bytes(ours.perConnection),
        baseline: bytes(relay.perConnection),
        detail: `${(ours.perConnection / relay.perConnection).toFixed(1)}× the relay`,
      },
      { measure: `time to open ${count(options.connections)} connections`, ours: ms(ours.connectMs), baseline: ms(relay.connectMs) },
      {
        measure: `direct messages per second, ${options.seconds} s`,
        ours: count(ours.messagesPerSecond),
        baseline: count(relay.messagesPerSecond),
        detail: `${(share * 100).toFixed(1)}% of the relay (1 : ${(1 / share).toFixed(0)})`,
      },
      { measure: "p50 / p99 per direct message", ours: latency(ours), baseline: latency(relay) },
      {
        measure: `server RSS after the messaging`,
        ours: bytes(ours.messagedRss),
        baseline: bytes(relay.messagedRss),
        detail: `+${bytes(ours.messagedRss - ours.loadedRss)} against +${bytes(relay.messagedRss - relay.loadedRss)}`,
      },
      {
        measure: "server CPU per direct message, all threads",
        ours: ms(ours.cpuPerMessageMs),
        baseline: ms(relay.cpuPerMessageMs),
        detail: `${(ours.cpuPerMessageMs / bare.cpuPerMessageMs).toFixed(1)}× the bare path's (below), ${(ours.cpuPerMessageMs / relay.cpuPerMessageMs).toFixed(0)}× the relay`,
      },
      {
        measure: "… of which the main thread (gateway, IAM, DynamoDB, @connections)",
        ours: ms(ours.mainThreadPerMessageMs ?? NaN),
        baseline: ms(relay.mainThreadPerMessageMs ?? NaN),
      },
      {
        measure: `server CPU per direct message against the bare path's, the two taking turns (${PAIRED_ROUNDS} rounds of ${PAIRED_WINDOW_SECONDS} s each)`,
        ours: `${cpuVsBarePath.toFixed(1)}×`,
        baseline: "",
        budget: `≤ ${MAX_CPU_PER_MESSAGE_VS_BARE_PATH}× the bare path's`,
        pass: cpuVsBarePath <= MAX_CPU_PER_MESSAGE_VS_BARE_PATH,
        detail: `median of the rounds' ratios (${[...paired].sort((a, b) => a - b).map((r) => r.toFixed(1)).join(", ")})`,
      },
      {
        measure: "direct messages per second through the bare path (the runtime's threads and HTTP calls, none of its AWS)",
        ours: count(bare.messagesPerSecond),
        baseline: count(relay.messagesPerSecond),
        detail: `1 : ${(relay.messagesPerSecond / bare.messagesPerSecond).toFixed(0)} of the relay; the runtime carries ${((ours.messagesPerSecond / bare.messagesPerSecond) * 100).toFixed(0)}% of it`,
      },
      {
        measure: "server CPU per direct message through the bare path",
        ours: ms(bare.cpuPerMessageMs),
        baseline: ms(relay.cpuPerMessageMs),
        detail: `the runtime's AWS and handler add ${ms(ours.cpuPerMessageMs - bare.cpuPerMessageMs)} to it`,
      },
      {
        measure: "… with its two calls on the worker's message port instead of loopback HTTP",
        ours: ms(barePort.cpuPerMessageMs),
        baseline: ms(relay.cpuPerMessageMs),
        detail: `HTTP between the threads is ${ms(bare.cpuPerMessageMs - barePort.cpuPerMessageMs)} of the bare path's ${ms(bare.cpuPerMessageMs)} (${count(barePort.messagesPerSecond)} messages/s)`,
      },
      {
        measure: "direct messages refused or failed",
        ours: count(ours.failed),
        baseline: count(relay.failed),
        detail: `bare path: ${count(bare.failed)}, over the port: ${count(barePort.failed)}`,
      },
    ],
    notes: [
      "Each server runs alone in a child process, so its RSS (process.memoryUsage().rss, all threads) is its own; the clients run in this process. Per connection = (RSS with the connections − RSS before) ÷ the connections opened in between, after a warm-up that starts the runtime's $connect and $default environments. RSS after the messaging is read once the messages in flight have landed; what it adds is what messages leave behind (the runtime keeps its metrics per second, so this levels off instead of growing with every message).",
      `The bare path (bench/lib/bare-path.ts) is the runtime's architecture with nothing on it: each direct message goes to a worker thread, which makes two keep-alive HTTP calls back to the main thread (a read, then the post that sends the frame) and replies, with no SigV4, IAM, DynamoDB, Lambda event, metrics or logs. The runtime's own work (verifying and checking each call, dynalite, the handler's signing, metrics and logs) is the rest of its CPU per message, and the budget bounds it: the runtime's CPU per message at most ${MAX_CPU_PER_MESSAGE_VS_BARE_PATH}× the bare path's. For the budget the two run side by side, each with only the pairs' clients, and take turns messaging; the median of the rounds' ratios is checked, so the machine's speed and its slow spells cancel out. The ratio still rises with contention (each thread wakes for fewer messages at a time), hence the margin over what a quiet machine gives; the relay is context, not a target, since its rate is bound by the clients' process. Run again with the two calls as messages on the worker's port (no HTTP), it measures what carrying the functions' AWS calls that way could save the runtime: about that much, not more, since the runtime's calls would still be signed, verified and checked.`,
      "CPU per message: the server process's CPU time (process.cpuUsage, every thread: the main thread, the functions' worker threads, V8's GC and compiler threads) during the counted seconds ÷ the messages delivered; the main thread's share from /proc. It depends less than messages per second on what else the machine runs, though under heavy contention it rises too (each thread wakes for fewer messages at a time). The rest of the runtime's share is the send-message handler's own work in its worker (a signed BatchGetItem, a signed post, the metrics line) and garbage collection.",
      `Messaging: each pair ping-pongs one direct message (\`{"action":"send-message","to":…}\`), so ${options.pairs} are in flight; counted for ${options.seconds} s after 1 s of warm-up. Through the runtime each one is a send-message invocation (one BatchGetItem of the sender's and the recipient's records, then a signed, IAM-checked @connections POST, and the reply); the relay forwards by id. The clients share one process, which bounds the relay's figure too.`,
    ],
  };
}

async function measure(spec: ServerSpec, options: CapacityOptions): Promise<Capacity> {
  const server = await ServerProcess.start(spec);
  const pool = new ClientPool(server.wsUrl);
  try {
    const pairClients = 2 * options.pairs;
    await pool.grow(pairClients);
    const ids: string[] = [];
    for (let client = 0; client < pairClients; client += 1) ids.push(await pool.connectionId(client));
    await sleep(500);
    const idleRss = await server.rss();

    const started = performance.now();
    await pool.grow(options.connections, 100);
    const connectMs = performance.now() - started;
    await sleep(500);
    const loadedRss = await server.rss();

    const messaging = await pingPong(pool, ids, options.seconds * 1000, () => server.cpu());
    const messagedRss = await server.rss();
    return {
      idleRss,
      loadedRss,
      messagedRss,
      perConnection: (loadedRss - idleRss) / (options.connections - pairClients),
      connectMs,
      ...messaging,
    };
  } finally {
    // Server first: clients closing on a live runtime would each run $disconnect.
    await server.stop();
    pool.closeAll();
  }
}

/**
 * The runtime's CPU per direct message ÷ the bare path's, once per round: both servers up at once with the
 * pairs' clients, messaging in turn, so each round's two measurements are seconds apart.
 */
async function pairedCpuRatios(runtime: ServerSpec, barePath: ServerSpec, pairs: number): Promise<number[]> {
  const servers: ServerProcess[] = [];
  const pools: ClientPool[] = [];
  try {
    const sides: Array<{ server: ServerProcess; pool: ClientPool; ids: string[] }> = [];
    for (const spec of [runtime, barePath]) {
      const server = await ServerProcess.start(spec);
      servers.push(server);
      const pool = new ClientPool(server.wsUrl);
      pools.push(pool);
      await pool.grow(2 * pairs);
      const ids: string[] = [];
      for (let client = 0; client < 2 * pairs; client += 1) ids.push(await pool.connectionId(client));
      sides.push({ server, pool, ids });
    }
    const ratios: number[] = [];
    for (let round = 0; round < PAIRED_ROUNDS; round += 1) {
      const perMessage: number[] = [];
      for (const { server, pool, ids } of sides) perMessage.push((await pingPong(pool, ids, PAIRED_WINDOW_SECONDS * 1000, () => server.cpu())).cpuPerMessageMs);
      ratios.push(perMessage[0]! / perMessage[1]!);
    }
    return ratios;
  } finally {
    for (const server of servers) await server.stop();
    for (const pool of pools) pool.closeAll();
  }
}

/**
 * Clients 2k and 2k+1 are partners: a message to one makes it send the next to the other, so each pair has
 * exactly one in flight. A send the server answers with anything but its `sent` reply is resent.
 */
async function pingPong(pool: ClientPool, ids: readonly string[], measureMs: number, cpu: () => Promise<CpuTime>) {
  const partner = (client: number) => client ^ 1;
  const sentAt = new Map<number, number>();
  let running = true;
  let counting = false;
  let delivered = 0;
  let failed = 0;
  const latencies: number[] = [];
  const sendTo = (to: number) => {
    if (!running) return;
    sentAt.set(to, performance.now());
    pool.send(partner(to), { action: "send-message", to: ids[to], message: "ping" });
  };
  pool.onFrame = (client, frame) => {
    if (frame.type === "message") {
      if (counting) {
        delivered += 1;
        latencies.push(performance.now() - (sentAt.get(client) ?? NaN));
      }
      sendTo(partner(client));
    } else if (frame.type !== "sent") {
      failed += counting ? 1 : 0;
      sendTo(partner(client));
    }
  };
  for (let client = 1; client < ids.length; client += 2) sendTo(client);
  await sleep(1000);
  const cpuBefore = await cpu();
  counting = true;
  const started = performance.now();
  await sleep(measureMs);
  counting = false;
  const elapsed = performance.now() - started;
  const cpuAfter = await cpu();
  const perMessage = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined ? undefined : (after - before) / Math.max(1, delivered);
  running = false;
  // Let the messages in flight land before the server goes.
  await sleep(500);
  pool.onFrame = () => undefined;
  return {
    messagesPerSecond: (delivered / elapsed) * 1000,
    latencies: latencies.sort((a, b) => a - b),
    failed,
    cpuPerMessageMs: perMessage(cpuBefore.processMs, cpuAfter.processMs)!,
    ...(cpuBefore.mainThreadMs === undefined ? {} : { mainThreadPerMessageMs: perMessage(cpuBefore.mainThreadMs, cpuAfter.mainThreadMs) }),
  };
}

