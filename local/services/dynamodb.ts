/**
 * DynamoDB for the local runtime: dynalite (the real DynamoDB JSON API, in memory or on disk) on a free
 * loopback port, with the stack's tables, behind a proxy that does what AWS does before a request reaches
 * a table: it verifies the SigV4 signature, identifies the caller from the access key, and evaluates the
 * caller's synthesized IAM policy. A denied call gets the exact error AWS returns, so the SDK in the handler
 * raises AccessDeniedException.
 */
import type { CreateTableCommandInput, KeySchemaElement } from "@aws-sdk/client-dynamodb";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { EventEmitter } from "node:events";
import { createServer, request, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { dynamodbChecks } from "../iam/policy";
import { closeServer, listen } from "../http/servers";
import { checkAccess, type IdentityRegistry } from "../iam/identities";
import { SigV4Error, verifySigV4 } from "../iam/sigv4";
import type { IndexModel, TableModel } from "../terraform/stack-model";

// dynalite ships no types: a function returning an http.Server.
const dynalite = require("dynalite") as (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export interface LocalDynamoDbOptions {
  readonly tables: readonly TableModel[];
  readonly identities: IdentityRegistry;
  readonly region: string;
  readonly account: string;
  /** Keep the data in this folder (LevelDB); in memory when omitted. */
  readonly dataDir?: string;
  readonly log: (line: string) => void;
}

export interface LocalDynamoDb {
  /** The checked endpoint every caller uses: `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** The AWS JSON protocol's error shape (what the SDK's awsJson1_0 deserializer reads). */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = JSON.stringify({ __type: `com.amazon.coral.service#${type}`, message });
  res.writeHead(status, {
    "Content-Type": "application/x-amz-json-1.0",
    "Content-Length": Buffer.byteLength(body),
    "x-amzn-RequestId": randomUUID(),
    "x-amzn-ErrorType": type,
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // Tables are ACTIVE at once: nothing locally waits for a table to be created.
  const store = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const storePort = await listen(store);
  const dispatch = inProcess(store);

  // Requests being served, so stopping can let them finish: dynalite closed under a request it is still
  // working on throws "Database is not open" from inside its own callbacks, killing the process.
  const inFlight = new Set<Promise<void>>();
  const proxy = createServer((req, res) => {
    const served = forward(req, res)
      .catch((error: unknown) => {
        options.log(`DynamoDB proxy error: ${(error as Error).stack ?? String(error)}`);
        if (!res.headersSent) sendError(res, 500, "InternalServerError", "Internal server error");
        else res.destroy();
      })
      .finally(() => inFlight.delete(served));
    inFlight.add(served);
  });

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    let caller;
    try {
      const auth = verifySigV4({ method: req.method ?? "POST", url: req.url ?? "/", headers: req.headers, body }, options.identities.secretFor, {
        service: "dynamodb",
        region: options.region,
      });
      caller = options.identities.byAccessKey(auth.accessKeyId)!;
    } catch (error) {
      if (!(error instanceof SigV4Error)) throw error;
      options.log(`DynamoDB request refused: ${error.code}: ${error.message}`);
      // DynamoDB answers every authentication failure with 400 and the code in `__type`.
      return sendError(res, 400, error.code, error.message);
    }

    const target = String(req.headers["x-amz-target"] ?? "");
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      // Not JSON: dynalite answers with the SerializationException DynamoDB would, touching nothing.
      parsed = undefined;
    }
    if (parsed !== undefined && target) {
      const access = checkAccess(caller, dynamodbChecks(target, parsed, { region: options.region, account: options.account }), options.log);
      if (!access.allowed) return sendError(res, 400, "AccessDeniedException", access.message);
    }

    await dispatch(req, body, res);
  }

  const port = await listen(proxy);
  try {
    await createTables(`http://127.0.0.1:${storePort}`, options);
  } catch (error) {
    await Promise.all([closeServer(proxy), closeServer(store)]);
    throw error;
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      const closed = closeServer(proxy);
      await Promise.race([Promise.allSettled([...inFlight]), delay(STOP_GRACE_MS, undefined, { ref: false })]);
      await closed;
      await closeServer(store);
    },
  };
}

/**
 * Hands a checked request to dynalite's own request handler in this process, writing straight to the caller's
 * response: the same validation, errors and headers as over HTTP, without a second HTTP round trip per call
 * (which cost about a tenth of the runtime's CPU per message). dynalite's handler reads only the method, url
 * and headers of the request and its "data" and "end" events.
 */
function inProcess(store: Server): (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void> {
  const handle = store.listeners("request")[0] as RequestListener | undefined;
  if (typeof handle !== "function") throw new Error("dynalite's server has no request handler to call in process");
  return (req, body, res) =>
    new Promise<void>((resolve) => {
      res.once("close", () => resolve());
      const request = Object.assign(new EventEmitter(), { method: req.method, url: req.url, headers: req.headers });
      handle(request as unknown as IncomingMessage, res);
      if (body.length > 0) request.emit("data", body);
      request.emit("end");
    });
}

/** How long stopping waits for DynamoDB requests under way; dynalite answers in milliseconds. */
const STOP_GRACE_MS = 5_000;

function keySchema(hashKey: string, rangeKey?: string): KeySchemaElement[] {
  return [{ AttributeName: hashKey, KeyType: "HASH" }, ...(rangeKey ? [{ AttributeName: rangeKey, KeyType: "RANGE" as const }] : [])];
}

function index(model: IndexModel) {
  return {
    IndexName: model.name,
    KeySchema: keySchema(model.hashKey, model.rangeKey),
    Projection: { ProjectionType: model.projectionType, ...(model.nonKeyAttributes ? { NonKeyAttributes: [...model.nonKeyAttributes] } : {}) },
  };
}

/** The CreateTable request for a synthesized table; capacity is irrelevant locally, so on-demand. */
export function createTableInput(table: TableModel): CreateTableCommandInput {
  return {
    TableName: table.name,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: table.attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: keySchema(table.hashKey, table.rangeKey),
    ...(table.globalSecondaryIndexes.length ? { GlobalSecondaryIndexes: table.globalSecondaryIndexes.map(index) } : {}),
    ...(table.localSecondaryIndexes.length ? { LocalSecondaryIndexes: table.localSecondaryIndexes.map(index) } : {}),
  };
}

/**
 * One DynamoDB JSON call straight to dynalite, which checks only that a signature is present: table setup is
 * the runtime's own business, not a caller's, so it needs neither the SDK nor the IAM proxy.
 */
function callStore(endpoint: string, region: string, operation: string, input: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = JSON.stringify(input);
  const date = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  return new Promise((resolve, reject) => {
    const req = request(
      `${endpoint}/`,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.0",
          "X-Amz-Target": `DynamoDB_20120810.${operation}`,
          "X-Amz-Date": date,
          Authorization: `AWS4-HMAC-SHA256 Credential=local-runtime/${date.slice(0, 8)}/${region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 500, body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown> }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

type KeyLayout = readonly { readonly AttributeName?: string; readonly KeyType?: string }[] | undefined;
type IndexLayout = readonly { readonly IndexName?: string; readonly KeySchema?: KeyLayout }[] | undefined;

/** Keys and indexes of a table, as one comparable string. */
function layout(keys: KeyLayout, indexes: IndexLayout): string {
  const schema = (k: KeyLayout) => (k ?? []).map((e) => `${e.AttributeName}:${e.KeyType}`).join(",");
  return `keys (${schema(keys)}), indexes [${(indexes ?? []).map((i) => `${i.IndexName}(${schema(i.KeySchema)})`).sort().join(", ")}]`;
}

/**
 * Creates each table, or with a data dir checks that the one already there has the synthesized keys and
 * indexes: data written under another layout would make the handlers fail in confusing ways.
 */
async function createTables(endpoint: string, options: LocalDynamoDbOptions): Promise<void> {
  for (const table of options.tables) {
    const input = createTableInput(table);
    const described = await callStore(endpoint, options.region, "DescribeTable", { TableName: table.name });
    if (described.status !== 200) {
      const created = await callStore(endpoint, options.region, "CreateTable", input);
      if (created.status !== 200) throw new Error(`Creating table ${table.name} failed: ${JSON.stringify(created.body)}`);
      continue;
    }
    const found = described.body.Table as { KeySchema?: KeyLayout; GlobalSecondaryIndexes?: IndexLayout; LocalSecondaryIndexes?: IndexLayout };
    const want = layout(input.KeySchema, [...(input.GlobalSecondaryIndexes ?? []), ...(input.LocalSecondaryIndexes ?? [])]);
    const have = layout(found.KeySchema, [...(found.GlobalSecondaryIndexes ?? []), ...(found.LocalSecondaryIndexes ?? [])]);
    if (want !== have) {
      throw new Error(`Table ${table.name} in ${options.dataDir} has ${have}, but the stack defines ${want}. Delete the data folder to start over.`);
    }
  }
}
