/**
 * Eventually consistent global secondary indexes for the local tables. dynalite updates an index in the
 * same step as its table, so a Query on an index always sees the latest writes; on AWS an index follows
 * its table asynchronously, "typically within a fraction of a second", and a reader can miss an item just
 * written or still see one just deleted. Code that decides something from an index read (who is in a
 * room, say) must survive that, and only a runtime that reproduces the lag can show whether it does.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes
 *
 * Each table with a GSI gets a hidden replica with the same keys and indexes. Every write to the table is
 * copied to the replica `lagMs` later (the item as it is then, or its absence), and index reads are
 * answered from the replica. Base-table reads are untouched, strongly consistent as they may be.
 */
import type { TableModel } from "../../terraform/stack-model-types";
import type { ReadWriteLock } from "./lock";
import type { StoreClient } from "./store-client";

/** A fraction of a second, as AWS describes typical index propagation. */
export const DEFAULT_INDEX_LAG_MS = 300;
const REPLICA_SUFFIX = ".local-index-view";

type AttributeMap = Record<string, unknown>;

export class IndexReplicas {
  private readonly replicated = new Map<string, TableModel>();
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly store: StoreClient,
    private readonly lock: ReadWriteLock,
    private readonly lagMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts following a table; returns the replica table to create beside it, if it needs one. */
  add(table: TableModel): TableModel | undefined {
    if (this.lagMs <= 0 || table.globalSecondaryIndexes.length === 0) return undefined;
    this.replicated.set(table.name, table);
    return { ...table, name: replicaName(table.name) };
  }

  /** An index read of a replicated table, pointed at its replica; undefined for any other request. */
  redirect(operation: string, request: unknown): AttributeMap | undefined {
    if ((operation !== "Query" && operation !== "Scan") || !isMap(request)) return undefined;
    const { TableName, IndexName } = request;
    if (typeof TableName !== "string" || typeof IndexName !== "string" || !this.replicated.has(TableName)) return undefined;
    const table = this.replicated.get(TableName)!;
    // Local indexes are strongly consistent on AWS: only global ones lag.
    if (!table.globalSecondaryIndexes.some((index) => index.name === IndexName)) return undefined;
    return { ...request, TableName: replicaName(TableName) };
  }

  /** Schedules the replica to follow every item a successful write request touched. */
  afterWrite(operation: string, request: unknown): void {
    for (const { table, key } of writtenKeys(operation, request, this.replicated)) this.follow(table, key);
  }

  /** Schedules the replica to follow one item. */
  follow(table: string, key: AttributeMap): void {
    const model = this.replicated.get(table);
    if (!model || this.stopped) return;
    const keyOnly = Object.fromEntries(keyNames(model).map((name) => [name, key[name]]));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const copy = this.copy(model, keyOnly)
        .catch((error: unknown) => this.log(`DynamoDB index view of ${table} could not follow a write: ${(error as Error).message}`))
        .finally(() => this.pending.delete(copy));
      this.pending.add(copy);
    }, this.lagMs);
    this.timers.add(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.allSettled([...this.pending]);
  }

  private async copy(table: TableModel, key: AttributeMap): Promise<void> {
    await this.lock.shared(async () => {
      const { Item } = await this.store.must("GetItem", { TableName: table.name, Key: key, ConsistentRead: true });
      const replica = replicaName(table.name);
      await this.store.must(Item ? "PutItem" : "DeleteItem", Item ? { TableName: replica, Item } : { TableName: replica, Key: key });
    });
  }
}

function replicaName(table: string): string {
  return `${table}${REPLICA_SUFFIX}`;
}

function keyNames(table: TableModel): string[] {
  return [table.hashKey, ...(table.rangeKey ? [table.rangeKey] : [])];
}

/** The items a write request names, by table. */
function writtenKeys(operation: string, request: unknown, tables: ReadonlyMap<string, TableModel>): Array<{ table: string; key: AttributeMap }> {
  if (!isMap(request)) return [];
  const keyOf = (table: string, item: unknown) => (isMap(item) && tables.has(table) ? [{ table, key: item }] : []);
  switch (operation) {
    case "PutItem":
      return keyOf(String(request.TableName), request.Item);
    case "UpdateItem":
    case "DeleteItem":
      return keyOf(String(request.TableName), request.Key);
    case "BatchWriteItem":
      return Object.entries(isMap(request.RequestItems) ? request.RequestItems : {}).flatMap(([table, requests]) =>
        (Array.isArray(requests) ? requests : []).flatMap((r) =>
          isMap(r) ? keyOf(table, isMap(r.PutRequest) ? r.PutRequest.Item : isMap(r.DeleteRequest) ? r.DeleteRequest.Key : undefined) : [],
        ),
      );
    default:
      return [];
  }
}

function isMap(value: unknown): value is AttributeMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
