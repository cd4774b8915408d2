/**
 * Child-process entry for the fan-out and capacity figures: serves the project's local runtime, its bare
 * path or the bare ws relay in a process of its own, so its CPU is not the clients' and its RSS is its own.
 *   node --import tsx bench/lib/server-child.ts '<ServerSpec as JSON>'
 * Talks to the parent (server-process.ts) over IPC: "ready" with the URL, "rss" on request, exit on "stop".
 */
import { readFileSync } from "node:fs";
import { startLocalRuntime } from "../../local/runtime";
import type { ParentMessage, RuntimeEndpoints, ServerSpec } from "./server-process";
import { startWsRelay } from "./ws-relay";
import { startBarePath } from "./bare-path";
import { installProbes, readProbes } from "./runtime-probes";

const HOST = "127.0.0.1";

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as ServerSpec;
  if (spec.kind === "runtime" && spec.probes) installProbes();
  const patterns = spec.kind === "runtime" ? (spec.countLines ?? []).map((source) => new RegExp(source)) : [];
  const counts = patterns.map(() => 0);
  const countLine = (line: string) => {
    for (let i = 0; i < patterns.length; i += 1) if (patterns[i]!.test(line)) counts[i] += 1;
  };
  const server =
    spec.kind === "relay" ? await startWsRelay(HOST) : spec.kind === "bare-path" ? await startBarePath(HOST, spec.transport) : await startRuntime(spec, countLine);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    process.exit(0);
  };
  process.on("message", (message: ParentMessage) => {
    if (message.type === "rss") process.send?.({ type: "rss", bytes: process.memoryUsage().rss });
    if (message.type === "cpu") process.send?.({ type: "cpu", ...cpuTime() });
    if (message.type === "counts") process.send?.({ type: "counts", counts });
    if (message.type === "probes") void readProbes().then((probes) => process.send?.({ type: "probes", probes }));
    if (message.type === "stop") void stop();
  });
  process.on("disconnect", () => void stop());
  process.send?.({ type: "ready", wsUrl: server.wsUrl, ...("endpoints" in server && { endpoints: server.endpoints }) });
}

async function startRuntime(
  spec: Extract<ServerSpec, { kind: "runtime" }>,
  countLine: (line: string) => void,
): Promise<{ wsUrl: string; endpoints: RuntimeEndpoints; stop(): Promise<void> }> {
  const runtime = await startLocalRuntime({
    stackDir: spec.stackDir,
    host: HOST,
    port: 0,
    managementLatencyMs: spec.managementLatencyMs,
    managementFailureRate: spec.managementFailureRate,
    ...(spec.accountThrottle && { accountThrottle: spec.accountThrottle }),
    // Counted, not printed: the baseline logs every failed post, and thousands of lines would only slow the figure down.
    log: countLine,
  });
  return {
    wsUrl: runtime.wsUrl,
    endpoints: {
      region: runtime.region,
      sqsEndpoint: runtime.sqsEndpoint,
      adminCredentials: runtime.adminCredentials,
      queues: runtime.model.queues.map((queue) => ({ name: queue.name, url: queue.url })),
    },
    // Dropping the connections skips thousands of $disconnect runs: the tables are in memory and go anyway.
    stop: () => runtime.stop({ abandonConnections: true }),
  };
}

/** All threads from process.cpuUsage; the main thread's own from /proc (Linux), where its task id is the pid. */
function cpuTime(): { processMs: number; mainThreadMs?: number } {
  const usage = process.cpuUsage();
  const processMs = (usage.user + usage.system) / 1000;
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, in clock ticks of 1/100 s (USER_HZ on Linux).
    return { processMs, mainThreadMs: (Number(fields[11]) + Number(fields[12])) * 10 };
  } catch {
    return { processMs };
  }
}

main().catch((error: unknown) => {
  process.send?.({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
