/**
 * TransactWriteItems for the local DynamoDB (dynalite has no transactions). It first holds its items for a
 * short window, as a transaction in progress on AWS does (other writes to them are refused with DynamoDB's
 * conflict errors), then commits under the exclusive side of the proxy's lock, so nothing else reads or
 * writes meanwhile, and is built from dynalite's own single-item calls, so conditions and updates are
 * evaluated by the same code as every other write:
 *
 *   1. read the old image of every item the transaction touches;
 *   2. apply each item as its own conditional PutItem / UpdateItem / DeleteItem (a ConditionCheck as an
 *      UpdateItem with no update), noting which conditions fail;
 *   3. if any condition failed, put every item back as it was and answer TransactionCanceledException
 *      with one cancellation reason per item, in order, as DynamoDB does.
 *
 * What AWS checks up front is checked here too: 1 to 100 items, one action per item, no two items on the
 * same key. Not reproduced: ClientRequestToken idempotency, ReturnConsumedCapacity, the 4 MB size limit.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 */
import { setTimeout as delay } from "node:timers/promises";
import { errorType, type StoreClient, type StoreResponse } from "./store-client";

type AttributeMap = Record<string, unknown>;
type Action = "ConditionCheck" | "Put" | "Delete" | "Update";
const ACTIONS: readonly Action[] = ["ConditionCheck", "Put", "Delete", "Update"];
const MAX_ITEMS = 100;

/** Key attribute names of a table (hash, then range). */
export type KeySchemaLookup = (table: string) => Promise<readonly string[] | undefined>;

interface PlannedItem {
  readonly action: Action;
  readonly detail: AttributeMap;
  readonly table: string;
  readonly key: AttributeMap;
  readonly identity: string;
}

/** The result, plus every (table, key) it wrote, so index replicas can follow. */
export interface TransactionOutcome extends StoreResponse {
  readonly written: ReadonlyArray<{ readonly table: string; readonly key: AttributeMap }>;
}

/**
 * Items a transaction in progress holds: DynamoDB refuses other writes to them meanwhile (a single-item
 * write with TransactionConflictException, another transaction cancelled with the reason
 * TransactionConflict). Identities are `table\0[key values]`, as itemIdentity makes them.
 */
export class ItemHolds {
  private readonly held = new Map<string, number>();

  isHeld(identity: string): boolean {
    return this.held.has(identity);
  }

  hold(identities: readonly string[]): void {
    for (const identity of identities) this.held.set(identity, (this.held.get(identity) ?? 0) + 1);
  }

  release(identities: readonly string[]): void {
    for (const identity of identities) {
      const count = (this.held.get(identity) ?? 1) - 1;
      if (count > 0) this.held.set(identity, count);
      else this.held.delete(identity);
    }
  }
}

/** Who identifies an item: its table and its key attributes' values, in key schema order. */
export function itemIdentity(table: string, keyNames: readonly string[], source: AttributeMap): string {
  return `${table}\0${JSON.stringify(keyNames.map((name) => source[name]))}`;
}

export interface TransactionWindow {
  readonly holds: ItemHolds;
  /** How long the transaction holds its items before it commits: other writes to them meanwhile conflict. */
  readonly windowMs: number;
  /** Runs the commit with nothing else reading or writing (the proxy's exclusive lock). */
  readonly exclusive: <T>(work: () => Promise<T>) => Promise<T>;
}

/**
 * TransactWriteItems as DynamoDB runs it beside other requests: refused with TransactionConflict when one of
 * its items is held by a transaction in progress; otherwise it holds its items for `windowMs`, then commits
 * atomically (all of it visible at once to every read after) and lets them go.
 */
export async function transactWriteItemsConcurrently(store: StoreClient, request: unknown, keySchema: KeySchemaLookup, window: TransactionWindow): Promise<TransactionOutcome> {
  const planned = await plan(request, keySchema);
  if ("error" in planned) return { ...refusal(planned), written: [] };
  const identities = planned.items.map((item) => item.identity);
  const conflicting = identities.map((identity) => window.holds.isHeld(identity));
  if (conflicting.some(Boolean)) {
    const reasons = conflicting.map((conflict) => (conflict ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" } : { Code: "None" }));
    return { ...cancelled(reasons), written: [] };
  }
  window.holds.hold(identities);
  try {
    if (window.windowMs > 0) await delay(window.windowMs);
    return await window.exclusive(() => apply(store, planned.items));
  } finally {
    window.holds.release(identities);
  }
}

async function apply(store: StoreClient, items: readonly PlannedItem[]): Promise<TransactionOutcome> {
  const planned = { items };

  const oldImages: Array<AttributeMap | undefined> = [];
  for (const item of planned.items) {
    const got = await store.call("GetItem", { TableName: item.table, Key: item.key, ConsistentRead: true });
    if (got.status !== 200) return { ...got, written: [] };
    oldImages.push(got.body.Item as AttributeMap | undefined);
  }

  const applied: number[] = [];
  const reasons: AttributeMap[] = [];
  for (const [index, item] of planned.items.entries()) {
    const result = await store.call(...singleItemCall(item));
    if (result.status === 200) {
      applied.push(index);
      reasons.push({ Code: "None" });
    } else if (errorType(result.body) === "ConditionalCheckFailedException") {
      const old = oldImages[index];
      reasons.push({
        Code: "ConditionalCheckFailed",
        Message: "The conditional request failed",
        ...(item.detail.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && old ? { Item: old } : {}),
      });
    } else {
      // A malformed expression or item: DynamoDB would have refused the whole request up front.
      await restore(store, planned.items, oldImages, applied);
      return { ...result, written: [] };
    }
  }

  // A condition check changes nothing, but the UpdateItem standing in for it may have created an empty item.
  const checks = planned.items.flatMap((item, index) => (item.action === "ConditionCheck" && applied.includes(index) ? [index] : []));
  const failed = reasons.some((reason) => reason.Code !== "None");
  await restore(store, planned.items, oldImages, failed ? applied : checks);
  if (failed) return { ...cancelled(reasons), written: [] };
  const written = planned.items.filter((item) => item.action !== "ConditionCheck").map(({ table, key }) => ({ table, key }));
  return { status: 200, body: {}, written };
}

function cancelled(reasons: readonly AttributeMap[]): StoreResponse {
  const codes = reasons.map((reason) => String(reason.Code)).join(", ");
  return {
    status: 400,
    body: {
      __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
      Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes}]`,
      CancellationReasons: reasons,
    },
  };
}

type Refusal = { error: string; type?: string };

async function plan(request: unknown, keySchema: KeySchemaLookup): Promise<{ items: PlannedItem[] } | Refusal> {
  const raw = isMap(request) ? request.TransactItems : undefined;
  if (!Array.isArray(raw) || raw.length === 0) return { error: "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1" };
  if (raw.length > MAX_ITEMS) return { error: `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ITEMS}` };
  const items: PlannedItem[] = [];
  const seen = new Set<string>();
  for (const entry of raw) {
    const actions = isMap(entry) ? ACTIONS.filter((action) => entry[action] !== undefined) : [];
    if (actions.length !== 1) return { error: "TransactItems can only contain one of Check, Put, Update or Delete" };
    const action = actions[0]!;
    const detail = (entry as AttributeMap)[action];
    if (!isMap(detail) || typeof detail.TableName !== "string") return { error: `${action} needs a TableName` };
    const names = await keySchema(detail.TableName);
    if (!names) return { error: "Requested resource not found", type: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" };
    const source = action === "Put" ? detail.Item : detail.Key;
    if (!isMap(source) || names.some((name) => source[name] === undefined)) return { error: `The provided key element does not match the schema` };
    const key = Object.fromEntries(names.map((name) => [name, source[name]]));
    const identity = itemIdentity(detail.TableName, names, source);
    if (seen.has(identity)) return { error: "Transaction request cannot include multiple operations on one item" };
    seen.add(identity);
    items.push({ action, detail, table: detail.TableName, key, identity });
  }
  return { items };
}

/** The single-item call that does what one transaction item does, its condition included. */
function singleItemCall(item: PlannedItem): [string, AttributeMap] {
  const { ReturnValuesOnConditionCheckFailure: _returnValues, ...detail } = item.detail;
  switch (item.action) {
    case "Put":
      return ["PutItem", detail];
    case "Delete":
      return ["DeleteItem", detail];
    case "Update":
      return ["UpdateItem", detail];
    case "ConditionCheck":
      return ["UpdateItem", detail];
  }
}

/** Puts the given items back to their old images (or deletes those that did not exist). */
async function restore(store: StoreClient, items: readonly PlannedItem[], oldImages: ReadonlyArray<AttributeMap | undefined>, indexes: readonly number[]): Promise<void> {
  for (const index of indexes) {
    const { table, key } = items[index]!;
    const old = oldImages[index];
    await store.must(old ? "PutItem" : "DeleteItem", old ? { TableName: table, Item: old } : { TableName: table, Key: key });
  }
}

function refusal({ error, type = "com.amazon.coral.validate#ValidationException" }: Refusal): StoreResponse {
  return { status: 400, body: { __type: type, message: error } };
}

function isMap(value: unknown): value is AttributeMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
