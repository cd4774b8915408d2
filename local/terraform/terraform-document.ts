/**
 * Reads a synthesized `cdk.tf.json` and answers "what is the value of this attribute?" the way Terraform
 * would after `apply`, but with local values: ARNs in a fixed local account and the AWS provider's region,
 * generated ids that are stable for a given resource address, and endpoints of the local gateway.
 *
 * Only what the local runtime asks for is resolved, so an unrelated resource can hold anything. What it
 * asks for must resolve completely: a function call, an operator, a reference to a resource or attribute
 * this file does not know stops startup with a TerraformResolutionError naming the resource, the attribute
 * and the expression, rather than running the stack with a guess.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { COMPUTED, stableId, type ResourceView } from "./computed-attributes";
import { parseReplaceCall, parseTemplate, parseTraversal, type ReplaceCall, type Step } from "./terraform-expressions";

/** The account every local ARN is in, like LocalStack's and moto's. */
export const LOCAL_ACCOUNT_ID = "000000000000";

type Json = unknown;
type Block = Record<string, Json>;

/** The parts of the Terraform JSON syntax the local runtime reads. */
export interface TerraformJson {
  readonly resource?: Record<string, Record<string, Block>>;
  readonly data?: Record<string, Record<string, Block>>;
  readonly provider?: Record<string, Block | Block[]>;
  readonly variable?: Record<string, Block>;
  readonly locals?: Block;
}

/** Where the stack runs locally; every computed value derives from these. */
export interface LocalContext {
  /** The folder holding cdk.tf.json: `${path.module}`, and what relative paths are relative to. */
  readonly stackDir: string;
  /** @default LOCAL_ACCOUNT_ID */
  readonly account?: string;
  /** Where the local gateway listens, for `api_endpoint` and `invoke_url`. Without it they look like AWS's. */
  readonly endpoint?: { readonly host: string; readonly port: number };
}

/** An expression that cannot be given a local value. */
export class TerraformResolutionError extends Error {
  override name = "TerraformResolutionError";
  constructor(
    /** `aws_lambda_function.x` or `data.archive_file.y` (or `provider.aws`, `locals`, `variable.v`). */
    readonly address: string,
    /** Dotted path of the attribute inside the block, e.g. `environment.variables.TABLE_NAME`. */
    readonly attribute: string,
    /** The expression as written, e.g. `${upper(aws_dynamodb_table.t.name)}`. */
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`Cannot resolve ${expression} in ${address}, attribute "${attribute}": ${reason}`);
  }
}

/** A resource or data source of the document, unresolved. */
export interface TerraformBlock {
  /** `aws_iam_role.r` or `data.archive_file.a`. */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly mode: "managed" | "data";
  /** The block as written, with the cdktf `//` metadata removed. */
  readonly config: Readonly<Block>;
}

const str = (value: Json): string => String(value);

/** Marks an attribute that is neither computed nor set, so the error can name where it was referenced. */
const UNKNOWN: unique symbol = Symbol("unknown attribute");

interface Location {
  readonly address: string;
  readonly attribute: string;
}

/** A loaded cdk.tf.json with its references resolvable to local values. */
export class TerraformDocument {
  readonly stackDir: string;
  readonly account: string;
  private readonly blocks = new Map<string, TerraformBlock>();
  /** Attributes being resolved, to report a reference cycle instead of overflowing the stack. */
  private readonly inProgress = new Set<string>();
  private readonly cache = new Map<string, Json>();

  constructor(
    readonly json: TerraformJson,
    readonly context: LocalContext,
  ) {
    this.stackDir = resolve(context.stackDir);
    this.account = context.account ?? LOCAL_ACCOUNT_ID;
    for (const [mode, section] of [["managed", json.resource], ["data", json.data]] as const) {
      for (const [type, byName] of Object.entries(section ?? {})) {
        for (const [name, raw] of Object.entries(byName ?? {})) {
          const { "//": _metadata, ...config } = raw;
          const address = mode === "data" ? `data.${type}.${name}` : `${type}.${name}`;
          this.blocks.set(address, { address, type, name, mode, config });
        }
      }
    }
  }

  /** Reads `<stackDir>/cdk.tf.json`. */
  static load(context: LocalContext): TerraformDocument {
    const file = join(context.stackDir, "cdk.tf.json");
    if (!existsSync(file)) throw new Error(`No synthesized stack at ${file}: run the synth first (npm start does)`);
    let json: TerraformJson;
    try {
      json = JSON.parse(readFileSync(file, "utf8")) as TerraformJson;
    } catch (error) {
      throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    return new TerraformDocument(json, context);
  }

  /** Every managed resource of a type (`aws_lambda_function`), in document order. */
  resources(type: string): TerraformBlock[] {
    return [...this.blocks.values()].filter((b) => b.mode === "managed" && b.type === type);
  }

  /** Every data source of a type (`archive_file`). */
  dataSources(type: string): TerraformBlock[] {
    return [...this.blocks.values()].filter((b) => b.mode === "data" && b.type === type);
  }

  /** Every resource type in the document, for telling the user what is not emulated. */
  resourceTypes(): string[] {
    return [...new Set([...this.blocks.values()].filter((b) => b.mode === "managed").map((b) => b.type))];
  }

  block(address: string): TerraformBlock | undefined {
    return this.blocks.get(address);
  }

  /**
   * The resolved value of one of a block's arguments, or undefined when it is not set. Nested objects and
   * lists are resolved all the way down.
   */
  argument(address: string, name: string): Json {
    const block = this.requireBlock(address);
    const value = block.config[name];
    return value === undefined ? undefined : this.resolveValue(value, { address, attribute: name });
  }

  /** The resolved value of an attribute, computed or argument, as `${address.name}` would give it. */
  attribute(address: string, name: string): Json {
    const value = this.lookupAttribute(address, name);
    if (value === UNKNOWN) throw new TerraformResolutionError(address, name, `\${${address}.${name}}`, this.unknownAttribute(address, name));
    return value;
  }

  private lookupAttribute(address: string, name: string): Json | typeof UNKNOWN {
    const key = `${address}.${name}`;
    if (this.cache.has(key)) return this.cache.get(key);
    const block = this.requireBlock(address);
    if (this.inProgress.has(key)) {
      throw new TerraformResolutionError(address, name, `\${${key}}`, `reference cycle through ${[...this.inProgress].join(" → ")}`);
    }
    this.inProgress.add(key);
    try {
      const computed = this.computedAttributes(block)[name];
      let value: Json;
      if (computed) value = computed();
      else if (block.config[name] !== undefined) value = this.argument(address, name);
      else return UNKNOWN;
      this.cache.set(key, value);
      return value;
    } finally {
      this.inProgress.delete(key);
    }
  }

  private unknownAttribute(address: string, name: string): string {
    const block = this.requireBlock(address);
    return `${block.mode === "data" ? "data source" : "resource"} type ${block.type} has no attribute "${name}" the local runtime knows (it is neither set in the block nor computed locally)`;
  }

  /** The region of the AWS provider a block uses (its `provider` meta-argument, else the default one). */
  region(address?: string): string {
    const block = address ? this.blocks.get(address) : undefined;
    const alias = typeof block?.config.provider === "string" ? block.config.provider.split(".")[1] : undefined;
    const providers = this.json.provider?.aws;
    const list = providers === undefined ? [] : Array.isArray(providers) ? providers : [providers];
    const provider = list.find((p) => (alias ? p.alias === alias : p.alias === undefined));
    if (alias && !provider) {
      throw new TerraformResolutionError(address!, "provider", str(block!.config.provider), `no aws provider with alias "${alias}"`);
    }
    const region = provider?.region === undefined ? undefined : this.resolveValue(provider.region, { address: "provider.aws", attribute: "region" });
    if (region === undefined) {
      throw new Error(
        `The aws provider in ${join(this.stackDir, "cdk.tf.json")} sets no region: the local runtime uses the provider's region for every ARN`,
      );
    }
    return str(region);
  }

  private requireBlock(address: string): TerraformBlock {
    const block = this.blocks.get(address);
    if (!block) throw new Error(`${address} is not in the synthesized stack`);
    return block;
  }

  private computedAttributes(block: TerraformBlock): Record<string, () => Json> {
    const kind = block.mode === "data" ? `data.${block.type}` : block.type;
    const factory = COMPUTED[kind];
    if (!factory) return {};
    const doc = this;
    const view: ResourceView = {
      block,
      context: { ...this.context, stackDir: this.stackDir },
      account: this.account,
      get region() {
        return doc.region(block.address);
      },
      arg: (name) => {
        const value = this.argument(block.address, name);
        if (value === undefined) {
          throw new TerraformResolutionError(block.address, name, `\${${block.address}.${name}}`, `the argument "${name}" is not set`);
        }
        return value;
      },
      optionalArg: (name) => this.argument(block.address, name),
      generatedId: (length) => stableId(block.address, length),
    };
    return factory(view);
  }

  /** Resolves every string inside `value`; `location` names where it is, for errors. */
  resolveValue(value: Json, location: Location): Json {
    if (typeof value === "string") return this.resolveString(value, location);
    if (Array.isArray(value)) return value.map((item, index) => this.resolveValue(item, { ...location, attribute: `${location.attribute}[${index}]` }));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value as Block).map(([key, item]) => [key, this.resolveValue(item, { ...location, attribute: `${location.attribute}.${key}` })]),
      );
    }
    return value;
  }

  private resolveString(text: string, location: Location): Json {
    const fail = (expression: string, reason: string): never => {
      throw new TerraformResolutionError(location.address, location.attribute, expression, reason);
    };
    const parts = parseTemplate(text, fail);
    // A string that is exactly one interpolation has the referenced value's type (a list stays a list).
    if (parts.length === 1 && "expression" in parts[0]!) return this.evaluate(parts[0].expression, location);
    return parts
      .map((part) => {
        if ("literal" in part) return part.literal;
        const value = this.evaluate(part.expression, location);
        if (value === null || typeof value === "object") {
          fail(`\${${part.expression}}`, `it is a ${Array.isArray(value) ? "list" : "object"}, which cannot be part of a string`);
        }
        return str(value);
      })
      .join("");
  }

  private evaluate(expression: string, location: Location): Json {
    const written = `\${${expression}}`;
    const call = parseReplaceCall(expression);
    const steps = parseTraversal(call?.target ?? expression);
    if (!steps) {
      throw new TerraformResolutionError(
        location.address,
        location.attribute,
        written,
        "only references (resource.name.attribute, data.type.name.attribute, var.x, local.x, path.module) and replace(reference, \"text\", \"text\") are supported locally, not other functions or operators",
      );
    }
    try {
      if (call) return this.replaceIn(this.evaluateTraversal(steps, written, location), call, written, location);
      return this.evaluateTraversal(steps, written, location);
    } catch (error) {
      // A reference that fails further down is reported where it fails, plus where it was needed.
      if (error instanceof TerraformResolutionError && error.address !== location.address) {
        throw new TerraformResolutionError(
          error.address,
          error.attribute,
          error.expression,
          `${error.reason} (needed by ${written} in ${location.address}, attribute "${location.attribute}")`,
        );
      }
      throw error;
    }
  }

  /** Terraform's replace() with a literal search string: every occurrence, no regular expressions. */
  private replaceIn(value: Json, call: ReplaceCall, written: string, location: Location): Json {
    if (typeof value !== "string") {
      throw new TerraformResolutionError(location.address, location.attribute, written, `replace() needs a string, but ${call.target} is a ${typeof value}`);
    }
    if (/^\/.*\/$/s.test(call.search)) {
      throw new TerraformResolutionError(location.address, location.attribute, written, "replace() with a regular expression (/.../) is not supported locally");
    }
    return value.split(call.search).join(call.replacement);
  }

  private evaluateTraversal(steps: Step[], written: string, location: Location): Json {
    const fail = (reason: string): never => {
      throw new TerraformResolutionError(location.address, location.attribute, written, reason);
    };
    const [root, ...rest] = steps;
    switch (root) {
      case "path": {
        const what = rest[0];
        if (rest.length !== 1 || (what !== "module" && what !== "root" && what !== "cwd")) fail("only path.module, path.root and path.cwd exist");
        return this.stackDir;
      }
      case "terraform":
        if (rest.length === 1 && rest[0] === "workspace") return "default";
        return fail("only terraform.workspace is supported");
      case "var": {
        const name = str(rest[0]);
        const variable = this.json.variable?.[name];
        if (!variable) return fail(`there is no variable "${name}"`);
        if (variable.default === undefined) return fail(`variable "${name}" has no default, and the local runtime takes no -var values`);
        return index(this.resolveValue(variable.default, { address: `variable.${name}`, attribute: "default" }), rest.slice(1), fail);
      }
      case "local": {
        const name = str(rest[0]);
        const value = this.json.locals?.[name];
        if (value === undefined) return fail(`there is no local value "${name}"`);
        return index(this.resolveValue(value, { address: "locals", attribute: name }), rest.slice(1), fail);
      }
      case "count":
      case "each":
      case "self":
        return fail(`${root}.* is not supported locally`);
      default: {
        const isData = root === "data";
        const [type, name, attribute, ...more] = isData ? rest : steps;
        if (typeof type !== "string" || typeof name !== "string") return fail("not a reference to a resource");
        const address = isData ? `data.${type}.${name}` : `${type}.${name}`;
        const block = this.blocks.get(address);
        if (!block) return fail(`${address} is not in the synthesized stack`);
        if (block.config.count !== undefined || block.config.for_each !== undefined) {
          return fail(`${address} uses count or for_each, which the local runtime does not support`);
        }
        if (typeof attribute !== "string") return fail("a reference must name an attribute of the resource");
        const value = this.lookupAttribute(address, attribute);
        if (value === UNKNOWN) return fail(this.unknownAttribute(address, attribute));
        return index(value, more, fail);
      }
    }
  }
}

/**
 * Walks `.key` and `[n]` steps into a value. Terraform treats a nested block as a list, so `[0]` on a
 * block written as a single object is that object.
 */
function index(value: Json, steps: readonly Step[], fail: (reason: string) => never): Json {
  let current = value;
  for (const step of steps) {
    if (typeof step === "number") {
      if (Array.isArray(current)) current = current[step];
      else if (step === 0 && current !== null && typeof current === "object") continue;
      else return fail(`cannot index a ${typeof current} with [${step}]`);
      if (current === undefined) return fail(`index [${step}] is out of range`);
    } else {
      if (current === null || typeof current !== "object" || Array.isArray(current)) return fail(`cannot read "${step}" of a ${Array.isArray(current) ? "list" : typeof current}`);
      const next = (current as Block)[step];
      if (next === undefined) return fail(`there is no "${step}"`);
      current = next;
    }
  }
  return current;
}

/** A path from the document (archive `source_dir`, ...) as an absolute path: relative to the stack folder. */
export function stackPath(document: TerraformDocument, path: string): string {
  return isAbsolute(path) ? path : resolve(document.stackDir, path);
}

/** A nested block as Terraform sees it: always a list, whether cdktf wrote an object or a list. */
export function blockList(value: Json): Block[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter((item): item is Block => item !== null && typeof item === "object");
}
