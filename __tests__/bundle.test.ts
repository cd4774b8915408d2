import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { bundleHandler, esbuildOptions, LAMBDA_RUNTIMES } from "../constructs/bundle";

const entry = (name: string) => join(__dirname, "..", "handlers", `${name}.ts`);

describe("handler bundles", () => {
  test("are one minified CommonJS file that a fresh Node process loads and finds the handler in", () => {
    const file = join(bundleHandler(entry("default")), "index.js");
    const out = execFileSync(process.execPath, ["-e", `process.stdout.write(typeof require(${JSON.stringify(file)}).handler)`]);
    expect(out.toString()).toBe("function");
    // Minified code runs to thousands of characters a line (readable code is ~40); the few line breaks
    // left are inside the SDK's multi-line template literals.
    const text = readFileSync(file, "utf8");
    expect(text.length / text.split("\n").length).toBeGreaterThan(2000);
  });

  test("leave out the credential providers Lambda never uses, and keep the environment one", () => {
    const code = readFileSync(join(bundleHandler(entry("connect")), "index.js"), "utf8");
    expect(code).not.toContain("AssumeRoleWithWebIdentity");
    expect(code).not.toContain("sso_start_url");
    expect(code).toContain("AWS_SECRET_ACCESS_KEY");
  });

  test("with the SDK external, carry none of it", () => {
    const code = readFileSync(join(bundleHandler(entry("connect"), { externalAwsSdk: true }), "index.js"), "utf8");
    expect(code).toContain('require("@aws-sdk/client-dynamodb")');
    // The SDK's middleware stack is in every client; without the SDK what is left is the handler's own code
    // and aws4, the signer of its hot-path requests; the SDK would add hundreds of KB.
    expect(code).not.toContain("middlewareStack");
    expect(code.length).toBeLessThan(40_000);
  });

  test("target the Node major of the Lambda runtime they are built for, Node 22 unless told", () => {
    expect(esbuildOptions().target).toBe("node22");
    expect(LAMBDA_RUNTIMES.map((runtime) => esbuildOptions({ runtime }).target)).toEqual(["node22", "node24"]);
    // One build per runtime: a stack on nodejs24.x never reuses a bundle built for Node 22.
    expect(bundleHandler(entry("leave"), { runtime: "nodejs24.x" })).not.toBe(bundleHandler(entry("leave")));
  });

  test("an unchanged handler is not bundled twice in one process", () => {
    expect(bundleHandler(entry("leave"))).toBe(bundleHandler(entry("leave")));
  });

  test("the scratch folder of a process killed before it could clean up is removed by the next one", () => {
    const bundleIn = (then: string) =>
      execFileSync(process.execPath, [
        "--import",
        "tsx",
        "-e",
        `const d = require("./constructs/bundle").bundleHandler("handlers/default.ts"); process.stdout.write(d); ${then}`,
      ]).toString();
    let killedScratch = "";
    try {
      bundleIn('process.kill(process.pid, "SIGKILL")');
    } catch (error) {
      killedScratch = dirname(dirname((error as { stdout: Buffer }).stdout.toString()));
    }
    expect(existsSync(killedScratch)).toBe(true);
    bundleIn("");
    expect(existsSync(killedScratch)).toBe(false);
  });

  test("a handler that does not compile fails synth with the file and esbuild's reason", () => {
    expect(() => bundleHandler(join(__dirname, "no-such-handler.ts"))).toThrow(/esbuild could not bundle the handler .*no-such-handler\.ts: Could not resolve/);
  });
});
