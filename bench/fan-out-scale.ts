import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { readConfig } from "../constructs/config";
import { ClientPool } from "./lib/clients";
import { bytes, count, ms, percent } from "./lib/format";
import { type Reception, Receivers } from "./lib/receivers";
import { scaleStacks } from "./lib/scale-stacks";
import { type CpuTime, type RuntimeEndpoints, ServerProcess } from "./lib/server-process";
import { percentile } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

export interface FanOutScaleOptions {
  /** Recipients per broadcast, growing: the same connections stay open from one size to the next. */
  readonly sizes: readonly number[];
  /** Added to every @connections call by the runtime. */
  readonly latencyMs: number;
  /** The account's @connections rate the runtime enforces (its token bucket holds half a second's worth). */
  readonly accountRate: number;
  /** Settings every stack variant is synthesized with (CHAT_*), beside the shipped defaults. */
  readonly env?: Readonly<Record<string, string>>;
  /** Processes the recipients' connections are spread over. @default 2 */
  readonly receiverProcesses?: number;
}

type Path = "queue" | "inline";

/** How one broadcast went, measured at the sender and the recipients. */
interface Broadcast {
  readonly recipients: number;
  /** From the send-message frame to the sender's reply; undefined when none came. */
  readonly sentMs?: number;
  readonly reply?: Record<string, unknown>;
  readonly reception: Reception;
  /** Each reached recipient's first receipt, ms from the send, sorted. */
  readonly latencies: readonly number[];
  /** Jobs left in the fan-out queue and its dead-letter queue when the broadcast was over. */
  readonly queued: number;
  readonly deadLetters: number;
  /** Consumer invocations that failed (thrown, timed out) and jobs reported back as batch item failures. */
  readonly failedBatches: number;
  readonly retriedJobs: number;
  /** The runtime's CPU time from the send to the last receipt: all threads, and its main thread; and that span. */
  readonly cpu: { readonly processMs: number; readonly mainThreadMs?: number; readonly spanMs: number };
}

interface SizeResult {
  readonly size: number;
  /** Opening this size's new connections: how many, how long. */
  readonly opened: number;
  readonly openMs: number;
  readonly serverRssPerConnection: number;
  readonly receiverRssPerConnection: number;
  readonly broadcast: Broadcast;
}

interface Scenario {
  readonly stackDir: string;
  readonly failureRate: number;
  /** How long receipts may pause before a broadcast counts as over: longer where SQS retries after a visibility timeout. */
  readonly stallMs: number;
}

const LOG_LINES = { failedBatches: "failed a batch of", reported: "reported failed" } as const;
/** Recipients connected first, for a warm-up broadcast that keeps send-message's cold start out of the figures. */
const WARM_UP_RECIPIENTS = 20;

/**
 * Figure 7: one broadcast to N recipients through the local runtime, posted inline by send-message or
 * handed to the fan-out queue and posted by its consumer, with the @connections latency and the account's
 * rate emulated, measured where it lands: real WebSocket connections (each with its $connect) that count
 * the frames they receive by message id.
 */
export async function benchFanOutScale(requested: FanOutScaleOptions): Promise<FigureResult> {
  const options = withinFileLimit(requested);
  const stacks = await scaleStacks(options.env);
  const queue = await run({ stackDir: stacks.queue, failureRate: 0, stallMs: 15_000 }, options);
  const inline = await run({ stackDir: stacks.inline, failureRate: 0, stallMs: 3_000 }, options);
  const shape = fanOutShape(options.env);
  const rows: Row[] = [];
  for (const [index, size] of options.sizes.entries()) {
    const q = queue[index]!;
    const i = inline[index]!;
    const ideal = (path: Path) => Math.max((size / options.accountRate) * 1000, (size * options.latencyMs) / (path === "queue" ? shape.queueConcurrency : shape.inlineConcurrency));
    const label = `${count(size)} recipients`;
    const queueLast = lastReceipt(q.broadcast);
    rows.push(
      {
        measure: `${label}: time to the sender's \`sent\``,
        ours: ms(q.broadcast.sentMs ?? NaN),
        baseline: ms(i.broadcast.sentMs ?? NaN),
        budget: "queue ≤ 3 s",
        pass: q.broadcast.sentMs !== undefined && q.broadcast.sentMs <= 3000,
      },
      {
        measure: `${label}: last receipt (ideal: queue ${ms(ideal("queue"))}, inline ${ms(ideal("inline"))})`,
        ours: ms(queueLast),
        baseline: ms(lastReceipt(i.broadcast)),
        budget: "queue ≤ 1.5× ideal",
        pass: queueLast <= 1.5 * ideal("queue"),
        detail: `${(queueLast / ideal("queue")).toFixed(2)}× ideal`,
      },
      { measure: `${label}: p50 / p99 per recipient`, ours: latencyPercentiles(q.broadcast), baseline: latencyPercentiles(i.broadcast) },
      {
        measure: `${label}: recipients reached (lost)`,
        ours: reached(q.broadcast),
        baseline: reached(i.broadcast),
        budget: "queue 100%, 0 lost",
        pass: q.broadcast.reception.reached === size,
      },
      {
        measure: `${label}: duplicate frames; jobs left in queue / DLQ`,
        ours: `${count(q.broadcast.reception.duplicates)}; ${q.broadcast.queued} / ${q.broadcast.deadLetters}`,
        baseline: `${count(i.broadcast.reception.duplicates)}; –`,
        budget: "0; 0 / 0",
        pass: q.broadcast.reception.duplicates === 0 && q.broadcast.queued === 0 && q.broadcast.deadLetters === 0,
      },
      {
        measure: `${label}: runtime CPU while it fanned out, all threads (main thread)`,
        ours: cpuSummary(q.broadcast),
        baseline: cpuSummary(i.broadcast),
      },
      {
        measure: `${label}: the sender's reply`,
        ours: replySummary(q.broadcast.reply),
        baseline: replySummary(i.broadcast.reply),
      },
      ...connectionRows(label, q, i),
    );
  }
  return {
    title: `7. Fan-out at scale (${options.sizes.map(count).join(" and ")} recipients, ${options.latencyMs} ms per post, account rate ${count(options.accountRate)}/s)`,
    oursLabel: `queue path (jobs of ${shape.jobSize}, batches of ${shape.batchSize}, ≤ ${shape.maximumConcurrency} consumers × ${shape.fanOutConcurrency} posts)`,
    baselineLabel: `inline path (send-message, ${shape.fanOutConcurrency} posts in flight)`,
    rows,
    notes: [
      ...commonNotes(options, shape),
      ...extrapolation(options, queue),
      "Ideal = the greater of N ÷ the account rate and N × latency ÷ the posts in flight (queue: consumers × posts each; inline: one function's). Budgets apply to the queue path; the inline path is expected to stop when send-message's 10 s run out, replying `sent` with `incomplete`, and the row shows what it reached by then.",
    ],
  };
}

/** Figure 8: the queue path again, with 10% of posts answered 429, and with a consumer that fails one batch in ten. */
export async function benchFanOutFaults(requested: FanOutScaleOptions): Promise<FigureResult> {
  const options = withinFileLimit(requested);
  const stacks = await scaleStacks(options.env);
  const throttled = await run({ stackDir: stacks.queue, failureRate: 0.1, stallMs: 15_000 }, options);
  const failing = await run({ stackDir: stacks.failing, failureRate: 0, stallMs: stacks.failingVisibilityMs + 15_000 }, options);
  const shape = fanOutShape(options.env);
  const rows: Row[] = options.sizes.flatMap((size, index): Row[] => {
    const t = throttled[index]!.broadcast;
    const f = failing[index]!.broadcast;
    const label = `${count(size)} recipients`;
    return [
      {
        measure: `${label}: recipients reached (lost)`,
        ours: reached(t),
        baseline: reached(f),
        budget: "100%, 0 lost",
        pass: t.reception.reached === size && f.reception.reached === size,
      },
      {
        measure: `${label}: duplicate frames (same message id again)`,
        ours: count(t.reception.duplicates),
        baseline: count(f.reception.duplicates),
        budget: "0",
        pass: t.reception.duplicates === 0 && f.reception.duplicates === 0 && t.reception.ids.length === 1 && f.reception.ids.length === 1,
      },
      {
        measure: `${label}: jobs in the dead-letter queue (left in the queue)`,
        ours: `${t.deadLetters} (${t.queued})`,
        baseline: `${f.deadLetters} (${f.queued})`,
        budget: "0 (0)",
        pass: t.deadLetters === 0 && f.deadLetters === 0 && t.queued === 0 && f.queued === 0,
      },
      {
        measure: `${label}: failed consumer invocations / jobs reported back for a retry`,
        ours: `${t.failedBatches} / ${t.retriedJobs}`,
        baseline: `${f.failedBatches} / ${f.retriedJobs}`,
      },
      { measure: `${label}: time to \`sent\`; last receipt`, ours: `${ms(t.sentMs ?? NaN)}; ${ms(lastReceipt(t))}`, baseline: `${ms(f.sentMs ?? NaN)}; ${ms(lastReceipt(f))}` },
      { measure: `${label}: p50 / p99 per recipient`, ours: latencyPercentiles(t), baseline: latencyPercentiles(f) },
    ];
  });
  return {
    title: `8. Fan-out at scale with faults (queue path, ${options.sizes.map(count).join(" and ")} recipients)`,
    oursLabel: "10% of posts answered 429",
    baselineLabel: `consumer fails 1 batch in 10 (hidden ${ms(stacks.failingVisibilityMs)})`,
    rows,
    notes: [
      ...commonNotes(options, shape),
      "429s: the runtime refuses each post at random (managementFailureRate 0.1) on top of the account's rate; the consumer retries a throttled post with backoff and reports the job back to SQS only for recipients still throttled, recording who they are so the retry posts to them alone.",
      "Failing consumer: a copy of the stack whose fan-out-worker bundle is wrapped by one that throws before posting anything for the 1st, 11th, 21st, ... batch of each message on its first receive (bench/lib/scale-stacks.ts; nothing shipped knows about it). Its timeout is 20 s and the queue's visibility timeout 20 s (the least Lambda accepts), so the failed batch is received again within the run; every recipient must get the message once.",
    ],
  };
}

interface FanOutShape {
  readonly jobSize: number;
  readonly batchSize: number;
  readonly maximumConcurrency: number;
  readonly fanOutConcurrency: number;
  readonly inlineLimit: number;
  readonly inlineConcurrency: number;
  readonly queueConcurrency: number;
}

function fanOutShape(env: Readonly<Record<string, string>> = {}): FanOutShape {
  const config = readConfig(env, { localRuntime: true });
  return {
    jobSize: config.fanOut.jobSize,
    batchSize: config.fanOut.batchSize,
    maximumConcurrency: config.fanOut.consumerConcurrency,
    fanOutConcurrency: config.fanOut.postsInFlight,
    inlineLimit: config.fanOut.inlineLimit,
    inlineConcurrency: config.fanOut.postsInFlight,
    queueConcurrency: config.fanOut.consumerConcurrency * config.fanOut.postsInFlight,
  };
}

/** Where the largest size asked for could not be measured: what the measured ones say it would take. */
function extrapolation(options: ReturnType<typeof withinFileLimit>, queue: readonly SizeResult[]): string[] {
  if (!options.lowered || queue.length === 0) return [];
  const largest = queue[queue.length - 1]!;
  const ratio = lastReceipt(largest.broadcast) / ((largest.size / options.accountRate) * 1000);
  const estimate = (options.lowered.from / options.accountRate) * 1000 * ratio;
  return [
    `The queue path is bound by the account's rate, so its time grows with N: at ${count(largest.size)} it took ${ratio.toFixed(2)}× N ÷ rate, which for ${count(options.lowered.from)} would be about ${ms(estimate)} (an estimate, not a measurement). Opening ${count(options.lowered.from)} connections at the rate measured (${count((largest.opened / largest.openMs) * 1000)}/s) would take ~${ms((options.lowered.from / largest.opened) * largest.openMs)} and ~${bytes(options.lowered.from * largest.serverRssPerConnection)} of the runtime's memory.`,
  ];
}

/** Sockets the runtime and the receivers need beside the recipients' (functions' keep-alive connections, dynalite, IPC). */
const FILE_HEADROOM = 1500;
/** Recipients per receivers process, well within any process's file limit. */
const PER_RECEIVERS_PROCESS = 10_000;

/**
 * The runtime holds one socket per connection in one process, so the largest audience is bounded by the
 * process's open-file limit (`ulimit -Hn`; raising it needs CAP_SYS_RESOURCE). Sizes above it are lowered
 * to it, and the figure says so.
 */
function withinFileLimit(options: FanOutScaleOptions): FanOutScaleOptions & { readonly lowered?: { readonly from: number; readonly fileLimit: number } } {
  const fileLimit = openFileLimit();
  const largest = Math.floor((fileLimit - FILE_HEADROOM) / 1000) * 1000;
  const sizes = [...new Set(options.sizes.map((size) => Math.min(size, largest)))];
  const receiverProcesses = options.receiverProcesses ?? Math.max(2, Math.ceil(Math.max(...sizes) / PER_RECEIVERS_PROCESS));
  const requested = Math.max(...options.sizes);
  return { ...options, sizes, receiverProcesses, ...(requested > largest && { lowered: { from: requested, fileLimit } }) };
}

/** The hard limit on open files of this process (and so of the runtime it starts), from /proc on Linux. */
function openFileLimit(): number {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const hard = line?.trim().split(/\s{2,}/)[2];
    return hard === undefined || hard === "unlimited" ? Number.POSITIVE_INFINITY : Number(hard);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function commonNotes(options: FanOutScaleOptions & { readonly lowered?: { readonly from: number; readonly fileLimit: number } }, shape: FanOutShape): string[] {
  return [
    ...(options.lowered
      ? [
          `${count(options.lowered.from)} recipients were asked for; the runtime holds a socket per connection in one process, and a process may open at most ${count(options.lowered.fileLimit)} files here (the hard limit, which only CAP_SYS_RESOURCE can raise), so ${count(Math.max(...options.sizes))} is the largest audience measured.`,
        ]
      : []),
    `The runtime (a child process) adds ${options.latencyMs} ms to every @connections call and enforces an account rate of ${count(options.accountRate)} posts/s (a token bucket of ${count(options.accountRate / 2)}, AWS's burst-to-rate proportion): a rate this 2-core machine sustains, so the rate and not the CPU bounds the queue path, as AWS's 10,000/s does there. The stack is the shipped one (inline limit ${count(shape.inlineLimit)}, jobs of ${shape.jobSize}, batches of ${shape.batchSize}, at most ${shape.maximumConcurrency} consumer invocations, ${shape.fanOutConcurrency} posts in flight each)${options.env && Object.keys(options.env).length ? ` with ${Object.entries(options.env).map(([k, v]) => `${k}=${v}`).join(", ")}` : ""}.`,
    `Recipients are real WebSocket connections, each opened with the stack's own $connect, in ${options.receiverProcesses ?? 2} child processes that only count frames: "reached" is the connections that received the message (by its text), deduplicated by message id, counted where it arrived; the sender is one more connection in this process. Times are from the sender's frame.`,
  ];
}

/** Opens the connections size by size and broadcasts once at each size. */
async function run(scenario: Scenario, options: FanOutScaleOptions): Promise<SizeResult[]> {
  const server = await ServerProcess.start({
    kind: "runtime",
    stackDir: scenario.stackDir,
    managementLatencyMs: options.latencyMs,
    managementFailureRate: scenario.failureRate,
    accountThrottle: { ratePerSecond: options.accountRate, burst: options.accountRate / 2 },
    countLines: [LOG_LINES.failedBatches, LOG_LINES.reported],
  });
  const sender = new ClientPool(server.wsUrl);
  const groups: Receivers[] = [];
  const results: SizeResult[] = [];
  try {
    await sender.grow(1);
    const warmUp = await Receivers.open(server.wsUrl, WARM_UP_RECIPIENTS, { processes: 1 });
    groups.push(warmUp.receivers);
    await broadcast(server, sender, groups, "warm-up", scenario);
    let opened = WARM_UP_RECIPIENTS;
    for (const size of options.sizes) {
      const serverBefore = await server.rss();
      const receiversBefore = await rssOf(groups);
      const adding = size - opened;
      const group = await Receivers.open(server.wsUrl, adding, { processes: options.receiverProcesses ?? 2 });
      groups.push(group.receivers);
      opened = size;
      await sleep(1000);
      const serverAfter = await server.rss();
      const receiversAfter = await rssOf(groups);
      const result = await broadcast(server, sender, groups, `at scale ${size}`, scenario);
      results.push({
        size,
        opened: adding,
        openMs: group.openMs,
        serverRssPerConnection: (serverAfter - serverBefore) / adding,
        receiverRssPerConnection: (receiversAfter - receiversBefore) / adding,
        broadcast: result,
      });
    }
    return results;
  } finally {
    // Server first: connections closing on a live runtime would each run $disconnect.
    await server.stop();
    sender.closeAll();
    for (const group of groups) group.close();
  }
}

async function rssOf(groups: readonly Receivers[]): Promise<number> {
  let total = 0;
  for (const group of groups) total += await group.rss();
  return total;
}

/**
 * The sender broadcasts a message with a unique text; the broadcast is over once every recipient has it
 * and the sender has its reply (and a second for late duplicates), or once receipts have paused for the
 * scenario's stall time after the reply.
 */
async function broadcast(server: ServerProcess, sender: ClientPool, groups: readonly Receivers[], label: string, scenario: Scenario): Promise<Broadcast> {
  const recipients = groups.reduce((sum, group) => sum + group.count, 0);
  const text = `${label} ${Date.now()}`;
  const countsBefore = await server.counts();
  const cpuBefore = await server.cpu();
  let reply: Record<string, unknown> | undefined;
  let sentMs: number | undefined;
  const started = performance.timeOrigin + performance.now();
  const replied = sender.next(0, (frame) => frame.type !== "message", 120_000).then((frame) => {
    reply = frame;
    sentMs = performance.timeOrigin + performance.now() - started;
  }, () => undefined);
  sender.send(0, { action: "send-message", message: text });

  let lastReached = -1;
  let lastChange = performance.now();
  let cpuAtEnd: CpuTime | undefined;
  for (;;) {
    await sleep(250);
    const progress = await progressOf(groups, text);
    if (progress.reached !== lastReached) {
      lastReached = progress.reached;
      lastChange = performance.now();
    }
    if (reply && progress.reached === recipients) {
      cpuAtEnd ??= await server.cpu();
      await sleep(1000);
      break;
    }
    if (reply && performance.now() - lastChange > scenario.stallMs) break;
    if (!reply && performance.now() - lastChange > 120_000) break;
  }
  cpuAtEnd ??= await server.cpu();
  const cpuSpanMs = performance.timeOrigin + performance.now() - started;
  await replied;
  const receptions = await Promise.all(groups.map((group) => group.reception(text)));
  const reception: Reception = {
    reached: receptions.reduce((sum, r) => sum + r.reached, 0),
    duplicates: receptions.reduce((sum, r) => sum + r.duplicates, 0),
    ids: [...new Set(receptions.flatMap((r) => r.ids))],
    times: receptions.flatMap((r) => r.times),
  };
  const countsAfter = await server.counts();
  const depths = server.endpoints ? await queueDepths(server.endpoints) : { queued: 0, deadLetters: 0 };
  return {
    recipients,
    ...(sentMs === undefined ? {} : { sentMs }),
    ...(reply ? { reply } : {}),
    reception,
    latencies: reception.times.map((t) => t - started).sort((a, b) => a - b),
    ...depths,
    failedBatches: countsAfter[0]! - countsBefore[0]!,
    retriedJobs: countsAfter[1]! - countsBefore[1]!,
    cpu: {
      processMs: cpuAtEnd.processMs - cpuBefore.processMs,
      ...(cpuAtEnd.mainThreadMs !== undefined && cpuBefore.mainThreadMs !== undefined && { mainThreadMs: cpuAtEnd.mainThreadMs - cpuBefore.mainThreadMs }),
      spanMs: cpuSpanMs,
    },
  };
}

async function progressOf(groups: readonly Receivers[], text: string): Promise<{ reached: number }> {
  const all = await Promise.all(groups.map((group) => group.progress(text)));
  return { reached: all.reduce((sum, p) => sum + p.reached, 0) };
}

/** Messages (visible or in flight) in the fan-out queue and in its dead-letter queue, through the runtime's SQS. */
async function queueDepths(endpoints: RuntimeEndpoints): Promise<{ queued: number; deadLetters: number }> {
  const sqs = new SQSClient({ endpoint: endpoints.sqsEndpoint, region: endpoints.region, credentials: endpoints.adminCredentials, maxAttempts: 1 });
  try {
    const depth = async (url: string) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
      );
      return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    };
    const dlq = endpoints.queues.find((q) => q.name.endsWith("-dlq"));
    const main = endpoints.queues.find((q) => !q.name.endsWith("-dlq"));
    return { queued: main ? await depth(main.url) : 0, deadLetters: dlq ? await depth(dlq.url) : 0 };
  } finally {
    sqs.destroy();
  }
}

function lastReceipt(run: Broadcast): number {
  return run.latencies.length === 0 ? NaN : run.latencies[run.latencies.length - 1]!;
}

function latencyPercentiles(run: Broadcast): string {
  return `${ms(percentile(run.latencies, 50))} / ${ms(percentile(run.latencies, 99))}`;
}

function reached(run: Broadcast): string {
  const { reached: got } = run.reception;
  return `${percent(got / run.recipients)} (${count(run.recipients - got)} lost)`;
}

function replySummary(reply: Record<string, unknown> | undefined): string {
  if (!reply) return "none";
  if (reply.type !== "sent") return `${String(reply.type ?? "")} ${String(reply.code ?? reply.message ?? "")}`.trim();
  const parts = [`delivered ${count(Number(reply.delivered ?? 0))}`];
  if (reply.queued !== undefined) parts.push(`queued ${count(Number(reply.queued))}`);
  if (Number(reply.failed)) parts.push(`failed ${count(Number(reply.failed))}`);
  if (reply.incomplete) parts.push("incomplete");
  return parts.join(", ");
}

/** CPU seconds over the broadcast's span, as cores busy; then per post. */
function cpuSummary(run: Broadcast): string {
  const { processMs, mainThreadMs, spanMs } = run.cpu;
  const cores = (cpu: number) => (cpu / spanMs).toFixed(2);
  const perPost = run.reception.reached > 0 ? ` = ${ms(processMs / run.reception.reached)}/post` : "";
  return `${cores(processMs)} cores${mainThreadMs === undefined ? "" : ` (${cores(mainThreadMs)})`}${perPost}`;
}

function connectionRows(label: string, q: SizeResult, i: SizeResult): Row[] {
  const rate = (r: SizeResult) => `${ms(r.openMs)} (${count((r.opened / r.openMs) * 1000)}/s)`;
  return [
    { measure: `${label}: opening ${count(q.opened)} more connections, each with its $connect`, ours: rate(q), baseline: rate(i) },
    {
      measure: `${label}: memory per connection (runtime; receivers)`,
      ours: `${bytes(q.serverRssPerConnection)}; ${bytes(q.receiverRssPerConnection)}`,
      baseline: `${bytes(i.serverRssPerConnection)}; ${bytes(i.receiverRssPerConnection)}`,
    },
  ];
}
