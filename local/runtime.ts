/**
 * The local runtime: serves a synthesized stack folder (cdk.tf.json and its assets) on one HTTP port with
 * API Gateway's WebSocket semantics, the @connections management API and the web client, runs each route's
 * function in its own execution environment, and keeps the stack's tables in dynalite.
 *
 *   const runtime = await startLocalRuntime({ stackDir, port: 0 });
 *   new WebSocket(runtime.wsUrl); ...; await runtime.stop();
 */
import { createServer, type IncomingMessage, type RequestListener } from "node:http";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import { ConnectionLedger, ConnectionRegistry } from "./gateway/connections";
import { startLocalDynamoDb, type LocalDynamoDb } from "./services/dynamodb";
import type { TtlOptions } from "./services/dynamodb/ttl-sweeper";
import { FunctionRunner, lambdaEnvironment, type Credentials } from "./functions/function-runner";
import { WebSocketGateway } from "./gateway/websocket-gateway";
import { IdentityRegistry } from "./iam/identities";
import { handleManagementRequest, isManagementPath } from "./services/connections-api";
import { accountRateLimit, TokenBucket, type RateLimit } from "./services/account-throttle";
import { isSqsRequest, LocalSqs } from "./services/sqs";
import { loadStackModel } from "./terraform/stack-model";
import type { StackModel } from "./terraform/stack-model-types";
import { closeServer, listen } from "./http/servers";
import { serveStatic } from "./http/static-files";
import { LocalIssuer } from "./identity-provider/local-issuer";
import { LocalObservability } from "./observability/local-observability";
import { METRICS_PATH } from "./observability/metrics-page";
import { loadObservabilityModel } from "./observability/observability-model";

/** Where the runtime listens, known before the stack is read. */
export interface RuntimeAddress {
  readonly host: string;
  readonly port: number;
  /** `http://<host>:<port>/` */
  readonly httpUrl: string;
}

export interface LocalRuntimeOptions {
  /**
   * The synthesized stack folder: `cdktf.out/stacks/<stack>`, holding cdk.tf.json. A function is called
   * once the port is known and returns the folder: for a stack that must know the runtime's address when
   * it is synthesized, such as one whose authorizer trusts the local issuer.
   */
  readonly stackDir: string | ((address: RuntimeAddress) => string | Promise<string>);
  /**
   * Run a local OIDC issuer on the runtime's port (local/identity-provider): its discovery document, JWKS
   * and `POST /dev/token`, with the issuer URL `http://<host>:<port>`. @default false
   */
  readonly localIssuer?: boolean;
  /** @default "127.0.0.1" */
  readonly host?: string;
  /** 0 picks a free port. @default 8080 */
  readonly port?: number;
  /** Keep DynamoDB data (and the ids of open connections) in this folder across restarts. @default in memory */
  readonly dataDir?: string;
  /** Close a connection after this long without a frame from the client. @default 10 minutes, as API Gateway */
  readonly idleTimeoutMs?: number;
  /** Close every connection after this long. @default 2 hours, as API Gateway */
  readonly maxConnectionMs?: number;
  /** Delay added to every @connections call. @default 0 */
  readonly managementLatencyMs?: number;
  /** Share of @connections calls (0..1) answered 429 LimitExceededException. @default 0 */
  readonly managementFailureRate?: number;
  /** DynamoDB Time to Live: how often expired items are looked for, and how long after expiry they go. @default 60 s, 10 min */
  readonly ttl?: TtlOptions;
  /** How far DynamoDB global secondary indexes lag behind their tables. @default 300 ms */
  readonly indexLagMs?: number;
  /**
   * API Gateway's account-level throttle, which @connections calls draw from (429 beyond it); false for none.
   * What is left out is the region's quota. @default 10,000 requests per second with a burst of 5,000 (2,500 and 1,250 in some regions)
   */
  readonly accountThrottle?: Partial<RateLimit> | false;
  /**
   * Execution environments (worker threads) a function may have at once; concurrent invocations beyond it
   * share them. @default the machine's cores less one (the runtime's own thread needs one), from 1 to 4
   */
  readonly environmentsPerFunction?: number;
  /** Invocations one environment runs at once; more wait for a free slot, their timeout not yet running. @default 32 */
  readonly invocationsPerEnvironment?: number;
  /** The static web client. @default the project's web/ */
  readonly webDir?: string;
  /** Where log lines go (one per route invocation, IAM denials, function output). @default console.log */
  readonly log?: (line: string) => void;
  /**
   * Also log the EMF metric lines the functions print: one long JSON document per message, which the
   * metrics view draws either way. @default false
   */
  readonly metricLines?: boolean;
}

export interface StopOptions {
  /**
   * Drop every connection without running $disconnect, as a crash would; with a data dir the next start
   * runs their $disconnect instead. For tests. @default false
   */
  readonly abandonConnections?: boolean;
}

export interface LocalRuntime {
  /** The web client: `http://<host>:<port>/`. */
  readonly httpUrl: string;
  /** What clients connect to: `ws://<host>:<port>/<stage>`. */
  readonly wsUrl: string;
  /** The management API endpoint for the SDK (it appends `/@connections/{id}`): `http://<host>:<port>/<stage>`. */
  readonly managementUrl: string;
  readonly stage: string;
  readonly region: string;
  readonly model: StackModel;
  /** The local issuer, when the runtime runs one. */
  readonly issuer?: LocalIssuer;
  /** The local metrics page: the stack's dashboard and alarms on this run's figures. */
  readonly metricsUrl: string;
  /** This run's metrics (EMF lines, Lambda's and API Gateway's), its alarms and dashboards. */
  readonly observability: LocalObservability;
  /** The IAM-checked DynamoDB endpoint the functions use. */
  readonly dynamodbEndpoint: string;
  /** The IAM-checked SQS endpoint (`AWS_ENDPOINT_URL_SQS`): the runtime's own port. */
  readonly sqsEndpoint: string;
  /** An identity allowed everything, for tests and tools calling the local endpoints with the SDK. */
  readonly adminCredentials: Credentials;
  /** Exactly the environment a function runs with. */
  environmentOf(functionName: string): Readonly<Record<string, string>>;
  /** Ids of the connections open right now. */
  openConnections(): string[];
  /** Closes every connection (each runs $disconnect), then stops the functions, DynamoDB and the server. */
  stop(options?: StopOptions): Promise<void>;
}

type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8080;
const PROJECT_DIR = join(__dirname, "..");

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const log = options.log ?? ((line: string) => console.log(line));
  let handlers: { readonly request: RequestListener; readonly upgrade: UpgradeListener } | undefined;
  // Listen first: the port (maybe a free one) is part of the stack's local values, e.g. the stage's invoke_url.
  const server = createServer((req, res) => {
    if (handlers) return handlers.request(req, res);
    res.writeHead(503, { "Content-Length": 0 }).end();
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (handlers) return handlers.upgrade(req, socket, head);
    socket.destroy();
  });
  const port = await listen(server, options.host ?? DEFAULT_HOST, options.port ?? DEFAULT_PORT);
  const host = urlHost(options.host ?? DEFAULT_HOST);

  const cleanups: Array<() => Promise<void>> = [() => closeServer(server)];
  const unwind = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const httpUrl = `http://${host}:${port}/`;
    const issuer = options.localIssuer ? await LocalIssuer.create(httpUrl) : undefined;
    const stackDir = typeof options.stackDir === "string" ? options.stackDir : await options.stackDir({ host, port, httpUrl });
    const model = loadStackModel({ stackDir, endpoint: { host, port } });
    for (const note of model.notes) log(`note: ${note}`);
    const stage = model.stage.name;
    const managementUrl = `http://${host}:${port}/${stage}`;
    const sqsEndpoint = `http://${host}:${port}`;
    const identities = new IdentityRegistry(model);
    const observability = new LocalObservability({
      model: loadObservabilityModel({ stackDir, endpoint: { host, port } }),
      api: { id: model.api.id, stage },
      throttles: model.functions.some((fn) => fn.reservedConcurrency !== undefined),
    });

    const db: LocalDynamoDb = await startLocalDynamoDb({
      tables: model.tables,
      identities,
      region: model.region,
      account: model.account,
      dataDir: options.dataDir,
      ttl: options.ttl,
      indexLagMs: options.indexLagMs,
      log,
    });
    cleanups.push(() => db.stop());

    const environments = new Map(
      model.functions.map((fn) => [
        fn.name,
        lambdaEnvironment(fn, {
          region: model.region,
          credentials: identities.function(fn.name).credentials,
          dynamodbEndpoint: db.endpoint,
          managementApiEndpoint: managementUrl,
          sqsEndpoint,
          nodePath: join(PROJECT_DIR, "node_modules"),
        }),
      ]),
    );
    const runners = new Map<string, FunctionRunner>();
    let runnersStopped = false;
    // Started on first use: a function no route reaches never loads.
    const runner = (name: string): FunctionRunner => {
      let existing = runners.get(name);
      if (!existing) {
        const fn = model.functions.find((f) => f.name === name)!;
        existing = new FunctionRunner(fn, environments.get(name)!, log, {
          maxEnvironments: options.environmentsPerFunction,
          invocationsPerEnvironment: options.invocationsPerEnvironment,
          observer: observability.functions,
          logMetricLines: options.metricLines ?? false,
        });
        // One asked for while stopping answers every invocation with a failure.
        if (runnersStopped) void existing.stop();
        runners.set(name, existing);
      }
      return existing;
    };
    cleanups.push(async () => {
      runnersStopped = true;
      await Promise.all([...runners.values()].map((r) => r.stop()));
    });
    const sqs = new LocalSqs({ model, identities, runner, log });
    // Before the functions stop: no new batch may start on a stopping runtime.
    cleanups.push(() => sqs.stop());
    const queueMetrics = observability.sampleQueues(() =>
      [...sqs.queues.values()].map((queue) => ({ name: queue.name, ...queue.counts(), oldestAgeSeconds: queue.oldestAgeSeconds() })),
    );
    cleanups.push(async () => queueMetrics.stop());

    const connections = new ConnectionRegistry();
    const ledger = new ConnectionLedger(options.dataDir);
    const gateway = new WebSocketGateway({
      model,
      runner,
      connections,
      ledger,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      log,
      observer: observability.gateway,
    });
    const managementOptions = {
      scope: { region: model.region, account: model.account, apiId: model.api.id, stage },
      connections,
      identities,
      disconnect: (connection: Parameters<WebSocketGateway["close"]>[0]) => gateway.close(connection, 1000, ""),
      latencyMs: options.managementLatencyMs,
      failureRate: options.managementFailureRate,
      ...(options.accountThrottle === false ? {} : { throttle: new TokenBucket({ ...accountRateLimit(model.region), ...options.accountThrottle }) }),
      log,
      onPost: observability.gateway.messageOut,
    };
    const webDir = options.webDir ?? join(PROJECT_DIR, "web");

    handlers = {
      request: (req, res) => {
        if (issuer?.handle(req, res)) return;
        if (observability.handle(req, res)) return;
        if (isSqsRequest(req)) {
          return void sqs.handle(req, res).catch((error: unknown) => {
            log(`SQS error: ${(error as Error).stack ?? String(error)}`);
            if (!res.headersSent) res.writeHead(500, { "Content-Length": 0 }).end();
          });
        }
        if (!isManagementPath(req.url)) return serveStatic(req, res, webDir, stage);
        handleManagementRequest(req, res, managementOptions).catch((error: unknown) => {
          log(`@connections error: ${(error as Error).stack ?? String(error)}`);
          if (!res.headersSent) res.writeHead(500, { "Content-Length": 0 }).end();
        });
      },
      upgrade: (req, socket, head) => gateway.handleUpgrade(req, socket, head),
    };

    // Connections an earlier run on this data dir accepted and never saw close: their sockets are gone,
    // so the stack's own $disconnect cleans up after them (with @connections already answering 410).
    const leftovers = ledger.pending();
    if (leftovers.length > 0) {
      log(`cleaning up ${leftovers.length} connection(s) left open by an earlier run`);
      await Promise.all(leftovers.map((connection) => gateway.cleanUp(connection)));
    }

    sqs.start();

    let stopping: Promise<void> | undefined;
    return {
      httpUrl,
      wsUrl: `ws://${host}:${port}/${stage}`,
      managementUrl,
      stage,
      region: model.region,
      model,
      ...(issuer ? { issuer } : {}),
      metricsUrl: `http://${host}:${port}${METRICS_PATH}`,
      observability,
      dynamodbEndpoint: db.endpoint,
      sqsEndpoint,
      adminCredentials: identities.admin.credentials,
      environmentOf: (name) => {
        const environment = environments.get(name);
        if (!environment) throw new Error(`No function named ${name} in the stack`);
        return environment;
      },
      openConnections: () => connections.all().map((c) => c.connectionId),
      stop: (stopOptions = {}) =>
        (stopping ??= (async () => {
          if (stopOptions.abandonConnections) gateway.abandon();
          else await gateway.shutdown();
          await unwind();
        })()),
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** The host to put in URLs: a wildcard address means "this machine"; IPv6 literals need brackets. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
