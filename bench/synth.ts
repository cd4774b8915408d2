import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytes, ms, range, runs } from "./lib/format";
import { type MeasuredRun, outputTail, runMeasured } from "./lib/process";
import { summarize } from "./lib/stats";
import type { FigureResult } from "./lib/table";

const ROOT = join(__dirname, "..");
/** cdktf.json's `app`: exactly what `cdktf synth` runs, bundling included. */
const SYNTH = ["--import", "tsx", "main.ts"];
const ROOT_IMPORT_SYNTH = ["--import", "tsx", "--import", "./bench/root-import.ts", "main.ts"];
const BUDGET = 0.25;

export interface SynthOptions {
  readonly runs: number;
}

/**
 * Figure 1: wall time and peak RSS of a full synth in fresh processes, beside the same synth with the root
 * index of @cdktf/provider-aws loaded. Each process bundles every handler (the bundle cache is per process).
 */
export async function benchSynth(options: SynthOptions): Promise<FigureResult> {
  const outRoot = mkdtempSync(join(tmpdir(), "bench-synth-"));
  try {
    const synth = (args: string[], name: string) => synthOnce(args, join(outRoot, name));
    // One discarded run each warms tsx's transform cache and the file cache, which every later run shares.
    await synth(SYNTH, "warm-ours");
    await synth(ROOT_IMPORT_SYNTH, "warm-root");
    const ours: MeasuredRun[] = [];
    const root: MeasuredRun[] = [];
    // Interleaved, so a slow spell of the machine hits both variants alike.
    for (let i = 0; i < options.runs; i += 1) {
      ours.push(await synth(SYNTH, `ours-${i}`));
      root.push(await synth(ROOT_IMPORT_SYNTH, `root-${i}`));
    }
    const same = stackJson(join(outRoot, "ours-0")) === stackJson(join(outRoot, "root-0"));
    if (!same) throw new Error("the root-import variant synthesized a different stack; the comparison would be unfair");

    const wall = { ours: summarize(ours.map((r) => r.wallMs)), root: summarize(root.map((r) => r.wallMs)) };
    const rss = { ours: summarize(ours.map((r) => r.peakRssBytes)), root: summarize(root.map((r) => r.peakRssBytes)) };
    const wallShare = wall.ours.median / wall.root.median;
    const rssShare = rss.ours.median / rss.root.median;
    return {
      title: "1. Synth (full synth incl. bundling, fresh process)",
      oursLabel: "deep imports (ours)",
      baselineLabel: "root import of @cdktf/provider-aws",
      rows: [
        {
          measure: `wall time, ${runs(options.runs)}`,
          ours: range(wall.ours, ms),
          baseline: range(wall.root, ms),
          budget: "≤ 25% of baseline",
          pass: wallShare <= BUDGET,
          detail: `${Math.round(wallShare * 100)}%`,
        },
        {
          measure: "peak RSS",
          ours: range(rss.ours, bytes),
          baseline: range(rss.root, bytes),
          budget: "≤ 25% of baseline",
          pass: rssShare <= BUDGET,
          detail: `${Math.round(rssShare * 100)}%`,
        },
      ],
      notes: [
        "`node --import tsx main.ts` (cdktf.json's app, what `cdktf synth` runs) with CDKTF_OUTDIR in a temporary folder; the baseline preloads bench/root-import.ts, then runs the same main.ts. Both write an identical cdk.tf.json (checked).",
        "Peak RSS from GNU time (`%M`). One warm-up run per variant is discarded; runs alternate between the variants.",
      ],
    };
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
}

async function synthOnce(args: readonly string[], outdir: string): Promise<MeasuredRun> {
  const result = await runMeasured(process.execPath, args, {
    cwd: ROOT,
    env: { CHAT_AUTH: "none", ...process.env, CDKTF_OUTDIR: outdir },
    timeoutMs: 120_000,
  });
  if (result.code !== 0) throw new Error(`synth failed (${args.join(" ")}):\n${outputTail(result)}`);
  return result;
}

/** Every stack's cdk.tf.json of a cdktf.out, in manifest order. */
export function stackJson(outdir: string): string {
  const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as {
    stacks: Record<string, { synthesizedStackPath: string }>;
  };
  return Object.values(manifest.stacks)
    .map((stack) => readFileSync(join(outdir, stack.synthesizedStackPath), "utf8"))
    .join("\n");
}
