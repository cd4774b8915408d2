import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../../constructs/bundle";
import { loadStackModel } from "../../local/terraform/stack-model";
import { synthesizeStack } from "../../local/terraform/synth";

export interface Stacks {
  readonly ours: string;
  readonly baseline: string;
}

/**
 * The inline limit the fan-out figures synthesize with: the most constructs/config.ts accepts for
 * CHAT_INLINE_FANOUT_LIMIT, so every audience they send to is posted by send-message itself, as the
 * tutorial's is. Above the shipped default (1,000) the stack hands a broadcast to the fan-out queue
 * instead; that path is what `fan-out-scale` measures.
 */
export const FAN_OUT_INLINE_LIMIT = 100_000;

let shipped: Promise<string> | undefined;
let fanOut: Promise<Stacks> | undefined;

/** The stack as it ships (default settings); synthesized once per process. */
export function shippedStack(): Promise<string> {
  // The frame limiter off (CHAT_USER_RATE=0): the capacity figure sends each connection far more frames
  // than a person would, and bounds the runtime's own work for the same handler work; what the limiter
  // adds per frame is figure 14's.
  shipped ??= (async () =>
    synthesizeStack({ outdir: mkdtempSync(join(tmpdir(), "bench-stack-")), env: { ...process.env, CHAT_USER_RATE: "0" }, warn: () => undefined }))();
  return shipped;
}

/**
 * The fan-out figures' stacks, made once: ours is the stack with CHAT_INLINE_FANOUT_LIMIT at its maximum
 * (FAN_OUT_INLINE_LIMIT) and otherwise as it ships; the baseline is a copy of it whose send-message
 * function runs the tutorial's bundle (bench/baseline/send-message.ts) with the one grant that bundle needs
 * beyond send-message's own: dynamodb:Scan on the table. The shipped stack never scans, so its role does not
 * allow it; the grant is added to the copy's cdk.tf.json only.
 */
export function fanOutStacks(): Promise<Stacks> {
  fanOut ??= (async () => {
    const ours = synthesizeStack({
      outdir: mkdtempSync(join(tmpdir(), "bench-fan-out-stack-")),
      env: { ...process.env, CHAT_INLINE_FANOUT_LIMIT: String(FAN_OUT_INLINE_LIMIT) },
      warn: () => undefined,
    });
    const baseline = join(mkdtempSync(join(tmpdir(), "bench-baseline-stack-")), "stack");
    cpSync(ours, baseline, { recursive: true });
    const sendMessage = loadStackModel({ stackDir: baseline }).functions.find((fn) => fn.name.endsWith("-send-message"));
    if (!sendMessage) throw new Error("the synthesized stack has no send-message function");
    const baselineBundle = bundleHandler(join(__dirname, "..", "baseline", "send-message.ts"));
    copyFileSync(join(baselineBundle, BUNDLE_FILE), join(sendMessage.bundleDir, BUNDLE_FILE));
    grantScan(baseline, sendMessage.role.address);

    const check = loadStackModel({ stackDir: baseline });
    const scans = check.functions
      .find((fn) => fn.name === sendMessage.name)
      ?.policies.some((policy) => JSON.stringify(policy).includes("dynamodb:Scan"));
    if (!scans) throw new Error("the baseline stack's send-message role was not granted dynamodb:Scan");
    return { ours, baseline };
  })();
  return fanOut;
}

/** Adds a role policy allowing dynamodb:Scan on the stack's table to the role at `roleAddress` (e.g. aws_iam_role.x). */
function grantScan(stackDir: string, roleAddress: string): void {
  const file = join(stackDir, "cdk.tf.json");
  const tf = JSON.parse(readFileSync(file, "utf8")) as { resource: Record<string, Record<string, unknown>> };
  const tables = Object.keys(tf.resource.aws_dynamodb_table ?? {});
  if (tables.length !== 1) throw new Error(`expected one DynamoDB table in the stack, found ${tables.length}`);
  tf.resource.aws_iam_role_policy ??= {};
  tf.resource.aws_iam_role_policy.bench_tutorial_scan = {
    name: "bench-tutorial-scan",
    role: `\${${roleAddress}.id}`,
    policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "dynamodb:Scan", Resource: `\${aws_dynamodb_table.${tables[0]}.arn}` }],
    }),
  };
  writeFileSync(file, JSON.stringify(tf, null, 2));
}
