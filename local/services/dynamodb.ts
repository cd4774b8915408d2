/**
 * DynamoDB for the local runtime: dynalite (the real DynamoDB JSON API, in memory or on disk) on a free
 * loopback port, with the stack's tables, behind a proxy that does what AWS does before a request reaches
 * a table: it verifies the SigV4 signature, identifies the caller from the access key, and evaluates the
 * caller's synthesized IAM policy. A denied call gets the exact error AWS returns, so the SDK in the handler
 * raises AccessDeniedException.
 *
 * It also does what dynalite does not and app code can observe (see ./dynamodb/): TransactWriteItems,
 * Time to Live expiry (later than the expiry, as on AWS), and global secondary indexes that lag behind
 * their table.
 */
import type { CreateTableCommandInput, KeySchemaElement } from "@aws-sdk/client-dynamodb";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { dynamodbChecks } from "../iam/policy";
import { closeServer, listen } from "../http/servers";
import { checkAccess, type IdentityRegistry } from "../iam/identities";
import { SigV4Error } from "../iam/sigv4";
import { readBody } from "../http/request-body";
import type { IndexModel, TableModel } from "../terraform/stack-model-types";
import { DEFAULT_INDEX_LAG_MS, IndexReplicas } from "./dynamodb/index-replicas";
import { ReadWriteLock } from "./dynamodb/lock";
import { StoreClient } from "./dynamodb/store-client";
import { itemIdentity, ItemHolds, transactWriteItemsConcurrently } from "./dynamodb/transactions";
import { isMap, writeReturningOldOnFailure } from "./dynamodb/old-image-on-failure";
import { TtlSweeper, type TtlOptions } from "./dynamodb/ttl-sweeper";

// dynalite ships no types: a function returning an http.Server.
const dynalite = require("dynalite") as (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;

export interface LocalDynamoDbOptions {
  readonly tables: readonly TableModel[];
  /**
   * Who may call, with which policies: every request is SigV4-verified and IAM-checked. Without it any
   * signature is accepted and nothing is checked, as with plain dynalite (handler tests).
   */
  readonly identities?: IdentityRegistry;
  readonly region: string;
  readonly account: string;
  /** Keep the data in this folder (LevelDB); in memory when omitted. */
  readonly dataDir?: string;
  /** When expired items are deleted. */
  readonly ttl?: TtlOptions;
  /** How far global secondary indexes lag behind their tables; 0 makes them consistent. @default DEFAULT_INDEX_LAG_MS */
  readonly indexLagMs?: number;
  /**
   * How long a transaction holds its items before committing; other writes to them meanwhile are refused
   * with DynamoDB's conflict errors. 0 commits at once (conflicts then never happen).
   * @default DEFAULT_TRANSACTION_WINDOW_MS
   */
  readonly transactionWindowMs?: number;
  readonly log: (line: string) => void;
}

export interface LocalDynamoDb {
  /** The checked endpoint every caller uses: `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Creates a table (or, with a data dir, checks the one there), with its index replica. */
  createTable(table: TableModel): Promise<void>;
  /** Deletes what has been expired long enough now, instead of at the next sweep; returns how many. */
  sweepExpiredItems(): Promise<number>;
  stop(): Promise<void>;
}

/** The AWS JSON protocol's error shape (what the SDK's awsJson1_0 deserializer reads). */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { __type: `com.amazon.coral.service#${type}`, message });
}

function sendJson(res: ServerResponse, status: number, payload: Record<string, unknown>): void {
  const body = JSON.stringify(payload);
  const type = typeof payload.__type === "string" ? payload.__type.slice(payload.__type.lastIndexOf("#") + 1) : undefined;
  res.writeHead(status, {
    "Content-Type": "application/x-amz-json-1.0",
    "Content-Length": Buffer.byteLength(body),
    "x-amzn-RequestId": randomUUID(),
    ...(type ? { "x-amzn-ErrorType": type } : {}),
  });
  res.end(body);
}

/**
 * A transaction's items are held this long before it commits: long enough that transactions racing on AWS
 * (a few milliseconds each there) conflict here too, short enough not to slow every join and connect.
 */
export const DEFAULT_TRANSACTION_WINDOW_MS = 2;

/** Single-item writes that DynamoDB refuses with TransactionConflictException while a transaction holds the item. */
const SINGLE_ITEM_WRITES: Readonly<Record<string, "Item" | "Key">> = { PutItem: "Item", UpdateItem: "Key", DeleteItem: "Key" };

/** Single-item writes, which may ask for the item's old image when their condition fails. */
const SINGLE_WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);

/** Operations that change items, after which index replicas follow. */
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]);

export async function startLocalDynamoDb(options: LocalDynamoDbOptions): Promise<LocalDynamoDb> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // Tables are ACTIVE at once: nothing locally waits for a table to be created.
  const store = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const storePort = await listen(store);
  const dispatch = inProcess(store);
  const client = new StoreClient(`http://127.0.0.1:${storePort}`, options.region);
  const lock = new ReadWriteLock();
  const tables = new Map<string, TableModel>();
  const indexes = new IndexReplicas(client, lock, options.indexLagMs ?? DEFAULT_INDEX_LAG_MS, options.log);
  const sweeper = new TtlSweeper(client, () => [...tables.values()], lock, options.ttl ?? {}, (table, key) => indexes.follow(table, key), options.log);
  const holds = new ItemHolds();
  const window = { holds, windowMs: options.transactionWindowMs ?? DEFAULT_TRANSACTION_WINDOW_MS, exclusive: <T>(work: () => Promise<T>) => lock.exclusive(work) };
  const keySchemaOf = async (name: string) => {
    const table = tables.get(name);
    return table && [table.hashKey, ...(table.rangeKey ? [table.rangeKey] : [])];
  };

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
    // No limit here: dynalite answers an oversized item or request with DynamoDB's own validation errors.
    const body = (await readBody(req))!;
    let caller;
    if (options.identities) {
      try {
        caller = options.identities.authenticate({ method: req.method ?? "POST", url: req.url ?? "/", headers: req.headers, body }, "dynamodb", options.region);
      } catch (error) {
        if (!(error instanceof SigV4Error)) throw error;
        options.log(`DynamoDB request refused: ${error.code}: ${error.message}`);
        // DynamoDB answers every authentication failure with 400 and the code in `__type`.
        return sendError(res, 400, error.code, error.message);
      }
    }

    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.slice(target.lastIndexOf(".") + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      // Not JSON: dynalite answers with the SerializationException DynamoDB would, touching nothing.
      parsed = undefined;
    }
    if (caller && parsed !== undefined && target) {
      const checks = dynamodbChecks(target, parsed, { region: options.region, account: options.account }, (name) => tables.get(name)?.hashKey);
      const access = checkAccess(caller, checks, options.log);
      if (!access.allowed) return sendError(res, 400, "AccessDeniedException", access.message);
    }

    if (operation === "TransactWriteItems" && parsed !== undefined) {
      const outcome = await transactWriteItemsConcurrently(client, parsed, keySchemaOf, window);
      for (const { table, key } of outcome.written) indexes.follow(table, key);
      return sendJson(res, outcome.status, outcome.body);
    }
    if (heldBySomeTransaction(operation, parsed)) {
      return sendJson(res, 400, { __type: "com.amazonaws.dynamodb.v20120810#TransactionConflictException", message: "Transaction is ongoing for the item" });
    }
    if (SINGLE_WRITES.has(operation) && isMap(parsed) && parsed.ReturnValuesOnConditionCheckFailure === "ALL_OLD") {
      const outcome = await lock.exclusive(() => writeReturningOldOnFailure(client, operation, parsed, keySchemaOf));
      if (outcome.status === 200) indexes.afterWrite(operation, parsed);
      return sendJson(res, outcome.status, outcome.body);
    }
    const redirected = indexes.redirect(operation, parsed);
    const sent = redirected ? Buffer.from(JSON.stringify(redirected)) : body;
    const request = redirected ? ({ method: req.method, url: req.url, headers: { ...req.headers, "content-length": String(sent.length) } } as IncomingMessage) : req;
    await lock.shared(() => dispatch(request, sent, res));
    if (res.statusCode === 200 && WRITES.has(operation)) indexes.afterWrite(operation, parsed);
  }

  function heldBySomeTransaction(operation: string, request: unknown): boolean {
    const field = SINGLE_ITEM_WRITES[operation];
    if (!field || typeof request !== "object" || request === null) return false;
    const { TableName: name, [field]: source } = request as Record<string, unknown>;
    const table = typeof name === "string" ? tables.get(name) : undefined;
    if (!table || typeof source !== "object" || source === null) return false;
    return holds.isHeld(itemIdentity(table.name, [table.hashKey, ...(table.rangeKey ? [table.rangeKey] : [])], source as Record<string, unknown>));
  }

  async function createTable(table: TableModel): Promise<void> {
    await createOrCheckTable(client, table, options.dataDir);
    const replica = indexes.add(table);
    if (replica) await createOrCheckTable(client, replica, options.dataDir);
    tables.set(table.name, table);
  }

  const port = await listen(proxy);
  try {
    for (const table of options.tables) await createTable(table);
  } catch (error) {
    client.destroy();
    await Promise.all([closeServer(proxy), closeServer(store)]);
    throw error;
  }
  sweeper.start();

  return {
    endpoint: `http://127.0.0.1:${port}`,
    createTable,
    sweepExpiredItems: () => sweeper.sweep(),
    async stop() {
      const closed = closeServer(proxy);
      await Promise.race([Promise.allSettled([...inFlight]), delay(STOP_GRACE_MS, undefined, { ref: false })]);
      await closed;
      await Promise.all([sweeper.stop(), indexes.stop()]);
      client.destroy();
      await closeServer(store);
    },
  };
}

/**
 * Hands a checked request to dynalite's own request handler in this process, writing straight to the caller's
 * response: the same validation, errors and headers as over HTTP, without a second HTTP round trip per call,
 * which would add to the runtime's CPU per message (bench/results.md, figure 10). dynalite's handler reads
 * only the method, url and headers of the request and its "data" and "end" events.
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

type KeyLayout = readonly { readonly AttributeName?: string; readonly KeyType?: string }[] | undefined;
type IndexLayout = readonly { readonly IndexName?: string; readonly KeySchema?: KeyLayout }[] | undefined;

/** Keys and indexes of a table, as one comparable string. */
function layout(keys: KeyLayout, indexes: IndexLayout): string {
  const schema = (k: KeyLayout) => (k ?? []).map((e) => `${e.AttributeName}:${e.KeyType}`).join(",");
  return `keys (${schema(keys)}), indexes [${(indexes ?? []).map((i) => `${i.IndexName}(${schema(i.KeySchema)})`).sort().join(", ")}]`;
}

/**
 * Creates a table, or with a data dir checks that the one already there has the synthesized keys and
 * indexes: data written under another layout would make the handlers fail in confusing ways.
 */
async function createOrCheckTable(client: StoreClient, table: TableModel, dataDir: string | undefined): Promise<void> {
  const input = createTableInput(table);
  const described = await client.call("DescribeTable", { TableName: table.name });
  if (described.status !== 200) {
    const created = await client.call("CreateTable", input);
    if (created.status !== 200) throw new Error(`Creating table ${table.name} failed: ${JSON.stringify(created.body)}`);
    return;
  }
  const found = described.body.Table as { KeySchema?: KeyLayout; GlobalSecondaryIndexes?: IndexLayout; LocalSecondaryIndexes?: IndexLayout };
  const want = layout(input.KeySchema, [...(input.GlobalSecondaryIndexes ?? []), ...(input.LocalSecondaryIndexes ?? [])]);
  const have = layout(found.KeySchema, [...(found.GlobalSecondaryIndexes ?? []), ...(found.LocalSecondaryIndexes ?? [])]);
  if (want !== have) {
    throw new Error(`Table ${table.name} in ${dataDir} has ${have}, but the stack defines ${want}. Delete the data folder to start over.`);
  }
}
