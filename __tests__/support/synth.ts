import { Testing } from "cdktf";
import { AccountStack } from "../../constructs/account-stack";
import { ChatStack } from "../../constructs/chat-stack";
import { readConfig } from "../../constructs/config";

export interface SynthesizedStack<S = ChatStack> {
  /** The stack's Terraform JSON as cdktf's jest matchers take it. */
  readonly json: string;
  /** The same, parsed. */
  readonly tf: TerraformJson;
  readonly stack: S;
}

export interface TerraformJson {
  readonly resource: Record<string, Record<string, Record<string, any>>>;
  readonly data: Record<string, Record<string, Record<string, any>>>;
  readonly output: Record<string, { value: string }>;
  readonly terraform?: { backend?: Record<string, any>; cloud?: Record<string, any> };
  readonly removed?: ReadonlyArray<{ from: string; lifecycle: Record<string, unknown> }>;
}

/** Synthesizes the chat stack with the settings `env` would give `cdktf synth`; CHAT_AUTH is none unless `env` sets it (synth itself requires it). */
export function synthChat(env: Record<string, string> = {}): SynthesizedStack {
  const stack = new ChatStack(Testing.app(), readConfig({ CHAT_AUTH: "none", ...env }));
  const json = Testing.synth(stack, true);
  return { json, tf: JSON.parse(json), stack };
}

/** Synthesizes the account stack (`<stack>-account`) with the settings `env` would give `cdktf synth`; CHAT_AUTH as synthChat. */
export function synthAccount(env: Record<string, string> = {}): SynthesizedStack<AccountStack> {
  const stack = new AccountStack(Testing.app(), readConfig({ CHAT_AUTH: "none", ...env }));
  const json = Testing.synth(stack, true);
  return { json, tf: JSON.parse(json), stack };
}

/** The resources of one type, keyed by their Terraform name. */
export function resources(tf: TerraformJson, type: string): Array<[string, Record<string, any>]> {
  return Object.entries(tf.resource[type] ?? {});
}

/** The single resource of `type` whose `key` equals `value`. */
export function resourceWhere(tf: TerraformJson, type: string, key: string, value: unknown): [string, Record<string, any>] {
  const found = resources(tf, type).filter(([, r]) => r[key] === value);
  if (found.length !== 1) throw new Error(`expected one ${type} with ${key}=${String(value)}, found ${found.length}`);
  return found[0];
}

/** `${type.name.attr}`: how Terraform JSON refers to another resource's attribute. */
export function ref(type: string, name: string, attr: string): string {
  return `\${${type}.${name}.${attr}}`;
}
