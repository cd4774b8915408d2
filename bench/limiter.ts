import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../constructs/bundle";
import { DEFAULT_USER_BURST, DEFAULT_USER_RATE, ENV_MAX_ROOMS_PER_CONNECTION, ENV_USER_BURST, ENV_USER_RATE } from "../handlers/lib/env/contract";
import { count, range } from "./lib/format";
import { RECIPIENT, senderId, TABLE } from "./lib/limiter-services";
import { outputTail, run } from "./lib/process";
import { summarize } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

export interface LimiterOptions {
  /** Frames of each route per measured run. */
  readonly messages: number;
  /** Measured runs per route and variant, alternating. */
  readonly runs: number;
}

type Variant = "on" | "off";
const VARIANTS: readonly Variant[] = ["on", "off"];
/**
 * The routes measured: a direct message, the cheapest frame there is (one read, one post, no write of its
 * own), and a join, whose transaction the bucket's write rides in (docs/limits.md).
 */
type Route = "send-message" | "join";
const ROUTES: Readonly<Record<Route, { readonly answer: string; readonly frame: string }>> = {
  "send-message": { answer: "sent", frame: "direct message" },
  join: { answer: "joined", frame: "join" },
};
const WARMUP = 300;
const CONCURRENCY = 8;
/**
 * Senders taking turns: enough that each stays under the default rate at this loop's pace, so every
 * frame is allowed and the "on" runs measure the limiter's cost, not its refusals.
 */
const SENDERS = 400;
/** Every join is of a room of its own, so a sender joins more rooms than the default cap over the runs. */
const ROOMS_PER_CONNECTION = 10_000;
const CPU_BUDGET = 1.15;
const WRITE_BUDGET = 1;
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

type Sample = { usPerFrame: number; calls: Record<string, number> };

/**
 * Figure 14: what the per-user frame limiter costs a frame — the route's CPU, bundled as shipped, and its
 * DynamoDB calls — with the limiter on at the default rate and burst beside the same handler with
 * CHAT_USER_RATE=0 (off), every other check on: a direct message, and a join.
 */
export async function benchLimiter(options: LimiterOptions): Promise<FigureResult> {
  const routes = Object.keys(ROUTES) as Route[];
  const bundles = Object.fromEntries(routes.map((route) => [route, join(bundleHandler(join(__dirname, "..", "handlers", `${route}.ts`)), BUNDLE_FILE)])) as Record<Route, string>;
  const services = await startServices();
  try {
    const samples: Record<Route, Record<Variant, Sample[]>> = { "send-message": { on: [], off: [] }, join: { on: [], off: [] } };
    // Joins continue the room numbering run after run, so every join is the first of its room.
    let firstRoom = 0;
    for (let i = 0; i < options.runs; i += 1) {
      for (const route of routes) {
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
            [ENV_MAX_ROOMS_PER_CONNECTION]: String(ROOMS_PER_CONNECTION),
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          };
          const spec = {
            route,
            senders: Array.from({ length: SENDERS }, (_, n) => senderId(n)),
            recipient: RECIPIENT,
            messages: options.messages,
            warmup: WARMUP,
            concurrency: CONCURRENCY,
            firstRoom,
          };
          if (route === "join") firstRoom += options.messages + WARMUP;
          const result = await run(process.execPath, [join(__dirname, "lib", "limiter-loop.cjs"), bundles[route], JSON.stringify(spec)], { env, timeoutMs: 300_000 });
          if (result.code !== 0) throw new Error(`the ${route} ${variant} loop failed:\n${outputTail(result)}`);
          const { cpuMs, messages, answers } = JSON.parse(result.stdout.trim().split("\n").pop()!) as { cpuMs: number; messages: number; answers: Record<string, number> };
          if (answers[ROUTES[route].answer] !== messages) throw new Error(`the ${route} ${variant} loop's frames were not all answered ${ROUTES[route].answer}: ${JSON.stringify(answers)}`);
          const calls = await services.counts();
          const perFrame = Object.fromEntries(Object.entries(calls).map(([operation, n]) => [operation, n / (messages + WARMUP)]));
          samples[route][variant].push({ usPerFrame: (cpuMs * 1000) / messages, calls: perFrame });
        }
      }
    }
    return {
      title: "14. The per-user frame limiter's cost per frame: a direct message, a join (handlers bundled as shipped)",
      oursLabel: `limiter on (${DEFAULT_USER_RATE}/s, burst ${DEFAULT_USER_BURST})`,
      baselineLabel: "limiter off (CHAT_USER_RATE=0)",
      rows: routes.flatMap((route) => rowsOf(route, samples[route], options)),
      notes: [
        `CPU: process.cpuUsage() of a process that loads the route's shipped bundle and calls its handler, ${CONCURRENCY} frames in flight, after ${WARMUP} warm-up frames, ÷ the frames; DynamoDB (the local runtime's, dynalite) and the @connections stand-in run in another process, so their CPU is not counted. The variants alternate run by run; the budget takes the median of each round's ratio.`,
        `Each frame goes from the next of ${SENDERS} senders (each its own user, as in none mode), so every sender stays under the default rate and every frame is answered \`sent\` or \`joined\` (checked): the figure is the cost of an allowed frame. A direct message goes to one recipient; a join is of a room no one is in yet, so it posts no presence (each sender joins more rooms than the default cap, which both variants raise to ${count(ROOMS_PER_CONNECTION)}). Calls are counted at a proxy in front of DynamoDB, warm-up included, ÷ the frames.`,
        "A join's bucket write is one more item of the transaction it makes anyway, so it makes no call of its own; a direct message makes no write to merge into, so its bucket write is a call of its own (docs/limits.md).",
        "Off means CHAT_USER_RATE=0: nothing then bounds how many frames a user may send, and so how many posts and writes one client can make the operator pay for, but the stage's throttle, which every client shares (docs/limits.md).",
      ],
    };
  } finally {
    services.child.kill();
  }
}

function rowsOf(route: Route, samples: Record<Variant, Sample[]>, options: LimiterOptions): Row[] {
  const { frame } = ROUTES[route];
  const cpu = (variant: Variant) => summarize(samples[variant].map((s) => s.usPerFrame));
  const paired = summarize(samples.on.map((s, i) => s.usPerFrame / samples.off[i]!.usPerFrame)).median;
  const calls = (variant: Variant) => {
    const total: Record<string, number> = {};
    for (const sample of samples[variant]) for (const [op, n] of Object.entries(sample.calls)) total[op] = (total[op] ?? 0) + n / samples[variant].length;
    return total;
  };
  const [on, off] = [calls("on"), calls("off")];
  const writes = (c: Record<string, number>) => Object.entries(c).filter(([op]) => WRITES.has(op)).reduce((a, [, n]) => a + n, 0);
  const describe = (c: Record<string, number>) =>
    Object.entries(c)
      .sort()
      .map(([op, n]) => `${op} ${n.toFixed(2)}`)
      .join(", ");
  const us = (value: number) => `${Math.round(value)} µs`;
  const extraWrites = writes(on) - writes(off);
  return [
    {
      measure: `${route} CPU per ${frame}, ${options.runs} runs of ${count(options.messages)} (median, range)`,
      ours: range(cpu("on"), us),
      baseline: range(cpu("off"), us),
      budget: `≤ ${CPU_BUDGET}× off`,
      pass: paired <= CPU_BUDGET,
      detail: `${paired.toFixed(2)}× (median of each round's on ÷ off)`,
    },
    {
      measure: `DynamoDB writes per ${frame}`,
      ours: writes(on).toFixed(2),
      baseline: writes(off).toFixed(2),
      budget: `≤ ${WRITE_BUDGET} more`,
      pass: extraWrites <= WRITE_BUDGET + 1e-9,
      detail: `+${extraWrites.toFixed(2)}`,
    },
    { measure: `DynamoDB calls per ${frame}, by operation`, ours: describe(on), baseline: describe(off) },
  ];
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
