/**
 * What `npm start` prints, from the real `local/main.ts` in a child process: its help, what to change when
 * the port is taken, and a console kept for what a developer acts on, with the functions' EMF metric lines
 * only under --verbose.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { MetricsSnapshot } from "../local/observability/local-observability";
import { synthesizeWorkspace, type Workspace } from "./support/local-stacks";
import { TestClient, waitFor } from "./support/ws-client";

const ROOT = join(__dirname, "..");
const MAIN = ["--import", "tsx", "local/main.ts"];

let workspace: Workspace;
beforeAll(() => {
  workspace = synthesizeWorkspace("local-console");
}, 60_000);
afterAll(() => workspace.remove());

interface Started {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  readonly exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [...MAIN, ...args], { cwd: ROOT, env: { ...process.env, HOST: "127.0.0.1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.on("exit", resolve)) };
}

test("--help lists the flags and the settings npm start reads from the environment", () => {
  const result = spawnSync(process.execPath, [...MAIN, "--help"], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  expect(result.status).toBe(0);
  for (const name of ["PORT=8080", "HOST=127.0.0.1", "CHAT_AUTH=none|jwt", "CHAT_JWT_ISSUER", "--data", "--stack-dir", "--account-rate", "--account-burst", "--verbose"]) {
    expect(result.stdout).toContain(name);
  }
});

describe("a port already in use", () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  test("ends with the address and the setting to change, not a bare EADDRINUSE", async () => {
    const run = start(["--stack-dir", workspace.stackDir], { PORT: String(port) });
    try {
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`127.0.0.1:${port} is already in use`);
      expect(run.output()).toMatch(/set PORT to a free port, e\.g\. PORT=\d+ npm start, or PORT=0 for any free one/);
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 30_000);
});

/** The MessagesSent total on the metrics view's dashboard. */
function messagesSent(snapshot: MetricsSnapshot): number {
  const series = snapshot.dashboards.flatMap((d) => d.widgets).flatMap((w) => (w.kind === "metric" ? w.series : []));
  return series.find((s) => s.metric.name === "MessagesSent")?.total ?? 0;
}

test("an address this machine does not have names HOST as the setting to change", async () => {
  // 192.0.2.0/24 is reserved for documentation: no machine has it.
  const run = start(["--stack-dir", workspace.stackDir], { HOST: "192.0.2.1", PORT: "0" });
  try {
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain("this machine has no address 192.0.2.1: set HOST to one of its addresses");
  } finally {
    run.child.kill("SIGKILL");
  }
}, 30_000);

test("without CHAT_AUTH npm start runs none and says so; HOST=0.0.0.0 warns that the chat is open to the network and /dev/token is not", async () => {
  const { CHAT_AUTH: _unset, ...env } = process.env;
  const child = spawn(process.execPath, MAIN, { cwd: ROOT, env: { ...env, HOST: "0.0.0.0", PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    await waitFor(() => output.includes("WebSocket:"), 60_000, "the welcome");
    expect(output).toContain("CHAT_AUTH is not set: running CHAT_AUTH=none, anyone who can reach this machine may connect.");
    expect(output).toMatch(/Warning: HOST=0\.0\.0\.0 listens beyond this machine: .*\/dev\/token, which mints a token for any name, still answers only clients on this machine/);
  } finally {
    child.kill("SIGKILL");
  }
}, 90_000);

describe("the console while people chat", () => {
  /** Starts npm start, has one client send a message, and returns what it printed by the time that was done. */
  async function chat(args: string[]): Promise<string> {
    const run = start(["--stack-dir", workspace.stackDir, ...args], { PORT: "0" });
    const clients: TestClient[] = [];
    try {
      const wsUrl = await waitFor(() => /WebSocket:\s+(ws:\/\/\S+)/.exec(run.output())?.[1], 20_000, "the printed WebSocket URL");
      const metricsUrl = /Metrics:\s+(http:\/\/\S+)/.exec(run.output())![1]!;
      const [alice, bob] = [await TestClient.connect(wsUrl), await TestClient.connect(wsUrl)];
      clients.push(alice, bob);
      await alice.request({ action: "send-message", message: "hello" });
      // The metrics view has the EMF document once the runtime read it, the moment it would have printed it...
      await waitFor(async () => messagesSent(await (await fetch(`${metricsUrl}.json`)).json()) >= 1, 10_000, "send-message's metrics on the metrics view");
      // ...and a route line printed after that comes after it on the same stdout.
      const { connectionId } = await bob.request<{ connectionId: string }>({ action: "whoami" });
      await waitFor(() => run.output().includes(`route $default ${connectionId} 200 `), 10_000, "the whoami route line");
      return run.output();
    } finally {
      for (const client of clients) client.socket.terminate();
      run.child.kill("SIGKILL");
    }
  }

  test("shows startup, URLs and one line per route, and no EMF metric lines", async () => {
    const output = await chat([]);
    expect(output).toMatch(/route send-message \S+ 200 \d+ms/);
    expect(output).not.toContain("listens beyond this machine");
    expect(output).not.toContain("] EMF {");
    expect(output).not.toContain('"_aws"');
  }, 60_000);

  test("--verbose adds the functions' EMF metric lines", async () => {
    const output = await chat(["--verbose"]);
    expect(output).toMatch(/\[chat-send-message\] EMF \{"_aws":/);
  }, 60_000);
});
