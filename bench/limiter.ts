import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../constructs/bundle";
import { DEFAULT_USER_BURST, DEFAULT_USER_RATE, ENV_USER_BURST, ENV_USER_RATE } from "../handlers/lib/env/contract";
import { count, range } from "./lib/format";
import { RECIPIENT, senderId, TABLE } from "./lib/limiter-services";
import { outputTail, run } from "./lib/process";
import { summarize } from "./lib/stats";
import type { FigureResult } from "./lib/table";

export interface LimiterOptions {
  /** Direct messages per measured run. */
  readonly messages: number;
  /** Measured runs per variant, alternating. */
  readonly runs: number;
}

type Variant = "on" | "off";
const VARIANTS: readonly Variant[] = ["on", "off"];
const WARMUP = 300;
const CONCURRENCY = 8;
/**
 * Senders taking turns: enough that each stays under the default rate at this loop's pace, so every
 * message is allowed and the "on" runs measure the limiter's cost, not its refusals.
 */
const SENDERS = 400;
const CPU_BUDGET = 1.15;
const WRITE_BUDGET = 1;
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

/**
 * Figure 14: what the per-user frame limiter costs a direct message — send-message's CPU, bundled as
 * shipped, and its DynamoDB calls — with the limiter on at the default rate and burst beside the same
 * handler with CHAT_USER_RATE=0 (off), every other check on.
 */
export async function benchLimiter(options: LimiterOptions): Promise<FigureResult> {
  const bundle = join(bundleHandler(join(__dirname, "..", "handlers", "send-message.ts")), BUNDLE_FILE);
  const services = await startServices();
  try {
    const spec = { senders: Array.from({ length: SENDERS }, (_, i) => senderId(i)), recipient: RECIPIENT, messages: options.messages, warmup: WARMUP, concurrency: CONCURRENCY };
    const samples: Record<Variant, Array<{ usPerMessage: number; calls: Record<string, number> }>> = { on: [], off: [] };
    for (let i = 0; i < options.runs; i += 1) {
      for (const variant of VARIANTS) {
        await services.counts();
        const env = {
          PATH: process.env.PATH,
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: "AKIDBENCHLIMITER",
          AWS_SECRET_ACCESS_KEY: "bench-secret",
          AWS_SESSION_TOKEN: "bench-session-token",
          AWS_ENDPOINT_URL_DYNAMODB: services.dynamodb,
          AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: services.connections,
          TABLE_NAME: TABLE,
          [ENV_USER_RATE]: variant === "on" ? String(DEFAULT_USER_RATE) : "0",
          [ENV_USER_BURST]: String(DEFAULT_USER_BURST),
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        };
        const result = await run(process.execPath, [join(__dirname, "lib", "limiter-loop.cjs"), bundle, JSON.stringify(spec)], { env, timeoutMs: 300_000 });
        if (result.code !== 0) throw new Error(`the ${variant} loop failed:\n${outputTail(result)}`);
        const { cpuMs, messages, answers } = JSON.parse(result.stdout.trim().split("\n").pop()!) as { cpuMs: number; messages: number; answers: Record<string, number> };
        if (answers.sent !== messages) throw new Error(`the ${variant} loop's messages were not all sent: ${JSON.stringify(answers)}`);
        const calls = await services.counts();
        const perMessage = Object.fromEntries(Object.entries(calls).map(([operation, n]) => [operation, n / (messages + WARMUP)]));
        samples[variant].push({ usPerMessage: (cpuMs * 1000) / messages, calls: perMessage });
      }
    }
    const cpu = (variant: Variant) => summarize(samples[variant].map((s) => s.usPerMessage));
    const paired = summarize(samples.on.map((s, i) => s.usPerMessage / samples.off[i]!.usPerMessage)).median;
    const calls = (variant: Variant) => {
      const total: Record<string, number> = {};
      for (const sample of samples[variant]) for (const [op, n] of Object.entries(sample.calls)) total[op] = (total[op] ?? 0) + n / samples[variant].length;
      return total;
    };
    const [on, off] = [calls("on"), calls("off")];
    const sum = (c: Record<string, number>, filter: (op: string) => boolean) => Object.entries(c).filter(([op]) => filter(op)).reduce((a, [, n]) => a + n, 0);
    const writes = (c: Record<string, number>) => sum(c, (op) => WRITES.has(op));
    const describe = (c: Record<string, number>) =>
      Object.entries(c)
        .sort()
        .map(([op, n]) => `${op} ${n.toFixed(2)}`)
        .join(", ");
    const us = (value: number) => `${Math.round(value)} µs`;
    const extraWrites = writes(on) - writes(off);
    return {
      title: "14. The per-user frame limiter's cost per direct message (send-message bundled as shipped)",
      oursLabel: `limiter on (${DEFAULT_USER_RATE}/s, burst ${DEFAULT_USER_BURST})`,
      baselineLabel: "limiter off (CHAT_USER_RATE=0)",
      rows: [
        {
          measure: `send-message CPU per direct message, ${options.runs} runs of ${count(options.messages)} (median, range)`,
          ours: range(cpu("on"), us),
          baseline: range(cpu("off"), us),
          budget: `≤ ${CPU_BUDGET}× off`,
          pass: paired <= CPU_BUDGET,
          detail: `${paired.toFixed(2)}× (median of each round's on ÷ off)`,
        },
        {
          measure: "DynamoDB writes per direct message",
          ours: writes(on).toFixed(2),
          baseline: writes(off).toFixed(2),
          budget: `≤ ${WRITE_BUDGET} more`,
          pass: extraWrites <= WRITE_BUDGET + 1e-9,
          detail: `+${extraWrites.toFixed(2)}`,
        },
        { measure: "DynamoDB calls per direct message, by operation", ours: describe(on), baseline: describe(off) },
      ],
      notes: [
        `CPU: process.cpuUsage() of a process that loads send-message's shipped bundle and calls its handler, ${CONCURRENCY} messages in flight, after ${WARMUP} warm-up messages, ÷ the messages; DynamoDB (the local runtime's, dynalite) and the @connections stand-in run in another process, so their CPU is not counted. The variants alternate run by run; the budget takes the median of each round's ratio.`,
        `Each message goes from the next of ${SENDERS} senders (each its own user, as in none mode) to one recipient, so every sender stays under the default rate and every message is answered \`sent\` (checked): the figure is the cost of an allowed frame. Calls are counted at a proxy in front of DynamoDB, warm-up included, ÷ the messages.`,
        "Off means CHAT_USER_RATE=0: nothing then bounds how many frames a user may send, and so how many posts and writes one client can make the operator pay for, but the stage's throttle, which every client shares (docs/limits.md).",
      ],
    };
  } finally {
    services.child.kill();
  }
}

interface Services {
  readonly child: ChildProcess;
  readonly dynamodb: string;
  readonly connections: string;
  /** The calls counted since the last time asked. */
  counts(): Promise<Record<string, number>>;
}

async function startServices(): Promise<Services> {
  const child = fork(join(__dirname, "lib", "limiter-services.ts"), [JSON.stringify({ senders: SENDERS })], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await new Promise<{ dynamodb: string; connections: string }>((resolve, reject) => {
    child.once("message", (message) => resolve(message as { dynamodb: string; connections: string }));
    child.once("exit", (code) => reject(new Error(`the limiter figure's services exited with ${code}`)));
  });
  return {
    child,
    ...ready,
    counts: () =>
      new Promise((resolve) => {
        child.once("message", (message) => resolve((message as { counts: Record<string, number> }).counts));
        child.send("counts");
      }),
  };
}
