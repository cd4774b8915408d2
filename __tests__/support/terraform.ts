/**
 * Real Terraform on the synthesized stacks, offline: `terraform init`, `validate` and `plan` against the
 * real `hashicorp/aws` provider from a filesystem mirror, and `terraform show -json` of the plan.
 *
 * What a check changes in its copy of a stack, because this machine has no AWS account and no registry
 * (each substitution is made by `offlineCopy` and nowhere else):
 * - `data.archive_file` is replaced by its outputs: the mirror has no `hashicorp/archive` provider. The
 *   zip's hash becomes a hash of the bundle folder the zip would hold.
 * - `data.aws_caller_identity` is replaced by its outputs (account 123456789012): it calls STS.
 * - The AWS provider gets fake credentials and skips every call it would make while configuring.
 * - The stack pins provider 6.x; the copy accepts the mirror's version (5.100.0), so the check runs
 *   against that schema.
 * - A local backend's absolute path moves into the check's folder, never the developer's state file.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";

export const TERRAFORM = process.env.TERRAFORM_BINARY ?? "terraform";
/** The folder holding `registry.terraform.io/...` in the unpacked filesystem-mirror layout. */
export const PROVIDER_MIRROR = process.env.TF_PROVIDER_MIRROR ?? "/opt/tf-plugins";
/** The account id the checks give `data.aws_caller_identity`. */
export const CHECK_ACCOUNT_ID = "123456789012";

type Json = any;

/** What is missing for the Terraform checks on this machine; empty when they can run. */
export function missingTerraformParts(): string[] {
  const missing: string[] = [];
  const version = spawnSync(TERRAFORM, ["version", "-json"], { encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
  if (version.status !== 0) missing.push(`\`${TERRAFORM}\` is not on the PATH (Terraform >= 1.10; set TERRAFORM_BINARY to use another)`);
  if (!mirroredProviderVersion("aws")) {
    missing.push(`no hashicorp/aws provider in the filesystem mirror ${PROVIDER_MIRROR} (set TF_PROVIDER_MIRROR to the folder holding registry.terraform.io)`);
  }
  return missing;
}

/**
 * Whether to run the Terraform checks. Without terraform or the provider mirror they are skipped, with a
 * message saying what is missing; with REQUIRE_TERRAFORM=1 (as `.ci/run` sets) they run and fail on it.
 */
export function terraformChecksEnabled(): boolean {
  const missing = missingTerraformParts();
  if (missing.length === 0 || process.env.REQUIRE_TERRAFORM === "1") return true;
  console.warn(`Skipping the Terraform checks: ${missing.join("; ")}. REQUIRE_TERRAFORM=1 makes this a failure.`);
  return false;
}

/** The newest version of `hashicorp/<name>` in the mirror for this platform, if any. */
export function mirroredProviderVersion(name: string): string | undefined {
  const dir = join(PROVIDER_MIRROR, "registry.terraform.io", "hashicorp", name);
  if (!existsSync(dir)) return undefined;
  const versions = readdirSync(dir).filter((version) => existsSync(join(dir, version, platform())));
  return versions.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
}

function platform(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return `${process.platform}_${arch}`;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Added to the workspace's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Return a failed run instead of throwing. @default false */
  readonly allowFailure?: boolean;
}

/**
 * A scratch folder for one test file's Terraform runs: a CLI configuration that installs providers from
 * the mirror only, and a plugin cache whose entries are links into the mirror, so `terraform init` links
 * the 700 MB provider instead of copying it (under a second instead of ~13 s per working directory).
 */
export class TerraformWorkspace {
  readonly awsVersion: string;
  private readonly env: Record<string, string>;

  private constructor(readonly dir: string) {
    const missing = missingTerraformParts();
    if (missing.length > 0) throw new Error(`The Terraform checks cannot run: ${missing.join("; ")}`);
    this.awsVersion = mirroredProviderVersion("aws")!;
    const cache = join(dir, "plugin-cache");
    const providerDir = join("registry.terraform.io", "hashicorp", "aws", this.awsVersion, platform());
    mkdirSync(join(cache, providerDir, ".."), { recursive: true });
    symlinkSync(join(PROVIDER_MIRROR, providerDir), join(cache, providerDir));
    const cliConfig = join(dir, "terraform.rc");
    writeFileSync(
      cliConfig,
      [
        "provider_installation {",
        `  filesystem_mirror { path = ${JSON.stringify(PROVIDER_MIRROR)} }`,
        "}",
        `plugin_cache_dir = ${JSON.stringify(cache)}`,
        // The checks write no lock files anyone keeps, so the cache may be used without one.
        "plugin_cache_may_break_dependency_lock_file = true",
        "",
      ].join("\n"),
    );
    this.env = {
      TF_CLI_CONFIG_FILE: cliConfig,
      CHECKPOINT_DISABLE: "1",
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      // Never the caller's AWS identity: a check must not be able to reach an account.
      AWS_ACCESS_KEY_ID: "offline-check",
      AWS_SECRET_ACCESS_KEY: "offline-check",
      AWS_PROFILE: "",
      AWS_CONFIG_FILE: join(dir, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-aws-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
      // Terraform and the provider (which inherits this) are short-lived Go processes holding the AWS
      // provider's large schema: collecting garbage a quarter as often cuts a plan's CPU by about 15%
      // for ~150 MB more memory each (GOGC=400 against the default 100, measured on the variants' plan).
      GOGC: "400",
    };
  }

  static create(prefix: string): TerraformWorkspace {
    return new TerraformWorkspace(mkdtempSync(join(tmpdir(), `${prefix}-`)));
  }

  /** The environment every run gets; cdktf's matchers read it from process.env. */
  environment(): Readonly<Record<string, string>> {
    return this.env;
  }

  /** Runs terraform in `cwd`; throws with its output unless it succeeds (or `allowFailure`). */
  run(cwd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, ...this.env, ...options.env };
      for (const name of Object.keys(env)) if (name.startsWith("TF_VAR_") || name === "TF_WORKSPACE") delete env[name];
      const child = spawn(TERRAFORM, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code === 0 || options.allowFailure) resolvePromise({ code, stdout, stderr });
        else reject(new Error(`terraform ${args.join(" ")} failed in ${cwd} (exit ${code}):\n${tail(stderr || stdout)}`));
      });
    });
  }

  /** `terraform plan -refresh=false -out` then `terraform show -json` of that plan. */
  async plan(cwd: string, extraArgs: readonly string[] = [], options: RunOptions = {}): Promise<Plan> {
    await this.run(cwd, ["plan", "-refresh=false", "-input=false", "-no-color", "-out=plan.tfplan", ...extraArgs], options);
    const { stdout } = await this.run(cwd, ["show", "-json", "plan.tfplan"], options);
    return JSON.parse(stdout) as Plan;
  }

  /** Removes the folder, unless KEEP_TERRAFORM_CHECKS=1 asks to keep it for a look at what was planned. */
  remove(): void {
    if (process.env.KEEP_TERRAFORM_CHECKS === "1") console.warn(`Kept the Terraform check folder ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

function tail(text: string, lines = 40): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// The offline copy of a stack

export interface OfflineCopyOptions {
  /** The synthesized stack folder (assets are resolved against it). */
  readonly stackDir: string;
  /** The AWS provider version the copy requires: the mirror's. */
  readonly awsVersion: string;
  /**
   * `module`: no backend (a module may not have one), for a variant planned as a module of a combined
   * configuration; `keep`: the synthesized backend as it is, except that local state stays in the copy's
   * folder instead of the absolute path cdktf writes (the developer's own state file).
   */
  readonly backend: "module" | "keep";
}

/** The stack's Terraform JSON with the substitutions listed at the top of this file. */
export function offlineCopy(tf: Json, options: OfflineCopyOptions): Json {
  const copy = JSON.parse(JSON.stringify(tf)) as Json;
  const outputs = new Map<string, string>();

  for (const [name, archive] of Object.entries<Json>(copy.data?.archive_file ?? {})) {
    const sourceDir = isAbsolute(archive.source_dir) ? archive.source_dir : resolve(options.stackDir, archive.source_dir);
    outputs.set(`data.archive_file.${name}.output_path`, archive.output_path);
    outputs.set(`data.archive_file.${name}.output_base64sha256`, folderDigest(sourceDir));
  }
  for (const name of Object.keys(copy.data?.aws_caller_identity ?? {})) {
    outputs.set(`data.aws_caller_identity.${name}.account_id`, CHECK_ACCOUNT_ID);
    outputs.set(`data.aws_caller_identity.${name}.id`, CHECK_ACCOUNT_ID);
  }
  if (copy.data) {
    delete copy.data.archive_file;
    delete copy.data.aws_caller_identity;
    if (Object.keys(copy.data).length === 0) delete copy.data;
  }
  delete copy.provider?.archive;
  delete copy.terraform?.required_providers?.archive;

  copy.terraform.required_providers.aws = { source: "hashicorp/aws", version: options.awsVersion };
  copy.provider.aws = (Array.isArray(copy.provider.aws) ? copy.provider.aws : [copy.provider.aws]).map((provider: Json) => ({
    ...provider,
    access_key: "offline-check",
    secret_key: "offline-check",
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
  }));

  if (options.backend === "module") {
    delete copy.terraform.backend;
    delete copy.terraform.cloud;
  } else if (copy.terraform.backend?.local) {
    copy.terraform.backend.local = { path: "terraform.tfstate" };
  }

  // A whole-token reference is replaced; anything else referring to a removed data source stays and
  // fails validation, naming it.
  const text = JSON.stringify(copy).replace(/\$\{(data\.(?:archive_file|aws_caller_identity)\.[\w-]+\.\w+)\}/g, (whole, reference: string) => {
    const value = outputs.get(reference);
    return value === undefined ? whole : JSON.stringify(value).slice(1, -1);
  });
  return JSON.parse(text);
}

/** A stand-in for the zip's base64 SHA-256: the same for the same files, different otherwise. */
function folderDigest(dir: string): string {
  const hash = createHash("sha256");
  const walk = (current: string): void => {
    for (const entry of readdirSync(current).sort()) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(dir, path)).update("\0").update(readFileSync(path)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("base64");
}

/** Writes a configuration folder: `<dir>/main.tf.json`. */
export function writeConfiguration(dir: string, tf: Json): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "main.tf.json"), JSON.stringify(tf, null, 1));
  return dir;
}

export const AWS_PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]';

/**
 * A root configuration that calls each copy (`offlineCopy` with backend "module") as a module of its name,
 * with their AWS provider configuration moved to the root: Terraform starts a provider process for every
 * provider configuration, twice in a plan (to validate, then to plan), and the AWS provider spends most of
 * a second of CPU starting. For the variants' plan that is 3 provider processes instead of 15, and a third
 * less CPU. The copies must configure the provider alike (one configuration, no alias), or this refuses them,
 * naming the first that differs; their resources are then under the root's provider in state
 * (`AWS_PROVIDER`). Returns the root and each copy without its provider configuration, by module name.
 */
export function combineModules(copies: ReadonlyArray<{ readonly name: string; readonly tf: Json }>): { root: Json; modules: Map<string, Json> } {
  const [first] = copies;
  if (!first) throw new Error("combineModules: no copies to combine");
  const shared = first.tf.provider?.aws;
  const modules = new Map<string, Json>();
  for (const { name, tf } of copies) {
    // Deep equality, so key order does not matter.
    if ([shared].flat().length !== 1 || !isDeepStrictEqual(tf.provider?.aws, shared)) {
      throw new Error(`combineModules: ${name} configures the AWS provider unlike ${first.name}, or more than once; plan it on its own`);
    }
    const { provider: { aws: _moved, ...others }, ...rest } = tf;
    modules.set(name, Object.keys(others).length > 0 ? { ...rest, provider: others } : rest);
  }
  return {
    root: {
      terraform: { required_providers: { aws: first.tf.terraform.required_providers.aws } },
      provider: { aws: shared },
      module: Object.fromEntries(copies.map(({ name }) => [name, { source: `./${name}` }])),
    },
    modules,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reading plans (`terraform show -json`)

export interface ResourceChange {
  readonly address: string;
  readonly module_address?: string;
  readonly mode: "managed" | "data";
  readonly type: string;
  readonly name: string;
  readonly index?: string | number;
  readonly change: { readonly actions: string[]; readonly after: Json; readonly after_unknown: Json };
}

export interface Plan {
  readonly resource_changes?: ResourceChange[];
  readonly configuration: Json;
  readonly errored?: boolean;
}

/** Managed resources of one module (`undefined`: the root), as planned. */
export function managedChanges(plan: Plan, module?: string): ResourceChange[] {
  return (plan.resource_changes ?? []).filter((r) => r.mode === "managed" && r.module_address === (module && `module.${module}`));
}

/** `aws_lambda_function.chat_connect_function_056F2934["k"]` → `aws_lambda_function.chat_connect_function["k"]`: cdktf's hash suffix dropped. */
export function stableAddress(change: ResourceChange): string {
  const key = change.index === undefined ? "" : `[${JSON.stringify(change.index)}]`;
  return `${change.type}.${change.name.replace(/_[0-9A-F]{8}$/, "")}${key}`;
}

/** The address inside its module: what the stack itself calls the resource. */
export function localAddress(change: ResourceChange): string {
  return change.module_address ? change.address.slice(change.module_address.length + 1) : change.address;
}

// ---------------------------------------------------------------------------------------------------------
// Seeding state: a plan as if the previous one had been applied

/**
 * In a plan that creates everything, an IAM policy that names another resource's ARN is "known after
 * apply". To read the policies, the checks plan a second time with a state in which the resources the
 * policies refer to exist: each attribute the first plan knew keeps its value, and each one it did not
 * gets a placeholder of its type (a string naming it, ARN-shaped for ARN attributes since the provider
 * validates ARNs; 0, false or empty otherwise). The placeholders then show up inside the policies.
 */
export const PLACEHOLDER_ARN_PREFIX = `arn:aws:unknown:us-east-1:${CHECK_ACCOUNT_ID}:`;

export function placeholder(address: string, attribute: string): string {
  const name = `${address}.${attribute}`;
  return attribute === "arn" || attribute.endsWith("_arn") ? `${PLACEHOLDER_ARN_PREFIX}${name}` : `unknown.${name}`;
}

/** What a placeholder stands for (`aws_dynamodb_table.t.arn`), or undefined for an ordinary value. */
export function placeholderTarget(value: string): string | undefined {
  if (value.startsWith(PLACEHOLDER_ARN_PREFIX)) return value.slice(PLACEHOLDER_ARN_PREFIX.length);
  return value.startsWith("unknown.") ? value.slice("unknown.".length) : undefined;
}

/** `terraform providers schema -json`, reduced to what seeding needs: each resource type's schema. */
export interface ResourceSchemas {
  readonly [type: string]: { readonly version: number; readonly block: BlockSchema };
}

interface BlockSchema {
  readonly attributes?: Readonly<Record<string, { readonly type?: Json }>>;
  readonly block_types?: Readonly<Record<string, { readonly nesting_mode: string; readonly block: BlockSchema }>>;
}

/**
 * The AWS provider's resource schemas, as the initialized configuration in `cwd` sees them. Asking the
 * provider costs seconds of CPU, so the answer is kept in the temp folder per provider version (it never
 * changes for a given provider binary) and shared by the test files and later runs.
 */
export async function awsResourceSchemas(workspace: TerraformWorkspace, cwd: string): Promise<ResourceSchemas> {
  const providerDir = join(PROVIDER_MIRROR, "registry.terraform.io", "hashicorp", "aws", workspace.awsVersion, platform());
  const stamp = readdirSync(providerDir)
    .map((file) => `${file}:${statSync(join(providerDir, file)).size}:${statSync(join(providerDir, file)).mtimeMs}`)
    .join(",");
  const cache = join(tmpdir(), `terraform-aws-${workspace.awsVersion}-schemas-${createHash("sha256").update(stamp).digest("hex").slice(0, 12)}.json`);
  try {
    return JSON.parse(readFileSync(cache, "utf8")) as ResourceSchemas;
  } catch {
    // Not cached yet (or cut short by a killed run): ask the provider.
  }
  const { stdout } = await workspace.run(cwd, ["providers", "schema", "-json"]);
  const schemas = (JSON.parse(stdout).provider_schemas as Record<string, { resource_schemas: ResourceSchemas }>)["registry.terraform.io/hashicorp/aws"]!
    .resource_schemas;
  const partial = `${cache}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(schemas));
  renameSync(partial, cache);
  return schemas;
}

export interface StateResource {
  readonly module?: string;
  readonly mode: "managed";
  readonly type: string;
  readonly name: string;
  readonly provider: string;
  readonly instances: Array<{ schema_version: number; attributes: Json; index_key?: string | number }>;
}

/** A state (format 4) holding `resources`. */
export function stateWith(resources: readonly StateResource[], lineage = "00000000-0000-4000-8000-000000000000"): Json {
  return { version: 4, terraform_version: "1.11.4", serial: 1, lineage, outputs: {}, resources, check_results: null };
}

/**
 * State entries, as if the plan had been applied, for the resources of `module` (`undefined`: the root)
 * that the plan's IAM policy documents refer to, under the root's AWS provider (see combineModules).
 */
export function seedPolicyTargets(plan: Plan, schemas: ResourceSchemas, module?: string): StateResource[] {
  const moduleConfig = module ? plan.configuration.root_module.module_calls[module].module : plan.configuration.root_module;
  const policyTargets = new Set<string>();
  for (const resource of moduleConfig.resources ?? []) {
    for (const [attribute, expression] of Object.entries<Json>(resource.expressions ?? {})) {
      if (!(POLICY_ATTRIBUTES[resource.type] ?? []).includes(attribute)) continue;
      for (const reference of collectReferences(expression)) policyTargets.add(reference.split(".").slice(0, 2).join("."));
    }
  }
  return managedChanges(plan, module)
    .filter((change) => change.index === undefined && policyTargets.has(localAddress(change)))
    .map((change) => {
      const schema = schemas[change.type];
      if (!schema) throw new Error(`The provider has no schema for ${change.type}`);
      const address = localAddress(change);
      const attributes = fillBlock(schema.block, change.change.after, change.change.after_unknown, (path) => placeholder(address, path));
      return {
        ...(module ? { module: `module.${module}` } : {}),
        mode: "managed" as const,
        type: change.type,
        name: change.name,
        provider: AWS_PROVIDER,
        instances: [{ schema_version: schema.version, attributes }],
      };
    });
}

/** A block's planned value with every unknown replaced by a placeholder of its type. */
function fillBlock(block: BlockSchema, value: Json, unknown: Json, name: (path: string) => string, path = ""): Json {
  const filled: Record<string, Json> = { ...(value ?? {}) };
  const at = (key: string) => (path ? `${path}.${key}` : key);
  for (const [key, attribute] of Object.entries(block.attributes ?? {})) {
    filled[key] = fillValue(attribute.type, filled[key] ?? null, unknown?.[key], name, at(key));
  }
  for (const [key, nested] of Object.entries(block.block_types ?? {})) {
    const marks = unknown?.[key];
    if (marks === true) filled[key] = nested.nesting_mode === "single" || nested.nesting_mode === "group" ? null : [];
    else if (Array.isArray(filled[key])) {
      filled[key] = filled[key].map((item: Json, i: number) => fillBlock(nested.block, item, Array.isArray(marks) ? marks[i] : undefined, name, `${at(key)}[${i}]`));
    } else if (filled[key] && typeof filled[key] === "object") {
      filled[key] = fillBlock(nested.block, filled[key], marks, name, at(key));
    }
  }
  return filled;
}

/** A value of cty type `type` (`"string"`, `["list", "string"]`, `["object", {...}]`, ...) with unknowns filled. */
function fillValue(type: Json, value: Json, unknown: Json, name: (path: string) => string, path: string): Json {
  if (unknown === true) {
    if (type === "string") return name(path);
    if (type === "number") return 0;
    if (type === "bool") return false;
    if (Array.isArray(type) && (type[0] === "list" || type[0] === "set")) return [];
    if (Array.isArray(type) && type[0] === "map") return {};
    return null;
  }
  if (!Array.isArray(type) || value === null || unknown === undefined || unknown === false) return value;
  const [kind, inner] = type;
  if ((kind === "list" || kind === "set") && Array.isArray(value)) {
    return value.map((item, i) => fillValue(inner, item, Array.isArray(unknown) ? unknown[i] : undefined, name, `${path}[${i}]`));
  }
  if ((kind === "map" || kind === "object") && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, fillValue(kind === "map" ? inner : inner[key], item, unknown[key], name, `${path}.${key}`)]),
    );
  }
  return value;
}

/** Every `references` entry in a resource's `expressions` from `terraform show -json`. */
function collectReferences(expressions: Json): string[] {
  const found: string[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      if (Array.isArray(node.references)) found.push(...node.references);
      for (const [key, child] of Object.entries(node)) if (key !== "references") walk(child);
    }
  };
  walk(expressions);
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// IAM policies in a plan

export interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Principal?: Json;
}

export interface PlannedPolicy {
  /** `aws_iam_role_policy.x.policy`, `aws_iam_role.r.assume_role_policy`, ... */
  readonly where: string;
  readonly statements: readonly PolicyStatementJson[];
}

/** The attributes that hold IAM policy documents, by resource type. */
const POLICY_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  aws_iam_role: ["assume_role_policy"],
  aws_iam_role_policy: ["policy"],
  aws_iam_policy: ["policy"],
  aws_iam_user_policy: ["policy"],
  aws_iam_group_policy: ["policy"],
  aws_sqs_queue_policy: ["policy"],
  aws_sns_topic_policy: ["policy"],
  aws_s3_bucket_policy: ["policy"],
  aws_lambda_permission: [],
};

/**
 * Every IAM policy document the plan of a module holds, parsed. A document the plan does not know yet is
 * an error: the caller plans with a seeded state first (see seedPolicyTargets).
 */
export function plannedPolicies(plan: Plan, module?: string): PlannedPolicy[] {
  const kept = managedChanges(plan, module).filter((change) => change.change.after !== null);
  return kept.flatMap((change) =>
    (POLICY_ATTRIBUTES[change.type] ?? []).map((attribute) => {
      const where = `${localAddress(change)}.${attribute}`;
      if (change.change.after_unknown?.[attribute] === true) throw new Error(`${where} is not known in this plan`);
      const document = JSON.parse(change.change.after[attribute]);
      return { where, statements: [document.Statement].flat() };
    }),
  );
}

export const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());
