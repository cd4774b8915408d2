/**
 * The Node the suite runs on. npm scripts run the registry's `node` package (a devDependency, first on
 * PATH through node_modules/.bin), whatever Node the machine has; CI's second leg puts the next major first
 * on PATH instead. Either way the tests, the processes they start by name and by process.execPath, and the
 * AWS SDK must all see a Node the project supports.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";

const pkg = JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")) as { engines: { node: string } };
const major = (version: string) => Number(/^v?(\d+)\./.exec(version)?.[1]);

test("the tests run on a Node that package.json's engines accept", () => {
  const minimum = /^>=(\d+)$/.exec(pkg.engines.node)?.[1];
  expect(minimum).toBeDefined();
  expect(major(process.version)).toBeGreaterThanOrEqual(Number(minimum));
});

test("`node` started by name is the Node running the tests", () => {
  // What a child process that says `node` (a script's shebang, cdktf.json's app) gets from PATH.
  expect(execFileSync("node", ["-p", "process.version"], { encoding: "utf8" }).trim()).toBe(process.version);
});

test("the AWS SDK has no Node-version warning for this Node", () => {
  // Spied rather than listened for: in Jest's sandbox, `process` is a copy whose "warning" event the real
  // process never emits on.
  const emitWarning = jest.spyOn(process, "emitWarning").mockImplementation(() => undefined);
  try {
    new DynamoDBClient({ region: "us-east-1" }).destroy();
    const warnings = emitWarning.mock.calls.map(([warning]) => String(warning));
    expect(warnings.filter((warning) => warning.includes("NodeVersionSupportWarning"))).toEqual([]);
  } finally {
    emitWarning.mockRestore();
  }
});
