/**
 * DynamoDB's Time to Live for the local tables: items whose TTL attribute (epoch seconds) has passed are
 * deleted, but only some time after they expire, as on AWS, where deletion "typically" happens "within a
 * few days" of expiry. Both windows are observable: an expired item that is still there (which every
 * read must treat as gone), and later no item at all.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
 *
 * Like DynamoDB, it ignores items whose TTL attribute is not a number, and items that expired more than
 * five years ago (DynamoDB takes those for a value in the wrong unit).
 */
import type { TableModel } from "../../terraform/stack-model-types";
import type { ReadWriteLock } from "./lock";
import type { StoreClient } from "./store-client";

export interface TtlOptions {
  /** How often expired items are looked for. @default 60 s */
  readonly sweepIntervalMs?: number;
  /** How long after its expiry an item is deleted at the earliest. @default 10 min */
  readonly deleteAfterMs?: number;
}

export const DEFAULT_TTL_SWEEP_INTERVAL_MS = 60_000;
export const DEFAULT_TTL_DELETE_AFTER_MS = 10 * 60_000;
const FIVE_YEARS_S = 5 * 365 * 24 * 60 * 60;

export class TtlSweeper {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly store: StoreClient,
    /** Read at every sweep: tables can be added while it runs. */
    private readonly tables: () => readonly TableModel[],
    private readonly lock: ReadWriteLock,
    private readonly options: TtlOptions,
    private readonly onDeleted: (table: string, key: Record<string, unknown>) => void,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
        this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.log(`DynamoDB TTL sweep failed: ${(error as Error).message}`))
        .finally(() => (this.sweeping = undefined));
    }, this.options.sweepIntervalMs ?? DEFAULT_TTL_SWEEP_INTERVAL_MS).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Deletes every item expired for longer than `deleteAfterMs`; returns how many. */
  async sweep(nowMs = Date.now()): Promise<number> {
    const cutoff = Math.floor((nowMs - (this.options.deleteAfterMs ?? DEFAULT_TTL_DELETE_AFTER_MS)) / 1000);
    let deleted = 0;
    for (const table of this.tables()) {
      if (!table.ttlAttribute) continue;
      const keyNames = [table.hashKey, ...(table.rangeKey ? [table.rangeKey] : [])];
      const names = { "#ttl": table.ttlAttribute, ...Object.fromEntries(keyNames.map((name, i) => [`#k${i}`, name])) };
      const window = { ":floor": { N: String(cutoff - FIVE_YEARS_S) }, ":cutoff": { N: String(cutoff) } };
      let start: unknown;
      do {
        const page = await this.lock.shared(() =>
          this.store.must("Scan", {
            TableName: table.name,
            FilterExpression: "#ttl BETWEEN :floor AND :cutoff",
            ProjectionExpression: keyNames.map((_, i) => `#k${i}`).join(", "),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: window,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const key of (page.Items ?? []) as Record<string, unknown>[]) {
          // Still expired when deleted: an item given a new TTL meanwhile stays.
          const { status } = await this.lock.shared(() =>
            this.store.call("DeleteItem", {
              TableName: table.name,
              Key: key,
              ConditionExpression: "#ttl BETWEEN :floor AND :cutoff",
              ExpressionAttributeNames: { "#ttl": table.ttlAttribute },
              ExpressionAttributeValues: window,
            }),
          );
          if (status === 200) {
            deleted += 1;
            this.onDeleted(table.name, key);
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return deleted;
  }
}
