import { buildSync, type BuildOptions } from "esbuild";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

/**
 * The Lambda runtimes the functions may run on: Node.js 22 (the default) and 24. Bundles are built for the
 * one chosen, so esbuild may use every language feature that runtime's Node has.
 */
export const LAMBDA_RUNTIMES = ["nodejs22.x", "nodejs24.x"] as const;
export type LambdaRuntime = (typeof LAMBDA_RUNTIMES)[number];

/** The runtime a function runs on where nothing chooses one; bundled-function.ts's FUNCTION_DEFAULTS carries it. */
export const DEFAULT_LAMBDA_RUNTIME: LambdaRuntime = "nodejs22.x";

/** esbuild's target for a runtime: `nodejs24.x` → `node24`. */
export function esbuildTarget(runtime: LambdaRuntime): string {
  return `node${/^nodejs(\d+)\.x$/.exec(runtime)![1]}`;
}

export interface BundleOptions {
  /** Leave the AWS SDK v3 out of the bundle and load the one the Lambda runtime ships. @default false */
  readonly externalAwsSdk?: boolean;
  /** The runtime the bundle runs on; it sets esbuild's target. @default DEFAULT_LAMBDA_RUNTIME */
  readonly runtime?: LambdaRuntime;
}

/** The file name of every bundle, so the Lambda handler is always `index.handler`. */
export const BUNDLE_FILE = "index.js";

/** Lambda's credentials come from the environment only; see the file for why the bundles use it. */
const LAMBDA_CREDENTIALS = resolve(__dirname, "..", "handlers", "lib", "aws", "lambda-credentials.ts");

interface CachedBundle {
  readonly outdir: string;
  /** Every source file that went into the bundle, with its modification time then. */
  readonly inputs: ReadonlyArray<readonly [string, number]>;
}

// Tests and the local runtime synthesize several stacks in one process; a bundle whose inputs have not
// changed since is reused instead of rebuilt.
const cache = new Map<string, CachedBundle>();

// Synth copies each bundle into cdktf.out, so the bundles of a process are scratch: one folder per
// process (parallel jest workers never share one), named for its pid and removed when the process exits.
// A process killed by a signal never sees "exit", so the next one removes the folders of dead processes.
let scratchDir: string | undefined;
function scratch(): string {
  if (!scratchDir) {
    const root = join(tmpdir(), "chat-bundles");
    mkdirSync(root, { recursive: true });
    for (const name of readdirSync(root)) {
      if (!isAlive(Number(name.split("-")[0]))) rmSync(join(root, name), { recursive: true, force: true });
    }
    const dir = mkdtempSync(join(root, `${process.pid}-`));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    scratchDir = dir;
  }
  return scratchDir;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const cacheKey = (entry: string, options: BundleOptions) =>
  `${resolve(entry)}\0${options.externalAwsSdk ? "external" : "bundled"}\0${options.runtime ?? DEFAULT_LAMBDA_RUNTIME}`;

/**
 * The folder holding the bundle of one handler entry file: a single minified CommonJS `index.js` for the
 * chosen Lambda runtime, which the local runtime's workers load as Lambda does. Synchronous because
 * constructs are built synchronously.
 */
export function bundleHandler(entry: string, options: BundleOptions = {}): string {
  bundleHandlers([entry], options);
  return cache.get(cacheKey(entry, options))!.outdir;
}

/**
 * Bundles every entry not bundled yet in one esbuild run. The handlers share most of their code (the
 * SDK above all), which one run parses once, so together they build in a fraction of the time they take apart
 * (bench/results.md, figure 1 "synth").
 * A stack that knows its handlers up front calls this first; bundleHandler then finds them built.
 */
export function bundleHandlers(entries: readonly string[], options: BundleOptions = {}): void {
  const stale = [...new Set(entries.map((entry) => resolve(entry)))].filter((entry) => {
    const cached = cache.get(cacheKey(entry, options));
    return !cached || cached.inputs.some(([file, mtime]) => mtimeOf(file) !== mtime);
  });
  if (stale.length === 0) return;

  const outdir = mkdtempSync(join(scratch(), "bundles-"));
  const outputs = stale.map((entry, i) => ({ entry, dir: join(outdir, String(i)) }));
  let metafile;
  try {
    metafile = buildSync({
      ...esbuildOptions(options),
      entryPoints: outputs.map(({ entry, dir }) => ({ in: entry, out: relative(outdir, join(dir, "index")) })),
      outdir,
      logLevel: "silent",
      metafile: true,
    }).metafile;
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string }> }).errors;
    const detail = errors?.map((e) => e.text).join("; ") ?? String(error);
    throw new Error(`esbuild could not bundle the handler${stale.length > 1 ? "s" : ""} ${stale.join(", ")}: ${detail}`);
  }
  for (const { entry, dir } of outputs) {
    const output = metafile.outputs[relative(process.cwd(), join(dir, BUNDLE_FILE))];
    const inputs = Object.keys(output.inputs).map((file) => {
      const path = resolve(file);
      return [path, mtimeOf(path)] as const;
    });
    cache.set(cacheKey(entry, options), { outdir: dir, inputs });
  }
}

/** How every handler is built; the benchmarks build variants of a handler with the same options. */
export function esbuildOptions(options: BundleOptions = {}): BuildOptions {
  return {
    bundle: true,
    minify: true,
    platform: "node",
    target: esbuildTarget(options.runtime ?? DEFAULT_LAMBDA_RUNTIME),
    format: "cjs",
    // A bundle's bytes must depend only on its sources, so an unchanged handler keeps its hash.
    legalComments: "none",
    // The SDK ships ES modules beside CommonJS; preferring them lets esbuild drop what is unused
    // (a third of the bundle), which is parse time saved on every cold start.
    mainFields: ["module", "main"],
    external: options.externalAwsSdk ? ["@aws-sdk/*", "@smithy/*"] : [],
    alias: options.externalAwsSdk ? undefined : { "@aws-sdk/credential-provider-node": LAMBDA_CREDENTIALS },
  };
}

function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}
