/**
 * What a figure counts inside a local runtime's process, without a hook in the runtime itself: the CPU
 * time of each function's worker threads, and the functions' DynamoDB calls as the runtime's DynamoDB
 * endpoint receives them, with the write units of the transactions it commits. Installed by
 * server-child.ts before the runtime starts, for a figure whose ServerSpec asks for them (`probes`), so
 * the other figures' runtimes run without them.
 */
import { Server, type IncomingMessage, type ServerResponse } from "node:http";
import { syncBuiltinESMExports } from "node:module";
import workerThreads from "node:worker_threads";

export interface DynamoDbCalls {
  /** Calls answered, by operation. */
  readonly calls: Record<string, number>;
  /** Calls answered with an error (a cancelled transaction, a throttle), by operation. */
  readonly failed: Record<string, number>;
  /** Write units of the committed TransactWriteItems: 2 per KB of each item written (computed from item sizes). */
  readonly transactWriteUnits: number;
}

export interface Probes {
  /** CPU time of each function's worker threads so far, ms, by function name. */
  readonly functionCpuMs: Record<string, number>;
  readonly dynamodb: DynamoDbCalls;
}

const TARGET_PREFIX = "DynamoDB_20120810.";
/** The runtime's own calls to dynalite (transactions, TTL, indexes) carry this credential; the functions' do not. */
const RUNTIME_CREDENTIAL = "Credential=local-runtime/";

const workers: Array<{ name: string; worker: workerThreads.Worker; lastMs: number }> = [];
const calls: Record<string, number> = {};
const failed: Record<string, number> = {};
let transactWriteUnits = 0;

export function installProbes(): void {
  const Original = workerThreads.Worker;
  class TrackedWorker extends Original {
    constructor(file: string | URL, options?: workerThreads.WorkerOptions) {
      super(file, options);
      const env = options?.env as Record<string, string> | undefined;
      const name = env?.AWS_LAMBDA_FUNCTION_NAME;
      if (name) workers.push({ name, worker: this, lastMs: 0 });
    }
  }
  (workerThreads as { Worker: typeof Original }).Worker = TrackedWorker;
  syncBuiltinESMExports();

  const emit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]): boolean {
    const handled = (emit as (this: Server, event: string | symbol, ...args: unknown[]) => boolean).call(this, event, ...args);
    if (event === "request") observe(args[0] as IncomingMessage, args[1] as ServerResponse);
    return handled;
  } as typeof emit;
}

export async function readProbes(): Promise<Probes> {
  const functionCpuMs: Record<string, number> = {};
  for (const entry of workers) {
    const worker = entry.worker as unknown as { cpuUsage?: () => Promise<{ user: number; system: number }> };
    // Worker.cpuUsage() is recent (the project's Node 22 has it, older majors do not): without it the figure says so instead of counting 0.
    if (typeof worker.cpuUsage !== "function") {
      functionCpuMs[entry.name] = NaN;
      continue;
    }
    try {
      const usage = await worker.cpuUsage();
      entry.lastMs = (usage.user + usage.system) / 1000;
    } catch {
      // An environment that has exited keeps the CPU it had used when last read.
    }
    functionCpuMs[entry.name] = (functionCpuMs[entry.name] ?? 0) + entry.lastMs;
  }
  return { functionCpuMs, dynamodb: { calls: { ...calls }, failed: { ...failed }, transactWriteUnits } };
}

function observe(req: IncomingMessage, res: ServerResponse): void {
  const target = req.headers["x-amz-target"];
  if (typeof target !== "string" || !target.startsWith(TARGET_PREFIX)) return;
  if (String(req.headers.authorization ?? "").includes(RUNTIME_CREDENTIAL)) return;
  const operation = target.slice(TARGET_PREFIX.length);
  const chunks: Buffer[] = [];
  if (operation === "TransactWriteItems") req.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.once("finish", () => {
    calls[operation] = (calls[operation] ?? 0) + 1;
    if (res.statusCode !== 200) failed[operation] = (failed[operation] ?? 0) + 1;
    else if (chunks.length > 0) transactWriteUnits += writeUnits(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Transaction);
  });
}

type Wire = Record<string, AttributeValue>;
interface AttributeValue {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  M?: Wire;
  L?: AttributeValue[];
}
interface Transaction {
  TransactItems: Array<{
    Put?: { Item: Wire };
    Update?: { Key: Wire; UpdateExpression: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Wire };
    Delete?: { Key: Wire };
    ConditionCheck?: unknown;
  }>;
}

/**
 * A committed transaction's write units: 2 per started KB of each item written
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html). An
 * update's item is taken as its key and the attributes its SET clauses write, which is the whole item
 * for the items this project updates in transactions (a room's counter).
 */
function writeUnits(transaction: Transaction): number {
  let units = 0;
  for (const action of transaction.TransactItems) {
    let item: Wire | undefined;
    if (action.Put) item = action.Put.Item;
    else if (action.Delete) item = action.Delete.Key;
    else if (action.Update) item = updatedItem(action.Update);
    if (item) units += 2 * Math.max(1, Math.ceil(itemBytes(item) / 1024));
  }
  return units;
}

function updatedItem(update: NonNullable<Transaction["TransactItems"][number]["Update"]>): Wire {
  const item: Wire = { ...update.Key };
  const set = /SET\s+(.*)$/i.exec(update.UpdateExpression)?.[1] ?? "";
  for (const clause of set.split(",")) {
    const [name, value] = clause.split("=").map((part) => part.trim());
    if (!name || !value) continue;
    const attribute = update.ExpressionAttributeNames?.[name] ?? name;
    const written = update.ExpressionAttributeValues?.[value];
    if (written) item[attribute] = written;
  }
  return item;
}

/** DynamoDB's item size: each attribute's name in UTF-8 plus its value (item-size rules in the DynamoDB developer guide). */
function itemBytes(item: Wire): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name, "utf8") + valueBytes(value);
  return size;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, "utf8");
  if (value.N !== undefined) {
    // About one byte per two significant digits, plus one.
    const digits = value.N.replace(/^-/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "").length;
    return Math.ceil(Math.max(1, digits) / 2) + 1;
  }
  if (value.B !== undefined) return Buffer.from(value.B, "base64").length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.M) return 3 + itemBytes(value.M);
  if (value.L) return 3 + value.L.reduce((sum, element) => sum + 1 + valueBytes(element), 0);
  return 0;
}
