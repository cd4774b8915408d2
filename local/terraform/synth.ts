import { App } from "cdktf";
import { join } from "node:path";
import { ChatStack, type ChatStackOptions } from "../../constructs/chat-stack";
import { readConfig } from "../../constructs/config";

export interface SynthOptions {
  /** Folder cdktf writes to (its `stacks/<name>/cdk.tf.json`). */
  readonly outdir: string;
  /** Settings, read exactly as `cdktf synth` reads them. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default {} */
  readonly stack?: ChatStackOptions;
}

/**
 * Synthesizes the chat stack in-process, the same way `main.ts` does for `cdktf synth`, and returns the
 * stack folder: the one holding `cdk.tf.json`, against which its relative paths resolve.
 */
export function synthesizeStack(options: SynthOptions): string {
  const app = new App({ outdir: options.outdir });
  const stack = new ChatStack(app, readConfig(options.env ?? process.env), options.stack ?? {});
  app.synth();
  return join(options.outdir, "stacks", stack.node.id);
}
