import { build, type Plugin } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BUNDLE_FILE, esbuildOptions } from "../constructs/bundle";
import { LocalDynamo } from "../__tests__/support/dynalite";
import { frameEvent } from "../__tests__/support/events";
import { firstOutput, zippedBytes } from "./bundles";
import { arranger } from "./lib/arrange";
import { bytes, ms, range } from "./lib/format";
import { median, summarize } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

const ROOT = join(__dirname, "..");
const SEND_MESSAGE = join(ROOT, "handlers", "send-message.ts");
const SERVE_ONE_EVENT = join(__dirname, "lib", "serve-one-event.cjs");
const ZIP_BUDGET_BYTES = 256 * 1024;
/** What observability may add to a cold start of send-message, by the paired median. */
const COST_BUDGET_MS = 15;

/**
 * The send-message bundle four ways: as shipped (Powertools Metrics, logs through the console), with no
 * metrics at all (the floor), with aws-embedded-metrics instead, and with Powertools Logger as well.
 */
type Variant = "none" | "powertools" | "embedded" | "logger";
const VARIANTS: readonly Variant[] = ["none", "powertools", "embedded", "logger"];
const SWAPS: Record<Variant, Record<string, string>> = {
  none: { metrics: join(__dirname, "baseline", "no-metrics.ts") },
  powertools: {},
  embedded: { metrics: join(__dirname, "baseline", "embedded-metrics.ts") },
  logger: { log: join(__dirname, "baseline", "powertools-log.ts") },
};

export interface MetricsOptions {
  readonly coldStarts: number;
}

/**
 * Figure 12: what metrics and structured logs cost send-message: its zipped bundle and its cold start (a
 * fresh Node process that loads the bundle and answers a room message against dynalite, publishing its
 * EMF document) with each metrics library, beside the same handler publishing nothing; and Powertools
 * Logger beside the console that Lambda's JSON log format wraps.
 */
export async function benchMetrics(options: MetricsOptions): Promise<FigureResult> {
  const work = mkdtempSync(join(tmpdir(), "bench-metrics-"));
  const savedEnv = { ...process.env };
  const dynamo = await LocalDynamo.start();
  try {
    const bundles = {} as Record<Variant, string>;
    const zips = {} as Record<Variant, number>;
    for (const variant of VARIANTS) {
      bundles[variant] = join(work, variant);
      await build({ ...esbuildOptions(), entryPoints: [SEND_MESSAGE], outfile: join(bundles[variant], BUNDLE_FILE), logLevel: "silent", plugins: [swap(SWAPS[variant])] });
      zips[variant] = await zippedBytes(bundles[variant], join(work, `${variant}.zip`));
    }

    const cold: Record<Variant, number[]> = { none: [], powertools: [], embedded: [], logger: [] };
    const nodeFloor: number[] = [];
    for (let i = 0; i < options.coldStarts; i += 1) {
      nodeFloor.push((await firstOutput(["-e", "console.log()"], {})).ms);
      // Variants alternate, so a slow spell of the machine hits each alike.
      for (const variant of VARIANTS) {
        const table = await dynamo.freshTable();
        const connectionId = `sender-${variant}-${i}`;
        const arrange = arranger(dynamo, table);
        await arrange.connect(connectionId);
        await arrange.join("lobby", connectionId);
        const event = frameEvent(connectionId, { action: "send-message", room: "lobby", message: "hi" });
        const run = await firstOutput([SERVE_ONE_EVENT, join(bundles[variant], BUNDLE_FILE), JSON.stringify(event)], functionEnv(dynamo.endpoint, table));
        const lines = run.stdout.trim().split("\n");
        const reply = JSON.parse(lines[lines.length - 1] ?? "{}") as { statusCode?: number };
        const published = lines.some((line) => line.includes('"MessagesSent"'));
        if (run.code !== 0 || reply.statusCode !== 200 || published !== (variant !== "none")) {
          throw new Error(`send-message (${variant}) did not answer as expected (exit ${run.code}, status ${reply.statusCode}, EMF ${published}):\n${run.stdout}\n${run.stderr}`);
        }
        cold[variant].push(run.ms);
      }
    }

    const paired = (a: Variant, b: Variant) => median(cold[a].map((time, i) => time - cold[b][i]!));
    const signed = (value: number) => `${value >= 0 ? "+" : "−"}${ms(Math.abs(value))}`;
    const cost = { powertools: paired("powertools", "none"), embedded: paired("embedded", "none"), logger: paired("logger", "powertools") };
    const rows: Row[] = [
      {
        measure: "zip: send-message with metrics",
        ours: bytes(zips.powertools),
        baseline: bytes(zips.embedded),
        budget: "≤ 256 KB",
        pass: zips.powertools <= ZIP_BUDGET_BYTES,
        detail: `no metrics: ${bytes(zips.none)}; Powertools +${bytes(zips.powertools - zips.none)}, aws-embedded-metrics +${bytes(zips.embedded - zips.none)}`,
      },
      {
        measure: `cold start: send-message with metrics, median of ${options.coldStarts}`,
        ours: range(summarize(cold.powertools), ms),
        baseline: range(summarize(cold.embedded), ms),
        budget: `≤ ${COST_BUDGET_MS} ms over no metrics`,
        pass: cost.powertools <= COST_BUDGET_MS,
        detail: `no metrics ${range(summarize(cold.none), ms)}; paired medians: Powertools ${signed(cost.powertools)}, aws-embedded-metrics ${signed(cost.embedded)}`,
      },
      {
        measure: "zip: send-message with Powertools Logger too",
        ours: bytes(zips.powertools),
        baseline: bytes(zips.logger),
        detail: `Logger +${bytes(zips.logger - zips.powertools)}`,
      },
      {
        measure: `cold start: send-message with Powertools Logger too, median of ${options.coldStarts}`,
        ours: range(summarize(cold.powertools), ms),
        baseline: range(summarize(cold.logger), ms),
        detail: `paired median: Logger ${signed(cost.logger)}`,
      },
    ];
    return {
      title: "12. Metrics and logs (library: zip, cold start of send-message)",
      oursLabel: "Powertools Metrics + console (shipped)",
      baselineLabel: "aws-embedded-metrics / + Powertools Logger",
      rows,
      notes: [
        "Four builds of handlers/send-message.ts with constructs/bundle.ts's esbuild options, zipped with `zip -5`: as shipped; with handlers/lib/observability/metrics.ts swapped for bench/baseline/no-metrics.ts (the floor) or bench/baseline/embedded-metrics.ts (the same documents with aws-embedded-metrics); and with handlers/lib/observability/log.ts swapped for bench/baseline/powertools-log.ts.",
        `Cold start: from spawn until a fresh \`node\` (bench/lib/serve-one-event.cjs) has loaded the bundle and answered a room message against dynalite, printing its EMF document (checked), in a Lambda-like environment (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_LOG_FORMAT=JSON). An empty Node process takes ${range(summarize(nodeFloor), ms)} here.`,
        "Paired medians compare runs made back to back, which sees through the machine's slow spells; a difference of a few ms is within its noise.",
      ],
    };
  } finally {
    await dynamo.stop();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Resolves every import of handlers/lib/observability/<name> to another file. */
function swap(files: Record<string, string>): Plugin {
  return {
    name: "swap",
    setup(builder) {
      for (const [name, file] of Object.entries(files)) {
        const swapped = join(__dirname, "..", "handlers", "lib", "observability", name);
        builder.onResolve({ filter: new RegExp(`^\\.{1,2}/(.*/)?${name}$`) }, (args) => (resolve(args.resolveDir, args.path) === swapped ? { path: file } : undefined));
      }
    },
  };
}

/** What send-message sees on Lambda, pointed at dynalite, with its metrics settings. */
function functionEnv(endpoint: string, table: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDBENCHMETRICS",
    AWS_SECRET_ACCESS_KEY: "bench-secret",
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    // Never called: the sender is the room's only member.
    AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: "http://127.0.0.1:9",
    TABLE_NAME: table,
    METRICS_NAMESPACE: "WebsocketChat",
    METRICS_SERVICE: "chat",
    // aws-embedded-metrics finds it is on Lambda by the function name (elsewhere it probes for an agent).
    AWS_LAMBDA_FUNCTION_NAME: "chat-send-message",
    AWS_LAMBDA_LOG_FORMAT: "JSON",
    AWS_LAMBDA_LOG_LEVEL: "INFO",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
}
