/**
 * `npm run check:cdktn`: proves the way off CDKTF (archived) to CDK Terrain (cdktn) without taking it.
 *
 * In a scratch copy of the app it swaps cdktf, cdktf-cli, @cdktf/provider-aws and @cdktf/provider-archive
 * for their cdktn equivalents (the current releases on the registry) and constructs for the newest version
 * cdktn accepts (cdktf accepts any 10.x), installs from the registry, rewrites the imports, and synthesizes
 * every configuration variant the Terraform plan checks plan (__tests__/support/plan-variants.ts), each once
 * with cdktf here and once with cdktn there. Every stack's cdk.tf.json and asset files must be the same;
 * only provider version constraints and the framework's own metadata may differ. Every other difference is
 * printed, and the check fails.
 *
 *   npm run check:cdktn                 needs the npm registry; a few minutes, most of it the install
 *   npm run check:cdktn -- --keep       leaves the scratch folder for a look
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { PLAN_VARIANTS } from "../__tests__/support/plan-variants";

const ROOT = join(__dirname, "..");
/** What the app needs to synthesize: the app, its constructs, the handlers it bundles, their config. */
const APP_FILES = ["main.ts", "constructs", "handlers", "tsconfig.json", "cdktf.json", "package.json", "package-lock.json"];
/** The source directories whose imports name the framework. */
const SOURCES = ["main.ts", "constructs"];

/** cdktf package -> its cdktn equivalent. */
const SWAPS: Readonly<Record<string, string>> = {
  cdktf: "cdktn",
  "cdktf-cli": "cdktn-cli",
  "@cdktf/provider-aws": "@cdktn/provider-aws",
  "@cdktf/provider-archive": "@cdktn/provider-archive",
};

/**
 * The differences a framework swap is allowed to make, by JSON path: the provider version constraints
 * (the cdktn providers wrap newer hashicorp/aws and hashicorp/archive releases) and the framework
 * version cdktf records in the stack's metadata.
 */
const ALLOWED: readonly RegExp[] = [/^terraform\.required_providers\.[^.]+\.version$/, /^\/\/\.metadata\.version$/];

/**
 * A provider's source address, fully qualified as Terraform reads it: `aws`, `hashicorp/aws` and
 * `registry.terraform.io/hashicorp/aws` are one provider (the default host and namespace), so the two
 * spellings are equivalent, not a difference; the state records the full address either way.
 */
const PROVIDER_SOURCE = /^terraform\.required_providers\.[^.]+\.source$/;
function fullProviderAddress(source: unknown): unknown {
  if (typeof source !== "string") return source;
  const parts = source.toLowerCase().split("/");
  if (parts.length === 1) return `registry.terraform.io/hashicorp/${parts[0]}`;
  if (parts.length === 2) return `registry.terraform.io/${parts[0]}/${parts[1]}`;
  return source.toLowerCase();
}

/**
 * The app's own folder, which cdktf writes into the local backend's state path: the copy synthesizes in
 * another folder, so both sides' folders read as APP_DIR before comparing.
 */
const APP_DIR = "<app folder>";
function withoutAppDir(value: unknown, dir: string): unknown {
  if (typeof value === "string") return value.split(dir).join(APP_DIR);
  if (Array.isArray(value)) return value.map((item) => withoutAppDir(item, dir));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutAppDir(item, dir)]));
  }
  return value;
}

interface Difference {
  readonly path: string;
  readonly cdktf: unknown;
  readonly cdktn: unknown;
}

function sh(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}) in ${options.cwd}:\n${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

function npmView(spec: string, field: string): unknown {
  const out = sh("npm", ["view", spec, field, "--json"], { cwd: ROOT }).trim();
  const value: unknown = JSON.parse(out);
  // For a range, npm view lists every matching version; the last is the newest.
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/** The scratch project: the app's files, cdktn's packages in cdktf's places, the imports rewritten. */
function prepareScratch(scratch: string): Record<string, string> {
  for (const file of APP_FILES) cpSync(join(ROOT, file), join(scratch, file), { recursive: true });

  const versions: Record<string, string> = {};
  for (const name of Object.values(SWAPS)) versions[name] = String(npmView(name, "version"));
  const constructsRange = String((npmView(`cdktn@${versions.cdktn}`, "peerDependencies") as Record<string, string>).constructs);
  versions.constructs = String(npmView(`constructs@${constructsRange}`, "version"));

  const pkgFile = join(scratch, "package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  for (const deps of [pkg.dependencies, pkg.devDependencies]) {
    for (const [from, to] of Object.entries(SWAPS)) {
      if (from in deps) {
        delete deps[from];
        deps[to] = versions[to];
      }
    }
    if ("constructs" in deps) deps.constructs = versions.constructs;
    // The synths below run on the Node running this script; a second copy of it would only cost the install.
    delete deps.node;
  }
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);

  const rewrite = (file: string) => {
    const source = readFileSync(file, "utf8");
    const swapped = source
      .replace(/(from\s+|import\s*\(\s*|require\(\s*)(["'])cdktf\2/g, "$1$2cdktn$2")
      .replace(/(["'])@cdktf\/(provider-aws|provider-archive)(\/[^"']*)?\1/g, "$1@cdktn/$2$3$1");
    if (swapped !== source) writeFileSync(file, swapped);
  };
  for (const source of SOURCES) {
    const path = join(scratch, source);
    if (statSync(path).isDirectory()) for (const file of listFiles(path)) file.endsWith(".ts") && rewrite(file);
    else rewrite(path);
  }
  const left = SOURCES.flatMap((source) => {
    const path = join(scratch, source);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  }).filter((file) => /(from\s+|import\s*\(\s*|require\(\s*)["']@?cdktf[/"']/.test(readFileSync(file, "utf8")));
  if (left.length > 0) throw new Error(`imports of cdktf left after the rewrite: ${left.map((file) => relative(scratch, file)).join(", ")}`);

  // The lockfile keeps every other package at the version the project tests with, so the bundles match.
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: scratch });
  return versions;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Synthesizes the app in `cwd` with a variant's settings into `outdir`, as `npm run synth` does. */
function synth(cwd: string, env: Readonly<Record<string, string>>, outdir: string): void {
  mkdirSync(outdir, { recursive: true });
  // cdktn's App reads its output folder from cdktf's variable too.
  sh(process.execPath, ["--import", "tsx", "main.ts"], { cwd, env: { ...process.env, CHECKPOINT_DISABLE: "1", ...env, CDKTF_OUTDIR: outdir } });
}

/** Every leaf where two JSON values differ, by dotted path. */
function differences(a: unknown, b: unknown, path = ""): Difference[] {
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
  if (isObject(a) && isObject(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((key) => differences(a[key], b[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path, cdktf: a, cdktn: b }];
}

interface Comparison {
  /** Provider versions and framework metadata. */
  readonly allowed: Difference[];
  /** Different spellings of the same thing (provider source addresses). */
  readonly equivalent: Difference[];
  readonly other: Difference[];
}

/**
 * Compares two synthesized outputs: each stack's cdk.tf.json by JSON path (each side's app folder read as
 * APP_DIR), every other file (the bundled functions) by its bytes.
 */
function compareOutputs(cdktfOut: string, cdktfApp: string, cdktnOut: string, cdktnApp: string): Comparison {
  const allowed: Difference[] = [];
  const equivalent: Difference[] = [];
  const other: Difference[] = [];
  const filesOf = (dir: string) => new Set(existsSync(dir) ? listFiles(dir).map((file) => relative(dir, file)) : []);
  const ours = filesOf(join(cdktfOut, "stacks"));
  const theirs = filesOf(join(cdktnOut, "stacks"));
  for (const file of [...new Set([...ours, ...theirs])].sort()) {
    if (!ours.has(file) || !theirs.has(file)) {
      other.push({ path: `stacks/${file}`, cdktf: ours.has(file) ? "present" : "absent", cdktn: theirs.has(file) ? "present" : "absent" });
      continue;
    }
    const a = readFileSync(join(cdktfOut, "stacks", file));
    const b = readFileSync(join(cdktnOut, "stacks", file));
    if (file.endsWith("cdk.tf.json")) {
      const ourJson = withoutAppDir(JSON.parse(a.toString("utf8")), cdktfApp);
      const theirJson = withoutAppDir(JSON.parse(b.toString("utf8")), cdktnApp);
      for (const difference of differences(ourJson, theirJson)) {
        const found = { ...difference, path: `stacks/${file}: ${difference.path}` };
        if (ALLOWED.some((pattern) => pattern.test(difference.path))) allowed.push(found);
        else if (PROVIDER_SOURCE.test(difference.path) && fullProviderAddress(difference.cdktf) === fullProviderAddress(difference.cdktn)) equivalent.push(found);
        else other.push(found);
      }
    } else if (!a.equals(b)) {
      other.push({ path: `stacks/${file}`, cdktf: `${a.length} bytes`, cdktn: `${b.length} bytes, different` });
    }
  }
  return { allowed, equivalent, other };
}

const show = (value: unknown) => (value === undefined ? "(absent)" : JSON.stringify(value));

function main(): number {
  const keep = process.argv.includes("--keep");
  const scratch = mkdtempSync(join(tmpdir(), "check-cdktn-"));
  const app = join(scratch, "app");
  try {
    process.stderr.write(`check-cdktn: installing the cdktn packages in ${app}…\n`);
    const versions = prepareScratch(app);
    console.log(`cdktn side: ${Object.entries(versions).map(([name, version]) => `${name}@${version}`).join(", ")}`);

    let failed = false;
    const seenAllowed = new Map<string, Difference>();
    const seenEquivalent = new Map<string, Difference>();
    const once = (seen: Map<string, Difference>, found: readonly Difference[]) => {
      for (const difference of found) seen.set(`${difference.path.replace(/^stacks\/[^/]+\//, "")} ${show(difference.cdktf)} ${show(difference.cdktn)}`, difference);
    };
    for (const variant of PLAN_VARIANTS) {
      const cdktfOut = join(scratch, "out", variant.name, "cdktf");
      const cdktnOut = join(scratch, "out", variant.name, "cdktn");
      synth(ROOT, variant.env, cdktfOut);
      synth(app, variant.env, cdktnOut);
      const { allowed, equivalent, other } = compareOutputs(cdktfOut, ROOT, cdktnOut, app);
      once(seenAllowed, allowed);
      once(seenEquivalent, equivalent);
      const stacks = readdirSync(join(cdktfOut, "stacks")).join(", ");
      console.log(`${variant.name} (${stacks}): ${other.length === 0 ? "same stacks" : `${other.length} difference(s) beyond versions and metadata`}`);
      for (const difference of other) console.log(`  ${difference.path}\n    cdktf: ${show(difference.cdktf)}\n    cdktn: ${show(difference.cdktn)}`);
      failed ||= other.length > 0;
    }
    const list = (heading: string, seen: Map<string, Difference>) => {
      console.log(heading);
      for (const difference of seen.values()) {
        console.log(`  ${difference.path.replace(/^stacks\/[^/]+\//, "")}: cdktf ${show(difference.cdktf)}, cdktn ${show(difference.cdktn)}`);
      }
    };
    list("Allowed differences (provider versions, framework metadata), in each stack where they occur:", seenAllowed);
    list("Equivalent spellings (the same provider address):", seenEquivalent);
    console.log(failed ? "check:cdktn: FAILED, cdktn synthesizes a different stack" : "check:cdktn: passed, cdktn synthesizes the same stacks");
    return failed ? 1 : 0;
  } finally {
    if (keep) process.stderr.write(`check-cdktn: kept ${scratch}\n`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  process.exit(main());
} catch (error: unknown) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
