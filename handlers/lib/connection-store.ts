import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  QueryCommandInput,
  ScanCommand,
  ScanCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { backoffDelayMs, RetryPolicy, sleep } from "./backoff";
import { dynamoDb } from "./clients";
import { TableSettings, tableSettings } from "./settings";
import {
  CONNECTION_SK,
  HASH_KEY,
  ITEM_TTL_SECONDS,
  ROOM_ATTRIBUTE,
  ROOM_SK_PREFIX,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "./table-schema";

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** UnprocessedItems come back when a partition is throttled; back off and resend only those. */
const UNPROCESSED_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 1000 };

type Key = Record<string, string>;

/** The connections table (layout in table-schema.ts): connection items and room memberships. */
export class ConnectionStore {
  constructor(private readonly db: DynamoDBDocumentClient, private readonly settings: TableSettings) {}

  /** API Gateway ends every connection after 2 hours, so the TTL can count from the connection's start. */
  async putConnection(connectionId: string, connectedAtMs: number): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.settings.tableName,
        Item: {
          [HASH_KEY]: connectionId,
          [SORT_KEY]: CONNECTION_SK,
          connectedAt: new Date(connectedAtMs).toISOString(),
          [TTL_ATTRIBUTE]: expiresAt(connectedAtMs),
        },
      })
    );
  }

  /** A put, so joining twice is the same as joining once. */
  async putMembership(connectionId: string, room: string, nowMs = Date.now()): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.settings.tableName,
        Item: {
          [HASH_KEY]: connectionId,
          [SORT_KEY]: ROOM_SK_PREFIX + room,
          [ROOM_ATTRIBUTE]: room,
          [TTL_ATTRIBUTE]: expiresAt(nowMs),
        },
      })
    );
  }

  /** Deleting an absent item succeeds, so leaving twice is the same as leaving once. */
  async deleteMembership(connectionId: string, room: string): Promise<void> {
    await this.db.send(
      new DeleteCommand({ TableName: this.settings.tableName, Key: membershipKey(connectionId, room) })
    );
  }

  /** Strongly consistent, so a send right after a join sees the membership. */
  async isMember(connectionId: string, room: string): Promise<boolean> {
    return this.exists(membershipKey(connectionId, room));
  }

  async isConnected(connectionId: string): Promise<boolean> {
    return this.exists(connectionKey(connectionId));
  }

  /**
   * Deletes the connection item and every membership of the connection: all items under its hash key.
   * Returns how many items were deleted.
   */
  async removeConnection(connectionId: string): Promise<number> {
    let removed = 0;
    const pages = this.pages<Key>((ExclusiveStartKey) =>
      this.db.send(
        new QueryCommand({
          TableName: this.settings.tableName,
          KeyConditionExpression: "#pk = :pk",
          ProjectionExpression: "#pk, #sk",
          ExpressionAttributeNames: { "#pk": HASH_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: { ":pk": connectionId },
          ConsistentRead: true,
          ...this.page(ExclusiveStartKey),
        } satisfies QueryCommandInput)
      )
    );
    for await (const keys of pages) {
      for (let start = 0; start < keys.length; start += BATCH_WRITE_LIMIT) {
        await this.deleteBatch(keys.slice(start, start + BATCH_WRITE_LIMIT));
      }
      removed += keys.length;
    }
    return removed;
  }

  /** Every open connection's id, read page by page. */
  async *connectionIds(): AsyncGenerator<string> {
    const pages = this.pages<Key>((ExclusiveStartKey) =>
      this.db.send(
        new ScanCommand({
          TableName: this.settings.tableName,
          ProjectionExpression: "#pk",
          FilterExpression: "#sk = :connection",
          ExpressionAttributeNames: { "#pk": HASH_KEY, "#sk": SORT_KEY },
          ExpressionAttributeValues: { ":connection": CONNECTION_SK },
          ...this.page(ExclusiveStartKey),
        } satisfies ScanCommandInput)
      )
    );
    for await (const items of pages) for (const item of items) yield item[HASH_KEY];
  }

  /** The ids of a room's members, from the room index: no table scan. */
  async *roomMemberIds(room: string): AsyncGenerator<string> {
    const pages = this.pages<Key>((ExclusiveStartKey) =>
      this.db.send(
        new QueryCommand({
          TableName: this.settings.tableName,
          IndexName: this.settings.roomIndexName,
          KeyConditionExpression: "#room = :room",
          ProjectionExpression: "#pk",
          ExpressionAttributeNames: { "#room": ROOM_ATTRIBUTE, "#pk": HASH_KEY },
          ExpressionAttributeValues: { ":room": room },
          ...this.page(ExclusiveStartKey),
        } satisfies QueryCommandInput)
      )
    );
    for await (const items of pages) for (const item of items) yield item[HASH_KEY];
  }

  private async exists(Key: Key): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.settings.tableName,
        Key,
        ProjectionExpression: "#pk",
        ExpressionAttributeNames: { "#pk": HASH_KEY },
        ConsistentRead: true,
      })
    );
    return Item !== undefined;
  }

  private async deleteBatch(keys: readonly Key[]): Promise<void> {
    let requests = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; requests.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(backoffDelayMs(attempt - 1, UNPROCESSED_RETRY));
      const { UnprocessedItems } = await this.db.send(
        new BatchWriteCommand({ RequestItems: { [this.settings.tableName]: requests } })
      );
      const unprocessed = UnprocessedItems?.[this.settings.tableName] ?? [];
      requests = unprocessed.flatMap((request) =>
        request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key as Key } }] : []
      );
      if (requests.length > 0 && attempt >= UNPROCESSED_RETRY.maxAttempts) {
        throw new Error(`${requests.length} deletes still unprocessed after ${attempt} BatchWriteItem attempts`);
      }
    }
  }

  private page(ExclusiveStartKey: Key | undefined): { Limit?: number; ExclusiveStartKey?: Key } {
    return {
      ...(this.settings.pageSize !== undefined && { Limit: this.settings.pageSize }),
      ...(ExclusiveStartKey !== undefined && { ExclusiveStartKey }),
    };
  }

  /** Follows LastEvaluatedKey: a Scan or Query answers at most 1 MB (or `Limit` items) at a time. */
  private async *pages<T>(
    read: (
      start: Key | undefined
    ) => Promise<{ Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> }>
  ): AsyncGenerator<T[]> {
    let start: Key | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await read(start);
      yield Items as T[];
      start = LastEvaluatedKey as Key | undefined;
    } while (start !== undefined);
  }
}

/** The store the running function is configured for (TABLE_NAME, ROOM_INDEX_NAME, DYNAMODB_PAGE_SIZE). */
export function connectionStore(): ConnectionStore {
  return new ConnectionStore(dynamoDb(), tableSettings());
}

function connectionKey(connectionId: string): Key {
  return { [HASH_KEY]: connectionId, [SORT_KEY]: CONNECTION_SK };
}

function membershipKey(connectionId: string, room: string): Key {
  return { [HASH_KEY]: connectionId, [SORT_KEY]: ROOM_SK_PREFIX + room };
}

function expiresAt(fromMs: number): number {
  return Math.floor(fromMs / 1000) + ITEM_TTL_SECONDS;
}
