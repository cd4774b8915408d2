/**
 * `npm run bench`: the project's performance figures, each beside a baseline measured in the same
 * run, checked against its budget. Prints one table per figure and writes them to bench/results.md.
 *
 *   npm run bench                                 every figure (bench/results.md gives the time); exits 1 if a budget is missed
 *   npm run bench -- --only synth,bundles         a subset: synth, synth-command, tests, bundles, fan-out, throttling,
 *                                                 fan-out-scale, fan-out-faults, post-cpu, capacity, authorizer, metrics,
 *                                                 node-majors, limiter, history
 *   npm run bench -- --skip tests                 everything but some
 *   npm run bench -- --quick                      fewer runs and smaller sizes, for development
 * Only a full run (every figure, not quick) rewrites bench/results.md; the others just print.
 *
 * Each figure lives in its own file (synth.ts, synth-command.ts, tests.ts, bundles.ts, fan-out.ts, fan-out-scale.ts, post-cpu.ts,
 * capacity.ts, authorizer.ts, metrics.ts, node-majors.ts, limiter.ts, history.ts) and returns
 * a table; bench/lib holds the helpers they share (stats, formatting, child processes).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { benchAuthorizer } from "./authorizer";
import { benchBundles } from "./bundles";
import { benchCapacity } from "./capacity";
import { benchFanOut, benchThrottling } from "./fan-out";
import { benchHistory } from "./history";
import { benchFanOutFaults, benchFanOutScale, type FanOutScaleOptions } from "./fan-out-scale";
import { benchLimiter } from "./limiter";
import { benchMetrics } from "./metrics";
import { benchNodeMajors } from "./node-majors";
import { benchPostCpu } from "./post-cpu";
import { ms } from "./lib/format";
import { type FigureResult, missedBudgets, renderFigure } from "./lib/table";
import { benchSynth } from "./synth";
import { benchSynthCommand } from "./synth-command";
import { benchTests } from "./tests";

interface Mode {
  readonly quick: boolean;
}

const FAN_OUT = { sizes: [1000, 5000], latenciesMs: [0, 20], repeats: 3 };
const QUICK_FAN_OUT = { sizes: [200, 1000], latenciesMs: [0, 20], repeats: 1 };
/**
 * Fan-out at scale: 20 ms per post against an account rate this machine sustains (the CPU is not the bound).
 * 50,000 is lowered to what the process's open-file limit allows.
 */
const SCALE: FanOutScaleOptions = { sizes: [10_000, 50_000], latencyMs: 20, accountRate: 2000 };
/** Both sizes above the inline limit, so the queue path is what is measured. */
const QUICK_SCALE: FanOutScaleOptions = { ...SCALE, sizes: [2500, 5000] };

/** In the order they run; a figure's number (the start of its title) is its place here, counting from 1. */
const FIGURES: Record<string, (mode: Mode) => Promise<FigureResult>> = {
  synth: ({ quick }) => benchSynth({ runs: quick ? 2 : 5 }),
  "synth-command": ({ quick }) => benchSynthCommand({ runs: quick ? 2 : 5 }),
  tests: () => benchTests(),
  bundles: ({ quick }) => benchBundles({ coldStarts: quick ? 3 : 10 }),
  "fan-out": ({ quick }) => benchFanOut(quick ? QUICK_FAN_OUT : FAN_OUT),
  throttling: ({ quick }) => benchThrottling({ ...(quick ? QUICK_FAN_OUT : FAN_OUT), repeats: 1, failureRate: 0.1 }),
  "fan-out-scale": ({ quick }) => benchFanOutScale(quick ? QUICK_SCALE : SCALE),
  "fan-out-faults": ({ quick }) => benchFanOutFaults(quick ? QUICK_SCALE : SCALE),
  "post-cpu": ({ quick }) => benchPostCpu(quick ? { posts: 5000, runs: 1 } : { posts: 20_000, runs: 5 }),
  capacity: ({ quick }) => benchCapacity(quick ? { connections: 1000, pairs: 100, seconds: 3 } : { connections: 5000, pairs: 100, seconds: 10 }),
  authorizer: ({ quick }) => benchAuthorizer({ coldStarts: quick ? 3 : 10, warmRuns: quick ? 100 : 500 }),
  metrics: ({ quick }) => benchMetrics({ coldStarts: quick ? 3 : 15 }),
  "node-majors": ({ quick }) => benchNodeMajors({ coldStarts: quick ? 3 : 10 }),
  limiter: ({ quick }) => benchLimiter(quick ? { messages: 500, runs: 2 } : { messages: 2000, runs: 5 }),
  history: ({ quick }) =>
    benchHistory(
      quick
        ? { rounds: 2, windowSeconds: 2, rooms: 10, missed: 1000, catchUpRuns: 1, hotSenders: [1, 5, 20], hotSeconds: 3 }
        : { rounds: 7, windowSeconds: 4, rooms: 10, missed: 1000, catchUpRuns: 3, hotSenders: [1, 5, 20], hotSeconds: 5 },
    ),
};

async function main(): Promise<number> {
  const { names, quick } = parseArgs(process.argv.slice(2));
  // Synths and bundles write temporary folders (constructs/bundle.ts keeps its bundles for the process's
  // life); pointing TMPDIR at one scratch folder, for this process and its children, removes them all at exit.
  const scratch = mkdtempSync(join(tmpdir(), "bench-"));
  process.env.TMPDIR = scratch;
  process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
  process.on("SIGINT", () => process.exit(130));
  const started = performance.now();
  const loadAtStart = loadavg()[0];
  const results: FigureResult[] = [];
  for (const name of names) {
    process.stderr.write(`bench: ${name}…\n`);
    const figureStarted = performance.now();
    const number = Object.keys(FIGURES).indexOf(name) + 1;
    const result = await FIGURES[name]({ quick }).catch((error: unknown) => failedFigure(number, name, error));
    if (!result.title.startsWith(`${number}. `)) {
      process.stderr.write(`bench: ${name} is figure ${number} (its place in bench/run.ts), but its title is "${result.title}"\n`);
    }
    process.stderr.write(`bench: ${name} done in ${ms(performance.now() - figureStarted)}\n`);
    console.log(`${renderFigure(result)}\n`);
    results.push(result);
  }

  const missed = missedBudgets(results);
  const report = [
    "# Benchmarks",
    "",
    machine(loadAtStart),
    `Figures: ${names.join(", ")}${quick ? " (quick mode)" : ""}; whole run ${ms(performance.now() - started)}.`,
    "",
    ...results.map((result) => `${renderFigure(result)}\n`),
    missed.length === 0 ? "Every budget met." : `Budgets missed:\n${missed.map((m) => `- ${m}`).join("\n")}`,
    "",
  ].join("\n");
  if (quick || names.length < Object.keys(FIGURES).length) {
    process.stderr.write("bench: not a full run, so bench/results.md is left unchanged\n");
  } else {
    writeFileSync(join(__dirname, "results.md"), report);
  }
  console.log(missed.length === 0 ? "Every budget met." : `Budgets missed:\n${missed.map((m) => `  - ${m}`).join("\n")}`);
  console.log(`Whole run: ${ms(performance.now() - started)}`);
  return missed.length === 0 ? 0 : 1;
}

function parseArgs(args: readonly string[]): { names: string[]; quick: boolean } {
  const all = Object.keys(FIGURES);
  let only = all;
  let skip: string[] = [];
  let quick = false;
  for (let i = 0; i < args.length; i += 1) {
    const [flag, inline] = args[i].split("=", 2);
    if (flag === "--quick") {
      quick = true;
    } else if (flag === "--only" || flag === "--skip") {
      const names = (inline ?? args[++i] ?? "").split(",").map((name) => name.trim()).filter(Boolean);
      const unknown = names.filter((name) => !all.includes(name));
      if (names.length === 0 || unknown.length > 0) {
        throw new Error(`${flag} takes a comma-separated list of: ${all.join(", ")}${unknown.length ? ` (not ${unknown.join(", ")})` : ""}`);
      }
      if (flag === "--only") only = names;
      else skip = names;
    } else {
      throw new Error(`unknown argument ${args[i]}: use --only a,b  --skip a,b  --quick`);
    }
  }
  return { names: all.filter((name) => only.includes(name) && !skip.includes(name)), quick };
}

/** What the numbers depend on; the load average shows whether something else was using the machine. */
function machine(loadAtStart: number): string {
  const cores = cpus();
  return [
    `Machine: ${cores.length} cores, ${cores[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GB RAM, ` +
      `Node ${process.version} on ${process.platform}; ${new Date().toISOString()}; ` +
      `1-minute load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end.`,
    "Each cell: median (min–max) over the runs named in its row.",
  ].join("\n");
}

/** A figure that could not run counts as a missed budget, with the reason in its table. */
function failedFigure(number: number, name: string, error: unknown): FigureResult {
  const message = error instanceof Error ? error.message : String(error);
  return {
    title: `${number}. ${name} (did not run)`,
    oursLabel: "ours",
    baselineLabel: "baseline",
    rows: [{ measure: "figure ran", ours: "–", baseline: "–", pass: false }],
    notes: [`Error: ${message.split("\n").join(" ").slice(0, 1500)}`],
  };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
