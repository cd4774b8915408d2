import { join } from "node:path";
import { ms } from "./lib/format";
import { outputTail, run } from "./lib/process";
import type { FigureResult } from "./lib/table";

const ROOT = join(__dirname, "..");
/**
 * Room for the whole suite on 2 cores, the Terraform checks (real terraform and its AWS provider, every
 * variant planned twice) and the synth-command comparison included; bench/results.md has its time.
 */
const BUDGET_MS = 150_000;
/** Twice the budget: a hung test costs the bench a bounded time and shows as a miss. */
const TIMEOUT_MS = 2 * BUDGET_MS;

/** Figure 3: wall time of `npm test` (type check, then every jest suite), as a developer runs it. */
export async function benchTests(): Promise<FigureResult> {
  const result = await run("npm", ["test"], { cwd: ROOT, timeoutMs: TIMEOUT_MS });
  const output = `${result.stdout}\n${result.stderr}`;
  const summary = output.match(/^Tests:.*$/m)?.[0] ?? "no jest summary";
  const passed = result.code === 0;
  return {
    title: "3. Tests (`npm test`)",
    oursLabel: "wall time",
    baselineLabel: "jest's own figure",
    rows: [
      {
        measure: "tsc --noEmit && jest, 1 run",
        ours: result.timedOut ? `> ${ms(TIMEOUT_MS)} (killed)` : ms(result.wallMs),
        baseline: output.match(/^Time:\s+(.*)$/m)?.[1] ?? "–",
        budget: "< 150 s",
        pass: passed && result.wallMs < BUDGET_MS,
        detail: passed ? summary.replace(/^Tests:\s+/, "") : result.timedOut ? "npm test did not finish" : "npm test FAILED",
      },
    ],
    notes: [
      "One run: it is the slowest figure. Jest's own time leaves out `tsc --noEmit` and jest's start-up.",
      ...(passed ? [] : [`npm test ${result.timedOut ? "was killed" : "failed"}; the end of its output:\n\n\`\`\`\n${outputTail(result, 20)}\n\`\`\``]),
    ],
  };
}
