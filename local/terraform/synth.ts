import { App } from "cdktf";
import { join } from "node:path";
import { ChatStack, type ChatStackOptions } from "../../constructs/chat-stack";
import { configWarnings, readConfig } from "../../constructs/config";

export interface SynthOptions {
  /** Folder cdktf writes to (its `stacks/<name>/cdk.tf.json`). */
  readonly outdir: string;
  /** Settings, read exactly as `cdktf synth` reads them. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default {} */
  readonly stack?: ChatStackOptions;
  /** Where configWarnings go, as `cdktf synth` prints them. @default a line on stderr each */
  readonly warn?: (warning: string) => void;
}

/**
 * Synthesizes the chat stack in-process for the local runtime, the same way `main.ts` does for `cdktf
 * synth` but as the local runtime (readConfig's localRuntime: CHAT_AUTH unset means none, a loopback issuer
 * is allowed), and returns the stack folder: the one holding `cdk.tf.json`, against which its relative paths resolve.
 */
export function synthesizeStack(options: SynthOptions): string {
  const config = readConfig(options.env ?? process.env, { localRuntime: true });
  const warn = options.warn ?? ((warning: string) => process.stderr.write(`Warning: ${warning}\n`));
  for (const warning of configWarnings(config)) warn(warning);
  const app = new App({ outdir: options.outdir });
  const stack = new ChatStack(app, config, options.stack ?? {});
  app.synth();
  return join(options.outdir, "stacks", stack.node.id);
}
