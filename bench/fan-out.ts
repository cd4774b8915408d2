import { performance } from "node:perf_hooks";
import { readConfig } from "../constructs/config";
import { DEFAULT_POST_RETRY } from "../handlers/lib/fan-out/fan-out";
import { ClientPool } from "./lib/clients";
import { count, ms, percent, range, runs } from "./lib/format";
import { ServerProcess } from "./lib/server-process";
import { FAN_OUT_INLINE_LIMIT, fanOutStacks, type Stacks } from "./lib/stacks";
import { percentile, summarize } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

type Variant = "ours" | "baseline";
const VARIANTS: readonly Variant[] = ["ours", "baseline"];
/** How long stragglers may still arrive after the sender's reply. */
const GRACE_MS = 2000;
/** Past the function's timeout (10 s) and API Gateway's (29 s): a broadcast never waits longer. */
const BROADCAST_TIMEOUT_MS = 35_000;

/** One broadcast from client 0 to every other client. */
interface Broadcast {
  readonly recipients: number;
  /** Latency of each recipient that got the message, in ms from the send. */
  readonly latencies: readonly number[];
  /** Recipients the sender's `sent` reply says were handed to the fan-out queue (the figures measure the inline path: 0). */
  readonly queued: number;
}

interface Scenario {
  readonly latencyMs: number;
  readonly failureRate: number;
}

export interface FanOutOptions {
  /** Recipients per broadcast, growing: the same clients stay connected from one size to the next. */
  readonly sizes: readonly number[];
  readonly latenciesMs: readonly number[];
  /** Measured broadcasts per size, after two warm-up broadcasts per runtime. */
  readonly repeats: number;
}

/**
 * Figure 5: a broadcast through the local runtime (a child process) to N connected clients, from the
 * send-message frame to each recipient's receipt, with the management API's per-call latency set on the
 * runtime. Ours is the synthesized stack with its inline limit raised above every size (bench/lib/stacks.ts),
 * so send-message posts to every recipient itself, as the tutorial does; above the shipped limit (1,000) the
 * stack would hand the broadcast to the fan-out queue, which figure 7 (fan-out-scale.ts) measures. The
 * baseline is a copy of that stack whose send-message bundle is bench/baseline/send-message.ts (the
 * tutorial's fan-out).
 */
export async function benchFanOut(options: FanOutOptions): Promise<FigureResult> {
  checkInline(options.sizes);
  const stacks = await fanOutStacks();
  const concurrency = readConfig(process.env, { localRuntime: true }).fanOut.postsInFlight;
  const rows: Row[] = [];
  for (const latencyMs of options.latenciesMs) {
    const results = await bothVariants(stacks, { latencyMs, failureRate: 0 }, options.sizes, options.repeats);
    for (const size of options.sizes) {
      const [ours, baseline] = VARIANTS.map((variant) => results[variant].get(size) ?? []);
      const ideal = (size * latencyMs) / concurrency;
      const oursLast = summarize(ours.map(lastReceipt));
      const label = `${count(size)} recipients, ${latencyMs} ms/call`;
      rows.push(
        {
          measure: `${label}: last receipt (${runs(ours.length)})`,
          ours: range(oursLast, ms),
          baseline: range(summarize(baseline.map(lastReceipt)), ms),
          ...(latencyMs > 0 && {
            budget: `≤ 2× ideal (${ms(ideal)})`,
            pass: oursLast.median <= 2 * ideal,
            detail: `${(oursLast.median / ideal).toFixed(2)}× ideal`,
          }),
        },
        { measure: `${label}: p50 / p99 per recipient`, ours: latencyPercentiles(ours), baseline: latencyPercentiles(baseline) },
        reachedRow(`${label}: recipients reached`, ours, baseline),
      );
    }
  }
  return {
    title: "5. Fan-out (send-message to every connection, through the local runtime)",
    oursLabel: "ours (paged, bounded, retries)",
    baselineLabel: "tutorial (one Scan, Promise.all)",
    rows,
    notes: [
      `Ideal = N × latency ÷ concurrency, with the stack's fan-out concurrency ${concurrency}. Last receipt: from the sender's frame to the last recipient's receipt; per-recipient percentiles pool every measured run; "reached" is the worst run.`,
      "The runtime (local/runtime.ts) runs in a child process; the clients in this one. Each runtime gets two discarded warm-up broadcasts first, so neither the function's cold start nor V8 warming up the SDK's code is measured; the same clients stay connected from one size to the next.",
      "With no added latency both fan-outs are CPU-bound on this machine (each post costs the function's worker a few hundred µs of signing and HTTP, figure 9, and the tutorial's SDK client more than twice that; the runtime verifies each signature and evaluates IAM), which is why 20 ms per call costs little more than 0 ms.",
      INLINE_NOTE,
      BASELINE_NOTE,
    ],
  };
}

/** Figure 6: the same broadcast while the management API answers 10% of calls with 429. */
export async function benchThrottling(options: FanOutOptions & { readonly failureRate: number }): Promise<FigureResult> {
  checkInline(options.sizes);
  const stacks = await fanOutStacks();
  const latencyMs = Math.max(...options.latenciesMs);
  const results = await bothVariants(stacks, { latencyMs, failureRate: options.failureRate }, options.sizes, options.repeats);
  const rows = options.sizes.flatMap((size): Row[] => {
    const [ours, baseline] = VARIANTS.map((variant) => results[variant].get(size) ?? []);
    const label = `${count(size)} recipients, ${percent(options.failureRate)} refused`;
    return [
      reachedRow(`${label}: recipients reached`, ours, baseline),
      {
        measure: `${label}: last receipt`,
        ours: range(summarize(ours.map(lastReceipt)), ms),
        baseline: range(summarize(baseline.map(lastReceipt)), ms),
      },
    ];
  });
  const attempts = DEFAULT_POST_RETRY.maxAttempts;
  return {
    title: `6. Throttling (${percent(options.failureRate)} of @connections calls answered 429, ${latencyMs} ms/call)`,
    oursLabel: `ours (backoff, ${attempts} attempts)`,
    baselineLabel: "tutorial (SDK default retries)",
    rows,
    notes: [
      `The runtime refuses each call at random (managementFailureRate), so one run per size. Ours retries a throttled post with backoff, ${attempts} attempts in all: a recipient is lost only after ${attempts} refusals in a row (p = ${options.failureRate}^${attempts} per recipient). The baseline has the SDK's default 3 attempts (p = ${options.failureRate}^3) and only logs the loss.`,
      INLINE_NOTE,
      BASELINE_NOTE,
    ],
  };
}

const INLINE_NOTE =
  `Both stacks are synthesized with CHAT_INLINE_FANOUT_LIMIT=${FAN_OUT_INLINE_LIMIT} (its maximum; the shipped default is 1,000), so every size here is posted inline by send-message, the path the tutorial has; with the default, audiences above 1,000 go to the fan-out queue, measured in figure 7 (Fan-out at scale).`;
const BASELINE_NOTE =
  "The baseline is a copy of that stack whose send-message asset holds the bundle of bench/baseline/send-message.ts, the tutorial's handler ported to this table: a Scan of the connection records (sk = meta) followed through its pages (a page stops after 1 MB read before the filter: ~3,000 connections here, where the tutorial's one-item-per-connection table fits over 25,000 in its one page), then Promise.all of PostToConnection with the SDK's ApiGatewayManagementApiClient. The copy's role also gets dynamodb:Scan on the table, which the shipped stack never needs. Like the tutorial it posts to the sender too; the sender is not counted as a recipient.";

/** The figures measure send-message's inline path: every size must be within the stacks' inline limit. */
function checkInline(sizes: readonly number[]): void {
  const largest = Math.max(...sizes);
  if (largest > FAN_OUT_INLINE_LIMIT) {
    throw new Error(`${largest} recipients is above the fan-out stacks' inline limit (${FAN_OUT_INLINE_LIMIT}): send-message would queue them, and this figure measures the inline path`);
  }
}

/** The worst run's share of recipients reached. */
function reachedRow(measure: string, ours: readonly Broadcast[], baseline: readonly Broadcast[]): Row {
  const share = (run: Broadcast) => run.latencies.length / run.recipients;
  const worst = (results: readonly Broadcast[]) => results.reduce((a, b) => (share(a) <= share(b) ? a : b));
  const reached = (run: Broadcast) => `${percent(share(run))} (${count(run.latencies.length)}/${count(run.recipients)})`;
  return { measure, ours: reached(worst(ours)), baseline: reached(worst(baseline)), budget: "100%", pass: share(worst(ours)) === 1 };
}

function lastReceipt(run: Broadcast): number {
  return run.latencies.length === 0 ? NaN : Math.max(...run.latencies);
}

function latencyPercentiles(results: readonly Broadcast[]): string {
  const all = results.flatMap((run) => run.latencies).sort((a, b) => a - b);
  return `${ms(percentile(all, 50))} / ${ms(percentile(all, 99))}`;
}

async function bothVariants(
  stackDirs: Stacks,
  scenario: Scenario,
  sizes: readonly number[],
  repeats: number,
): Promise<Record<Variant, Map<number, Broadcast[]>>> {
  return {
    ours: await broadcasts(stackDirs.ours, scenario, sizes, repeats),
    baseline: await broadcasts(stackDirs.baseline, scenario, sizes, repeats),
  };
}

/** Starts a runtime for the scenario, then for each size connects clients up to it and broadcasts. */
async function broadcasts(stackDir: string, scenario: Scenario, sizes: readonly number[], repeats: number): Promise<Map<number, Broadcast[]>> {
  const server = await ServerProcess.start({
    kind: "runtime",
    stackDir,
    managementLatencyMs: scenario.latencyMs,
    managementFailureRate: scenario.failureRate,
  });
  const pool = new ClientPool(server.wsUrl);
  const results = new Map<number, Broadcast[]>();
  try {
    for (const [index, size] of sizes.entries()) {
      await pool.grow(size + 1);
      // Two discarded broadcasts first: neither the function's cold start nor V8 warming up the SDK's code
      // is what a busy chat sees.
      if (index === 0) for (const warmUp of [1, 2]) await broadcast(pool, size, `warm-up ${warmUp}`);
      const runs: Broadcast[] = [];
      for (let i = 0; i < repeats; i += 1) runs.push(await broadcast(pool, size, `bench ${size} #${i}`));
      const queued = runs.find((run) => run.queued > 0);
      if (queued) throw new Error(`send-message queued ${queued.queued} of ${size} recipients: this figure measures the inline path`);
      results.set(size, runs);
    }
    return results;
  } finally {
    // Server first: clients closing on a live runtime would each run $disconnect.
    await server.stop();
    pool.closeAll();
  }
}

/**
 * Client 0 sends to everyone; clients 1..N record when the message reaches them. Ends when everyone has it
 * and the sender has its reply, or a little after the reply, or at the latest after BROADCAST_TIMEOUT_MS.
 */
function broadcast(pool: ClientPool, recipients: number, message: string): Promise<Broadcast> {
  return new Promise((resolve) => {
    const latencies: number[] = [];
    const seen = new Set<number>();
    let replied = false;
    let queued = 0;
    const finish = () => {
      clearTimeout(timeout);
      clearTimeout(grace);
      pool.onFrame = () => undefined;
      resolve({ recipients, latencies, queued });
    };
    const timeout = setTimeout(finish, BROADCAST_TIMEOUT_MS);
    let grace: NodeJS.Timeout | undefined;
    const started = performance.now();
    pool.onFrame = (client, frame) => {
      if (client === 0) {
        // The baseline posts to the sender too; anything else the sender gets is its reply.
        if (frame.type === "message") return;
        replied = true;
        if (typeof frame.queued === "number") queued = frame.queued;
        if (latencies.length === recipients) finish();
        else grace ??= setTimeout(finish, GRACE_MS);
      } else if (frame.type === "message" && frame.message === message && !seen.has(client)) {
        seen.add(client);
        latencies.push(performance.now() - started);
        if (latencies.length === recipients && replied) finish();
      }
    };
    pool.send(0, { action: "send-message", message });
  });
}
