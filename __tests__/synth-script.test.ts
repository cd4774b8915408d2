/**
 * `npm run synth` runs the app itself (`node --import tsx main.ts`, cdktf.json's `app`) instead of the
 * cdktf CLI, which spends seconds starting before it runs that same command. Worth it only while the app
 * alone writes exactly what the CLI writes: this compares the two outputs byte for byte.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ROOT = join(__dirname, "..");

/** Every file under `dir` with its bytes, by path relative to `dir`. */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (current: string): void => {
    for (const entry of readdirSync(current)) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

function run(command: string, args: string[], env: Record<string, string>): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: ROOT, env: { ...process.env, CHECKPOINT_DISABLE: "1", ...env }, encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stderr || result.stdout}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "synth-script-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("npm run synth writes exactly the cdktf.out that npx cdktf synth writes", () => {
  const cli = join(dir, "cli");
  const direct = join(dir, "direct");
  const fromCli = run("npx", ["cdktf", "synth", "--output", cli], { CHAT_AUTH: "none" });
  const fromApp = run("npm", ["run", "--silent", "synth"], { CDKTF_OUTDIR: direct, CHAT_AUTH: "none" });

  // The CLI prints whatever its app writes to stderr as an [ERROR]: the app's warning goes to stdout.
  const warning = "Warning: CHAT_AUTH=none: anyone who knows the URL can connect and chat";
  expect(fromApp.stderr).toBe("");
  expect(fromApp.stdout).toContain(warning);
  expect(fromCli.stdout).toContain(warning);
  expect((fromCli.stdout + fromCli.stderr).split("\n").filter((line) => line.includes("CHAT_AUTH") && line.includes("[ERROR]"))).toEqual([]);
  // And it says where it wrote.
  expect(fromApp.stdout).toContain(`Synthesized ${direct}/stacks/chat-account/cdk.tf.json and ${direct}/stacks/chat/cdk.tf.json`);

  const expected = tree(cli);
  const actual = tree(direct);
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  expect(expected.has(join("stacks", "chat", "cdk.tf.json"))).toBe(true);
  expect(expected.has(join("stacks", "chat-account", "cdk.tf.json"))).toBe(true);
  const different = [...expected].filter(([file, bytes]) => !actual.get(file)?.equals(bytes)).map(([file]) => file);
  expect(different).toEqual([]);
}, 180_000);
