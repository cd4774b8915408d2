/**
 * `npm start`: synthesizes the stack (as `cdktf synth` would) and serves it on this machine.
 * `npm start -- --help` lists the flags and the environment settings it reads (HELP below).
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { hostExposure } from "./http/loopback";
import { localIssuerSettings, TOKEN_PATH } from "./identity-provider/local-issuer";
import { DEFAULT_HOST, DEFAULT_PORT, startLocalRuntime, type LocalRuntime, type RuntimeAddress } from "./runtime";
import { synthesizeStack } from "./terraform/synth";

const USAGE = "Usage: npm start -- [--data <dir>] [--stack-dir <dir>] [--account-rate <requests/s>] [--account-burst <requests>] [--verbose]";

const HELP = `${USAGE}

Synthesizes the chat stack into cdktf.out (as cdktf synth does) and serves it on this machine: API Gateway's
WebSocket semantics, the @connections API, the functions, DynamoDB and SQS with IAM checked, the web page
and the metrics view.

Flags:
  --data <dir>                keep DynamoDB data (and the ids of open connections) in <dir> across restarts;
                              without it, everything is in memory
  --stack-dir <dir>           serve an already synthesized stack folder (cdktf.out/stacks/chat) as it is
  --account-rate <requests/s> throttle @connections calls as an account with this API Gateway quota would
  --account-burst <requests>  ... and this burst (default: the region's quota, 10000/s with a burst of 5000)
  --verbose, -v               also print the functions' EMF metric lines (the metrics view has them either way)
  --help, -h                  this text

Environment:
  PORT=${DEFAULT_PORT}                   the port to listen on; 0 picks a free one
  HOST=${DEFAULT_HOST}              the address to listen on; 0.0.0.0 listens on every interface (with a warning:
                              the chat is then open to the network; /dev/token still answers loopback only)
  CHAT_AUTH=none|jwt          none (when unset): anyone may connect; jwt: a token is required, from a local issuer that
                              npm start runs, or from your identity provider when CHAT_JWT_ISSUER is set
                              (with CHAT_JWT_AUDIENCE, and CHAT_JWT_JWKS_URL when it is not the default)
  CHAT_*                      every other stack setting, read as cdktf synth reads it (README: Configuration)

Examples:
  PORT=9000 npm start
  CHAT_AUTH=jwt npm start
  npm start -- --data .local-data --verbose`;

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
      verbose: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const host = process.env.HOST?.trim() || DEFAULT_HOST;
  const port = parsePort(process.env.PORT?.trim());
  const ratePerSecond = parseCount("account-rate", values["account-rate"]);
  const burst = parseCount("account-burst", values["account-burst"]);

  const given = values["stack-dir"] && resolve(values["stack-dir"]);
  // Synth refuses an unset CHAT_AUTH; here the stack never leaves this machine, so it runs none and says so.
  if (!given && !process.env.CHAT_AUTH?.trim()) {
    console.log("CHAT_AUTH is not set: running CHAT_AUTH=none, anyone who can reach this machine may connect. CHAT_AUTH=jwt requires tokens from the local issuer.");
  }
  const exposure = hostExposure(host);
  if (exposure) console.warn(exposure);
  const localIssuer = !given && usesLocalIssuer(process.env);
  // The stack is synthesized once the runtime listens: with the local issuer its URL includes the port.
  const synthesize = ({ httpUrl }: RuntimeAddress) => {
    const started = Date.now();
    const env = localIssuer ? { ...process.env, ...localIssuerSettings(httpUrl) } : process.env;
    const stackDir = synthesizeStack({ outdir: join(process.cwd(), "cdktf.out"), env });
    console.log(`Synthesized ${join(stackDir, "cdk.tf.json")} in ${Date.now() - started} ms`);
    return stackDir;
  };

  const runtime = await startLocalRuntime({
    stackDir: given || synthesize,
    localIssuer,
    host,
    port,
    dataDir: values.data && resolve(values.data),
    metricLines: values.verbose ?? false,
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

/**
 * `CHAT_AUTH=jwt` without an issuer of one's own: the runtime runs the local issuer and the stack trusts it.
 * The other CHAT_JWT_* settings describe a real issuer, so they make no sense without its CHAT_JWT_ISSUER.
 */
function usesLocalIssuer(env: NodeJS.ProcessEnv): boolean {
  if (env.CHAT_AUTH?.trim() !== "jwt" || env.CHAT_JWT_ISSUER?.trim()) return false;
  for (const name of ["CHAT_JWT_AUDIENCE", "CHAT_JWT_JWKS_URL"]) {
    if (env[name]?.trim()) {
      throw new Error(`${name} is set but CHAT_JWT_ISSUER is not: set CHAT_JWT_ISSUER to use your identity provider, or unset ${name} to use npm start's local issuer`);
    }
  }
  return true;
}

function printWelcome(runtime: LocalRuntime, dataDir: string | undefined): void {
  const routes = runtime.model.routes.map((r) => r.routeKey).join(", ");
  const authorizer = runtime.model.routes.find((r) => r.authorizer)?.authorizer;
  const tokenUrl = runtime.issuer && `${runtime.issuer.issuer}${TOKEN_PATH}`;
  const tryIt = !authorizer
    ? ["Try it from two terminals:", `  npx wscat -c ${runtime.wsUrl}`]
    : runtime.issuer
      ? [
          `Auth: jwt, tokens from the local issuer ${runtime.issuer.issuer} (a new signing key each start).`,
          "Try it from two terminals, with a token for a name each:",
          `  TOKEN=$(curl -s -X POST ${tokenUrl} -H 'Content-Type: application/json' -d '{"name":"alice"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`,
          `  npx wscat -c "${runtime.wsUrl}?token=$TOKEN"`,
        ]
      : [
          `Auth: jwt, tokens from ${runtime.environmentOf(authorizer.functionName).JWT_ISSUER} (audience ${runtime.environmentOf(authorizer.functionName).JWT_AUDIENCE}).`,
          "Try it with an ID token from your identity provider:",
          `  npx wscat -c "${runtime.wsUrl}?token=<token>"`,
        ];
  console.log(
    [
      "",
      `Local chat stack "${runtime.model.api.name}" (stage ${runtime.stage}, routes ${routes})`,
      `  WebSocket:      ${runtime.wsUrl}`,
      `  @connections:   ${runtime.managementUrl}/@connections/{connectionId}`,
      `  Web client:     ${runtime.httpUrl}`,
      `  Metrics:        ${runtime.metricsUrl} (the stack's dashboard and alarms on this run's figures; npm start -- --verbose also prints the EMF lines)`,
      ...(tokenUrl ? [`  Tokens:         POST ${tokenUrl} {"name":"alice"}`] : []),
      `  DynamoDB:       ${dataDir ? `on disk in ${resolve(dataDir)}` : "in memory (use --data <dir> to keep it)"}`,
      ...(runtime.model.queues.length ? [`  SQS:            ${runtime.sqsEndpoint} (${runtime.model.queues.map((q) => q.name).join(", ")}; in memory)`] : []),
      "",
      ...tryIt,
      `  > {"action":"send-message","message":"hello!"}`,
      "",
      "Ctrl+C stops (connections are closed and cleaned up).",
      "",
    ].join("\n"),
  );
}

/** What to change when the port cannot be had: a bare EADDRINUSE names no setting. */
function listenFailure(error: NodeJS.ErrnoException): string | undefined {
  const where = `${process.env.HOST?.trim() || DEFAULT_HOST}:${process.env.PORT?.trim() || DEFAULT_PORT}`;
  switch (error.code) {
    case "EADDRINUSE":
      return `${where} is already in use (another npm start?): set PORT to a free port, e.g. PORT=${DEFAULT_PORT + 1} npm start, or PORT=0 for any free one`;
    case "EACCES":
      return `${where} may not be listened on by this user: set PORT to a port above 1023, e.g. PORT=${DEFAULT_PORT} npm start`;
    case "EADDRNOTAVAIL":
      return `${where}: this machine has no address ${process.env.HOST?.trim()}: set HOST to one of its addresses, e.g. HOST=127.0.0.1 or HOST=0.0.0.0 (every interface)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `HOST=${process.env.HOST?.trim()} does not resolve to an address: set HOST to one of this machine's addresses, e.g. HOST=127.0.0.1`;
    default:
      return undefined;
  }
}

main().catch((error: unknown) => {
  const listening = error instanceof Error ? listenFailure(error as NodeJS.ErrnoException) : undefined;
  console.error(listening ?? (error instanceof Error ? error.message : error));
  if (error instanceof Error && /Unknown option|Unexpected argument/.test(error.message)) console.error(USAGE);
  process.exit(1);
});
