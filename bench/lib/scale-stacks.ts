import { cpSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_FILE } from "../../constructs/bundle";
import { loadStackModel } from "../../local/terraform/stack-model";
import { synthesizeStack } from "../../local/terraform/synth";

/** The stacks the fan-out-at-scale figures serve, each synthesized from the constructs with settings only. */
export interface ScaleStacks {
  /** As it ships: audiences above the inline limit go to the fan-out queue. */
  readonly queue: string;
  /** Every audience posted inline by send-message (the inline limit at its maximum). */
  readonly inline: string;
  /**
   * The queue stack whose consumer fails one batch in ten before posting anything: the first batch of each
   * message it receives for the first time, then the 11th, 21st, ... (its bundle wrapped by one that throws;
   * a copy of the stack, nothing shipped knows about it). Its timeout is 20 s and the queue hides a received
   * job for 20 s, the least Lambda accepts (AWS recommends six times the timeout), so a failed batch comes
   * back within the run.
   */
  readonly failing: string;
  /** How long a failed batch of the failing stack stays hidden before it is received again. */
  readonly failingVisibilityMs: number;
}

const FAILING_TIMEOUT_SECONDS = 20;

/**
 * The wrapper: the real handler, except that it throws for the 1st, 11th, 21st, ... batch of each chat message
 * (the job's `id`) on its first receive, so every broadcast of a few batches has a failure and a retry.
 */
const FAILING_WRAPPER = `"use strict";
// Benchmark fault injection (bench/lib/scale-stacks.ts): not part of any shipped bundle.
const real = require("./real.js");
const firstReceives = new Map();
exports.handler = async (event, context) => {
  const first = event.Records[0];
  if (first && first.attributes.ApproximateReceiveCount === "1") {
    let id;
    try { id = JSON.parse(first.body).id; } catch {}
    const n = (firstReceives.get(id) || 0) + 1;
    firstReceives.set(id, n);
    if (n % 10 === 1) throw new Error("injected failure of batch " + n + " of message " + id);
  }
  return real.handler(event, context);
};
`;

let stacks: Promise<ScaleStacks> | undefined;

/** Made once per process; `env` holds the settings every variant shares (e.g. the consumer's concurrency). */
export function scaleStacks(env: Readonly<Record<string, string>> = {}): Promise<ScaleStacks> {
  stacks ??= (async () => {
    const synth = (name: string, extra: Record<string, string> = {}) =>
      synthesizeStack({ outdir: mkdtempSync(join(tmpdir(), `bench-${name}-`)), env: { ...env, ...extra }, warn: () => undefined });
    const queue = synth("queue");
    const inline = synth("inline", { CHAT_INLINE_FANOUT_LIMIT: "100000" });
    const synthesized = synth("failing", { CHAT_FANOUT_TIMEOUT_SECONDS: String(FAILING_TIMEOUT_SECONDS) });
    const failing = join(mkdtempSync(join(tmpdir(), "bench-failing-copy-")), "stack");
    cpSync(synthesized, failing, { recursive: true });

    const worker = loadStackModel({ stackDir: failing }).functions.find((fn) => fn.name.endsWith("-fan-out-worker"));
    if (!worker) throw new Error("the synthesized stack has no fan-out worker");
    renameSync(join(worker.bundleDir, BUNDLE_FILE), join(worker.bundleDir, "real.js"));
    writeFileSync(join(worker.bundleDir, BUNDLE_FILE), FAILING_WRAPPER);

    const file = join(failing, "cdk.tf.json");
    const tf = JSON.parse(readFileSync(file, "utf8")) as { resource: { aws_sqs_queue: Record<string, { name: string; visibility_timeout_seconds?: number }> } };
    const fanOutQueue = Object.values(tf.resource.aws_sqs_queue).find((q) => !q.name.endsWith("-dlq"));
    if (!fanOutQueue) throw new Error("the synthesized stack has no fan-out queue");
    fanOutQueue.visibility_timeout_seconds = FAILING_TIMEOUT_SECONDS;
    writeFileSync(file, JSON.stringify(tf, null, 2));
    return { queue, inline, failing, failingVisibilityMs: FAILING_TIMEOUT_SECONDS * 1000 };
  })();
  return stacks;
}
