/**
 * `npm start`: synthesizes the stack (as `cdktf synth` would) and serves it on this machine.
 *
 *   npm start                               synthesize into cdktf.out, serve on 127.0.0.1:8080, data in memory
 *   npm start -- --data .local-data         keep DynamoDB data across restarts
 *   npm start -- --stack-dir <dir>          serve an already synthesized stack folder, without synthesizing
 *   npm start -- --account-rate 100 --account-burst 50
 *                                           throttle @connections as an account with that API Gateway quota would
 *   HOST=0.0.0.0 PORT=9000 npm start        listen elsewhere
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_HOST, DEFAULT_PORT, startLocalRuntime, type LocalRuntime } from "./runtime";
import { synthesizeStack } from "./terraform/synth";

const USAGE = "Usage: npm start -- [--data <dir>] [--stack-dir <dir>] [--account-rate <requests/s>] [--account-burst <requests>]";

function parsePort(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_PORT;
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new Error(`PORT=${JSON.stringify(value)} is invalid: expected a port number from 0 to 65535`);
  return port;
}

/** A whole number of at least 1 given to a flag, or undefined when the flag is absent. */
function parseCount(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(count >= 1)) throw new Error(`--${flag} ${JSON.stringify(value)} is invalid: expected a whole number of at least 1`);
  return count;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      "stack-dir": { type: "string" },
      "account-rate": { type: "string" },
      "account-burst": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const host = process.env.HOST?.trim() || DEFAULT_HOST;
  const port = parsePort(process.env.PORT?.trim());
  const ratePerSecond = parseCount("account-rate", values["account-rate"]);
  const burst = parseCount("account-burst", values["account-burst"]);

  let stackDir = values["stack-dir"] && resolve(values["stack-dir"]);
  if (!stackDir) {
    const started = Date.now();
    stackDir = synthesizeStack({ outdir: join(process.cwd(), "cdktf.out") });
    console.log(`Synthesized ${join(stackDir, "cdk.tf.json")} in ${Date.now() - started} ms`);
  }

  const runtime = await startLocalRuntime({
    stackDir,
    host,
    port,
    dataDir: values.data && resolve(values.data),
    accountThrottle: { ...(ratePerSecond === undefined ? {} : { ratePerSecond }), ...(burst === undefined ? {} : { burst }) },
  });
  printWelcome(runtime, values.data);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: closing connections (each runs $disconnect) and stopping...`);
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

function printWelcome(runtime: LocalRuntime, dataDir: string | undefined): void {
  const routes = runtime.model.routes.map((r) => r.routeKey).join(", ");
  console.log(
    [
      "",
      `Local chat stack "${runtime.model.api.name}" (stage ${runtime.stage}, routes ${routes})`,
      `  WebSocket:      ${runtime.wsUrl}`,
      `  @connections:   ${runtime.managementUrl}/@connections/{connectionId}`,
      `  Web client:     ${runtime.httpUrl}`,
      `  DynamoDB:       ${dataDir ? `on disk in ${resolve(dataDir)}` : "in memory (use --data <dir> to keep it)"}`,
      ...(runtime.model.queues.length ? [`  SQS:            ${runtime.sqsEndpoint} (${runtime.model.queues.map((q) => q.name).join(", ")}; in memory)`] : []),
      "",
      "Try it from two terminals:",
      `  npx wscat -c ${runtime.wsUrl}`,
      `  > {"action":"send-message","message":"hello!"}`,
      "",
      "Ctrl+C stops (connections are closed and cleaned up).",
      "",
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  if (error instanceof Error && /Unknown option|Unexpected argument/.test(error.message)) console.error(USAGE);
  process.exit(1);
});
