import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytes, ms, range, runs } from "./lib/format";
import { type MeasuredRun, outputTail, runMeasured } from "./lib/process";
import { summarize } from "./lib/stats";
import type { FigureResult } from "./lib/table";
import { stackJson } from "./synth";

const ROOT = join(__dirname, "..");
const BUDGET = 0.5;

export interface SynthCommandOptions {
  readonly runs: number;
}

/**
 * Figure 2: `npm run synth` (the app itself, `node --import tsx main.ts`) beside `npx cdktf synth`, which
 * starts the CLI and then runs that same app. Both in fresh processes, bundling included.
 */
export async function benchSynthCommand(options: SynthCommandOptions): Promise<FigureResult> {
  const outRoot = mkdtempSync(join(tmpdir(), "bench-synth-command-"));
  try {
    const direct = (name: string) => synthWith(process.execPath, ["--import", "tsx", "main.ts"], { CDKTF_OUTDIR: join(outRoot, name) });
    const cli = (name: string) => synthWith(join(ROOT, "node_modules", ".bin", "cdktf"), ["synth", "--output", join(outRoot, name)], {});
    // One discarded run each warms tsx's transform cache and the file cache.
    await direct("warm-direct");
    await cli("warm-cli");
    const ours: MeasuredRun[] = [];
    const baseline: MeasuredRun[] = [];
    for (let i = 0; i < options.runs; i += 1) {
      ours.push(await direct(`direct-${i}`));
      baseline.push(await cli(`cli-${i}`));
    }
    if (stackJson(join(outRoot, "direct-0")) !== stackJson(join(outRoot, "cli-0"))) {
      throw new Error("npm run synth and npx cdktf synth wrote different stacks; the comparison would be unfair");
    }
    const wall = { ours: summarize(ours.map((r) => r.wallMs)), baseline: summarize(baseline.map((r) => r.wallMs)) };
    const rss = { ours: summarize(ours.map((r) => r.peakRssBytes)), baseline: summarize(baseline.map((r) => r.peakRssBytes)) };
    const share = wall.ours.median / wall.baseline.median;
    return {
      title: "2. Synth command (`npm run synth` vs `npx cdktf synth`, fresh process)",
      oursLabel: "npm run synth (the app)",
      baselineLabel: "npx cdktf synth (CLI, then the app)",
      rows: [
        {
          measure: `wall time, ${runs(options.runs)}`,
          ours: range(wall.ours, ms),
          baseline: range(wall.baseline, ms),
          budget: "≤ 50% of baseline",
          pass: share <= BUDGET,
          detail: `${Math.round(share * 100)}%`,
        },
        { measure: "peak RSS (largest process)", ours: range(rss.ours, bytes), baseline: range(rss.baseline, bytes) },
      ],
      notes: [
        "Both write the same cdktf.out (checked here and byte for byte in __tests__/synth-script.test.ts); the CLI's extra time is its own start-up. `npx cdktf synth` is kept for `--hcl` and as what `cdktf diff/deploy` run.",
        "The original tutorial's `cdk synth` (AWS CDK, CloudFormation) cannot run here (no aws-cdk toolchain), so the baseline is the cdktf CLI.",
      ],
    };
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}

async function synthWith(command: string, args: readonly string[], env: Record<string, string>): Promise<MeasuredRun> {
  const result = await runMeasured(command, args, { cwd: ROOT, env: { CHAT_AUTH: "none", ...process.env, CHECKPOINT_DISABLE: "1", ...env }, timeoutMs: 180_000 });
  if (result.code !== 0) throw new Error(`synth failed (${command} ${args.join(" ")}):\n${outputTail(result)}`);
  return result;
}
