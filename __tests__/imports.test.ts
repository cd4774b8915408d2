import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(__dirname, "..");
const SKIP = new Set(["node_modules", "cdktf.out", ".git", "output", ".work"]);

/** Every TypeScript file of the project, outside dependencies and build output. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

// The root entry point of a prebuilt provider loads every resource class: ~6x the time and ~7x the
// memory of a whole synth. Only bench/ may do it, to measure exactly that.
const ROOT_IMPORT = /(?:from\s+|require\(\s*|import\(\s*)["']@cdktf\/provider-(?:aws|archive)["']/;

test("provider classes are imported by deep path, never from the package root", () => {
  const offenders = sourceFiles(ROOT)
    .filter((file) => !relative(ROOT, file).startsWith("bench/"))
    .filter((file) => !file.endsWith("imports.test.ts"))
    .filter((file) => ROOT_IMPORT.test(readFileSync(file, "utf8")))
    .map((file) => relative(ROOT, file));
  expect(offenders).toEqual([]);
});

test("the import check recognises a root import", () => {
  expect(ROOT_IMPORT.test('import { DynamodbTable } from "@cdktf/provider-aws";')).toBe(true);
  expect(ROOT_IMPORT.test('const aws = require("@cdktf/provider-aws")')).toBe(true);
  expect(ROOT_IMPORT.test('import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";')).toBe(false);
});
