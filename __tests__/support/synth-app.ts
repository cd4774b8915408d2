import { App } from "cdktf";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AccountStack } from "../../constructs/account-stack";
import { ChatStack } from "../../constructs/chat-stack";
import { readConfig } from "../../constructs/config";

export interface SynthesizedApp {
  /** Stack folders (holding cdk.tf.json and assets) by role. */
  readonly chat: string;
  readonly account: string;
}

/** Synthesizes both stacks into `outdir` as main.ts does, with the settings `env` would give `cdktf synth` (CHAT_AUTH none unless `env` sets it). */
export function synthesizeApp(env: Readonly<Record<string, string>>, outdir: string): SynthesizedApp {
  mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir });
  const config = readConfig({ CHAT_AUTH: "none", ...env });
  const account = new AccountStack(app, config);
  const chat = new ChatStack(app, config);
  app.synth();
  return { chat: join(outdir, "stacks", chat.node.id), account: join(outdir, "stacks", account.node.id) };
}
