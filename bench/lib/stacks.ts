import { copyFileSync, cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../../constructs/bundle";
import { loadStackModel } from "../../local/terraform/stack-model";
import { synthesizeStack } from "../../local/terraform/synth";

export interface Stacks {
  readonly ours: string;
  readonly baseline: string;
}

let stacks: Promise<Stacks> | undefined;

/** The stack as it ships, and a copy whose send-message function runs the baseline bundle; made once. */
export function synthesizedStacks(): Promise<Stacks> {
  stacks ??= (async () => {
    const ours = synthesizeStack({ outdir: mkdtempSync(join(tmpdir(), "bench-stack-")) });
    const baseline = join(mkdtempSync(join(tmpdir(), "bench-baseline-stack-")), "stack");
    cpSync(ours, baseline, { recursive: true });
    const sendMessage = loadStackModel({ stackDir: baseline }).functions.find((fn) => fn.name.endsWith("-send-message"));
    if (!sendMessage) throw new Error("the synthesized stack has no send-message function");
    const baselineBundle = bundleHandler(join(__dirname, "..", "baseline", "send-message.ts"));
    copyFileSync(join(baselineBundle, BUNDLE_FILE), join(sendMessage.bundleDir, BUNDLE_FILE));
    return { ours, baseline };
  })();
  return stacks;
}

