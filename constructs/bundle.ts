import { buildSync } from "esbuild";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BundleOptions {
  /** Leave the AWS SDK v3 out of the bundle and load the one the Lambda runtime ships. @default false */
  readonly externalAwsSdk?: boolean;
}

/** The file name of every bundle, so the Lambda handler is always `index.handler`. */
export const BUNDLE_FILE = "index.js";

/**
 * Bundles one handler entry file with esbuild into a fresh folder holding a single minified `index.js`
 * for Lambda's nodejs22.x (CommonJS, so it also loads on the Node 20 the local runtime may run on).
 * Synchronous because constructs are built synchronously.
 */
export function bundleHandler(entry: string, options: BundleOptions = {}): string {
  const outdir = mkdtempSync(join(tmpdir(), "chat-bundle-"));
  try {
    buildSync({
    entryPoints: [entry],
    outfile: join(outdir, BUNDLE_FILE),
    bundle: true,
    minify: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    // A bundle's bytes must depend only on its sources, so an unchanged handler keeps its hash.
    legalComments: "none",
    logLevel: "silent",
    external: options.externalAwsSdk ? ["@aws-sdk/*", "@smithy/*"] : [],
    });
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string }> }).errors;
    const detail = errors?.map((e) => e.text).join("; ") ?? String(error);
    throw new Error(`esbuild could not bundle the handler ${entry}: ${detail}`);
  }
  return outdir;
}
