import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { isConditionFailed, isTransactionConflict } from "../aws/aws-errors";
import { backoffDelayMs, RetryPolicy, sleep } from "../aws/backoff";
import { dynamoDb } from "../aws/clients";
import { historyDays, TableSettings, tableSettings } from "../env/contract";
import { type DynamoDbJson, dynamoDbJson } from "./dynamodb-json";
import { isExpired, keys, MAX_SEQ, PARTITION_KEY, SORT_KEY, seqSortKey, TTL_ATTRIBUTE } from "./table-schema";

/**
 * A room's sequence and history (layout in table-schema.ts; why this order of calls keeps the protocol's
 * promise, docs/history.md).
 *
 * A room message takes the next seq and is stored in ONE transaction: the counter moves from N-1 to N only
 * if it still says N-1, the message item with seq N is written only if there is none, and the message id's
 * item only if the id has no seq yet. So a seq is never visible without its message, no seq is given twice
 * and none is skipped, and a retried frame (same id) finds the seq it took the first time.
 */

/**
 * Contention on a room's counter: another sender took the seq we read (ConditionalCheckFailed) or its
 * transaction held the counter (TransactionConflict). Each retry re-reads the counter; jittered backoff
 * spreads the contenders. N senders at once need N commits one after another, so the bound allows a burst
 * of a few dozen; past it (a few seconds at most, well inside API Gateway's 29 s) the room is too hot.
 */
export const SEQ_RETRY: RetryPolicy = { maxAttempts: 30, baseDelayMs: 5, maxDelayMs: 100 };
/** How long to tell a client to wait when the room stayed too busy: about the backoff's last step. */
export const HOT_ROOM_RETRY_AFTER_MS = 250;
/** With history off, a message id's seq is still kept this long, so a retry of the frame is sequenced once. */
export const RETRY_WINDOW_SECONDS = 3 * 60 * 60;
const DAY_SECONDS = 24 * 60 * 60;

/** The room stayed contended through every attempt: nothing was stored, the frame may be sent again. */
export class RoomBusyError extends Error {
  override name = "RoomBusyError";
  constructor(
    readonly room: string,
    readonly attempts: number,
  ) {
    super(`Room ${room}: no seq after ${attempts} attempts`);
  }
}

/** What a room message got: its seq, and `sentAt` when the frame is a retry (its first sending's time). */
export interface Sequenced {
  readonly seq: number;
  /** Set when the id already had a seq: the message was stored (and delivered) with this sentAt. */
  readonly retryOf?: { readonly sentAt: string };
}

/** A page of history, oldest first. */
export interface HistoryPage {
  readonly messages: readonly StoredMessage[];
  readonly hasMore: boolean;
}

export interface StoredMessage {
  readonly seq: number;
  /** The `message` frame exactly as it was delivered, as JSON text. */
  readonly frame: string;
}

export type PageRequest =
  | { readonly after: number; readonly limit: number; readonly maxBytes: number }
  | { readonly before?: number; readonly limit: number; readonly maxBytes: number };

type Item = Record<string, unknown>;
type WireItem = Record<string, AttributeValue>;

export class HistoryStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly settings: TableSettings & { readonly historyDays: number },
    private readonly now: () => number = Date.now,
    private readonly reads: DynamoDbJson = dynamoDbJson(),
    private readonly retry: RetryPolicy = SEQ_RETRY,
  ) {}

  /**
   * Gives the message `id` the room's next seq and stores `frame(seq)` (the delivered `message` frame) with
   * it, atomically; or, when `id` already has a seq (a retried frame), returns that one and stores nothing.
   * Throws RoomBusyError when the counter stayed contended through every attempt: nothing was stored.
   */
  async sequence(room: string, id: string, sentAt: string, frame: (seq: number) => string): Promise<Sequenced> {
    // The counter as a cancelled transaction returned it: the next attempt need not read it again.
    let learned: number | undefined;
    for (let attempt = 1; ; attempt += 1) {
      const nowMs = this.now();
      let previous: number;
      if (learned === undefined) {
        const [counter, taken] = await this.items([keys.roomCounter(room), keys.messageId(id)]);
        if (taken && !isExpired(taken, nowMs)) return { seq: Number(taken.seq), retryOf: { sentAt: String(taken.sentAt) } };
        previous = counter ? Number(counter.seq) : 0;
      } else {
        previous = learned;
        learned = undefined;
      }
      const seq = previous + 1;
      try {
        const items = this.sequenceItems(room, id, sentAt, previous, seq, frame(seq), nowMs);
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return { seq };
      } catch (error) {
        // The counter moved (item 0), the id was taken by a concurrent retry (the last item), or a
        // transaction held them: nothing was written; try again.
        const idIndex = this.settings.historyDays === 0 ? 1 : 2;
        const idTaken = isConditionFailed(error, idIndex);
        const conflict = isTransactionConflict(error);
        if (!conflict && !idTaken && !isConditionFailed(error, 0)) throw error;
        if (attempt >= this.retry.maxAttempts) throw new RoomBusyError(room, attempt);
        // Only the counter moved: its new value came back with the cancellation (ALL_OLD).
        if (!conflict && !idTaken) learned = returnedCounter(error);
        await sleep(backoffDelayMs(attempt, this.retry));
      }
    }
  }

  private sequenceItems(room: string, id: string, sentAt: string, previous: number, seq: number, frame: string, nowMs: number) {
    const table = this.settings.tableName;
    const nowSeconds = Math.floor(nowMs / 1000);
    const days = this.settings.historyDays;
    const expires = nowSeconds + (days > 0 ? days * DAY_SECONDS : RETRY_WINDOW_SECONDS);
    const counter = {
      Update: {
        TableName: table,
        Key: keys.roomCounter(room),
        UpdateExpression: "SET #seq = :seq",
        ConditionExpression: previous === 0 ? "attribute_not_exists(#pk)" : "#seq = :previous",
        ExpressionAttributeNames: { "#seq": "seq", ...(previous === 0 ? { "#pk": PARTITION_KEY } : {}) },
        ExpressionAttributeValues: { ":seq": seq, ...(previous === 0 ? {} : { ":previous": previous }) },
        // A cancellation then carries the counter as it is, saving the next attempt a read.
        ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      },
    };
    // An id item past its TTL is gone (only a frame retried days later could find one).
    const idItem = {
      Put: {
        TableName: table,
        Item: { ...keys.messageId(id), seq, sentAt, [TTL_ATTRIBUTE]: expires },
        ConditionExpression: "attribute_not_exists(#pk) OR #ttl <= :now",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#ttl": TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ":now": nowSeconds },
      },
    };
    // History off: no message item, but the id's item still makes a retry reuse its seq.
    if (days === 0) return [counter, idItem];
    const message = {
      Put: {
        TableName: table,
        Item: { ...keys.roomMessage(room, seq), seq, frame, storedAt: nowSeconds, [TTL_ATTRIBUTE]: expires },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
      },
    };
    return [counter, message, idItem];
  }

  /** The room's latest seq (0 before its first message), read strongly consistently. */
  async latestSeq(room: string): Promise<number> {
    const { Item } = (await this.reads.call("GetItem", { TableName: this.settings.tableName, Key: marshall(keys.roomCounter(room)), ConsistentRead: true })) as {
      Item?: WireItem;
    };
    return Item ? Number(unmarshall(Item).seq) : 0;
  }

  /**
   * A page of the room's messages, read strongly consistently, oldest first: `after` N the oldest with a
   * greater seq, `before` N the newest with a smaller one, neither the newest. At most `limit` messages
   * whose frames add up to at most `maxBytes`; `hasMore` when a live message lies beyond the page in the
   * direction asked. Messages past their retention are skipped as if deleted.
   */
  async page(room: string, request: PageRequest): Promise<HistoryPage> {
    if (this.settings.historyDays === 0) return { messages: [], hasMore: false };
    const forward = "after" in request;
    const before = forward ? undefined : request.before;
    if (before === 0 || (forward && request.after >= MAX_SEQ)) return { messages: [], hasMore: false };
    const [from, to] = forward
      ? [seqSortKey(request.after + 1), seqSortKey(MAX_SEQ)]
      : [seqSortKey(1), seqSortKey(before === undefined ? MAX_SEQ : before - 1)];
    const taken: StoredMessage[] = [];
    let bytes = 0;
    for await (const message of this.messages(room, from, to, forward, request.limit + 1)) {
      const size = Buffer.byteLength(message.frame, "utf8") + 1;
      if (taken.length >= request.limit || bytes + size > request.maxBytes) {
        return { messages: forward ? taken : taken.reverse(), hasMore: true };
      }
      taken.push(message);
      bytes += size;
    }
    return { messages: forward ? taken : taken.reverse(), hasMore: false };
  }

  /** Live room messages with sort keys in [from, to], ascending or descending, read `pageSize` at a time. */
  private async *messages(room: string, from: string, to: string, ascending: boolean, pageSize: number): AsyncGenerator<StoredMessage> {
    let start: WireItem | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = (await this.reads.call("Query", {
        TableName: this.settings.tableName,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#sk": SORT_KEY },
        ExpressionAttributeValues: { ":pk": { S: keys.historyPartition(room) }, ":from": { S: from }, ":to": { S: to } },
        ConsistentRead: true,
        ScanIndexForward: ascending,
        Limit: this.settings.pageSize ?? pageSize,
        ...(start !== undefined && { ExclusiveStartKey: start }),
      })) as { Items?: WireItem[]; LastEvaluatedKey?: WireItem };
      const nowMs = this.now();
      for (const wire of Items) {
        const item = unmarshall(wire) as Item;
        if (this.pastRetention(item, nowMs)) continue;
        yield { seq: Number(item.seq), frame: String(item.frame) };
      }
      start = LastEvaluatedKey;
    } while (start !== undefined);
  }

  /** Past its TTL, or older than the retention the stack has now (which may have been shortened since). */
  private pastRetention(item: Item, nowMs: number): boolean {
    if (isExpired(item, nowMs)) return true;
    const storedAt = Number(item.storedAt);
    return Number.isFinite(storedAt) && (storedAt + this.settings.historyDays * DAY_SECONDS) * 1000 <= nowMs;
  }

  /** Items by key, strongly consistent, in one BatchGetItem (undefined where there is none). */
  private async items(wanted: readonly { pk: string; sk: string }[]): Promise<Array<Item | undefined>> {
    const table = this.settings.tableName;
    const found = new Map<string, Item>();
    let pending: WireItem[] = wanted.map((key) => marshall(key));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(backoffDelayMs(attempt - 1, this.retry));
      const { Responses, UnprocessedKeys } = (await this.reads.call("BatchGetItem", {
        RequestItems: { [table]: { Keys: pending, ConsistentRead: true } },
      })) as { Responses?: Record<string, WireItem[]>; UnprocessedKeys?: Record<string, { Keys?: WireItem[] }> };
      for (const wire of Responses?.[table] ?? []) {
        const item = unmarshall(wire);
        found.set(`${item[PARTITION_KEY]}\0${item[SORT_KEY]}`, item);
      }
      pending = UnprocessedKeys?.[table]?.Keys ?? [];
      if (pending.length > 0 && attempt >= this.retry.maxAttempts) throw new Error(`${pending.length} reads still unprocessed after ${attempt} BatchGetItem attempts`);
    }
    return wanted.map((key) => found.get(`${key.pk}\0${key.sk}`));
  }
}

/** The counter's seq from a cancelled transaction's first reason (DynamoDB JSON), if it came back. */
function returnedCounter(error: unknown): number | undefined {
  const reasons = (error as { CancellationReasons?: ReadonlyArray<{ Item?: Record<string, unknown> }> }).CancellationReasons;
  const seq = reasons?.[0]?.Item?.seq as { N?: string } | number | undefined;
  const value = typeof seq === "object" && seq !== null ? Number(seq.N) : Number(seq);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The store the running function is configured for (TABLE_NAME, DYNAMODB_PAGE_SIZE, HISTORY_DAYS). */
export function historyStore(): HistoryStore {
  return new HistoryStore(dynamoDb(), { ...tableSettings(), historyDays: historyDays() });
}
