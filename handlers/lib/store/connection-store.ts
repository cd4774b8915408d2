import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { isConditionFailed } from "../aws/aws-errors";
import { backoffDelayMs, retryingConflicts, RetryPolicy, sleep } from "../aws/backoff";
import { dynamoDb } from "../aws/clients";
import { type DynamoDbJson, dynamoDbJson } from "./dynamodb-json";
import type { Recipient } from "../fan-out/fan-out";
import { TableSettings, tableSettings } from "../env/contract";
import {
  BROADCAST_SHARDS,
  expiresAt,
  isExpired,
  Key,
  keys,
  PARTITION_KEY,
  roomOfMembership,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "./table-schema";
import { storedUser, User } from "../auth/user";
import { releaseSeats, type Seat, seatsOfItem, takeSeat } from "../limits/connection-seats";
import { notBannedCheck, untilOf } from "./account-bans";
import { type RoomRecord, roomRecordOf, type RoomStanding, roomStandingOf, type TransactItem } from "./room-store";
import { riderItems, riderVerdict, type TransactionRider } from "./transaction-rider";

/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** UnprocessedItems (UnprocessedKeys) come back when a partition is throttled; back off and resend only those. */
const UNPROCESSED_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 1000 };
/** An open connection, as its own record says. */
export interface ConnectionRecord {
  readonly connectionId: string;
  /** Epoch ms at which API Gateway accepted the connection. */
  readonly connectedAt: number;
  readonly user: User;
  /** The token's `exp` (epoch seconds) in jwt mode: frames after it are refused (docs/limits.md). */
  readonly tokenExpiresAt?: number;
}

/** A recipient read from one of the lists (room, user, everyone): the list item's key goes with it. */
export interface ListedRecipient extends Recipient {
  readonly connectedAt: number;
  /** The list item that named this recipient, removed along with the connection when it is gone. */
  readonly key: Key;
  /** The connection's user, when the list records it: removal then finds the user's list even without the record. */
  readonly userId?: string;
}

export interface RoomMember extends ListedRecipient {
  readonly user: User;
}

export type AddOutcome =
  | { readonly added: true }
  /** Every seat of the user is taken: the seats, for the caller to probe. */
  | { readonly added: false; readonly seats: readonly Seat[] }
  /** The user is banned until `until` (epoch s). */
  | { readonly added: false; readonly bannedUntil: number };

/** "refused": the transaction's rider refused it (the frame is over its limit), and nothing was written. */
export type JoinOutcome = "joined" | "already-member" | "not-connected" | "too-many-rooms" | "forbidden" | "room-taken" | "refused";

/** A conditional item a join's transaction carries beside its own three, and what its failure means. */
export interface JoinGuard {
  readonly item: TransactItem;
  readonly refusal: "forbidden" | "room-taken";
}

export interface JoinOptions {
  /** The connection's cap on rooms. @default no cap */
  readonly maxRooms?: number;
  readonly guards?: readonly JoinGuard[];
  /** The caller has just read that the connection is not a member: skip reading it again. */
  readonly notMember?: boolean;
  /** Items of the frame's own (its bucket write) to go in the same transaction: transaction-rider.ts. */
  readonly rider?: TransactionRider;
}

/** The items of a join's transaction before its guards. */
const JOIN_ITEMS = 3;

/** What a join or create-room reads before deciding (entryState). */
export interface EntryState {
  readonly connection?: ConnectionRecord;
  readonly member: boolean;
  readonly room?: RoomRecord;
  readonly standing?: RoomStanding;
}

/** The connection record's count of its memberships, kept by join and leave in their transactions. */
const ROOM_COUNT = "roomCount";

export type RemovalOutcome =
  /** Its items are gone (or were already). */
  | "removed"
  /** Not removed: the record is younger than `connectedBefore`, so the connection may still be opening. */
  | "too-new";

type Item = Record<string, unknown>;
/** An item as DynamoDB's JSON API carries it. */
type WireItem = Record<string, AttributeValue>;

/**
 * The connections table (layout in table-schema.ts). Writes go through the SDK's document client; the reads
 * every message makes go through dynamodb-json.ts, which costs a third of the SDK's CPU per call.
 */
export class ConnectionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly settings: TableSettings,
    private readonly now: () => number = Date.now,
    private readonly reads: DynamoDbJson = dynamoDbJson(),
  ) {}

  /**
   * Records a connection and lists it under its user and in the broadcast list, all or nothing: a
   * connection is never reachable by one list and missing from another. With `maxPerUser`, it also takes
   * one of the user's seats (connection-seats.ts) in the same transaction, and records nothing when every
   * seat is taken: the answer then lists the seats, for the caller to probe. With `checkBan`, nothing is
   * recorded while the user's account is banned (account-bans.ts), checked in the same transaction.
   */
  async addConnection(
    { connectionId, connectedAt, user, tokenExpiresAt }: ConnectionRecord,
    maxPerUser?: number,
    options: { readonly checkBan?: boolean } = {},
  ): Promise<AddOutcome> {
    const ttl = expiresAt(connectedAt);
    // The seat is item 3 when taken; the ban check comes after it.
    const banIndex = maxPerUser === undefined ? 3 : 4;
    const listed = { connectionId, connectedAt, userId: user.id, [TTL_ATTRIBUTE]: ttl };
    try {
      // Two handshakes of one user write the same seats item: a transaction conflict is tried again.
      await retryingConflicts(() =>
        this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.table,
                  Item: { ...keys.connection(connectionId), connectionId, connectedAt, user, ...(tokenExpiresAt !== undefined && { tokenExpiresAt }), [TTL_ATTRIBUTE]: ttl },
                },
              },
              { Put: { TableName: this.table, Item: { ...keys.userConnection(user.id, connectionId), ...listed } } },
              { Put: { TableName: this.table, Item: { ...keys.broadcast(connectionId), ...listed } } },
              ...(maxPerUser === undefined ? [] : [takeSeat(this.table, user.id, { connectionId, connectedAt }, maxPerUser, ttl)]),
              ...(options.checkBan ? [notBannedCheck(this.table, user.id, this.now())] : []),
            ],
          }),
        ),
      );
      return { added: true };
    } catch (error) {
      if (options.checkBan && isConditionFailed(error, banIndex)) {
        return { added: false, bannedUntil: untilOf(cancelledItem(error, banIndex)) ?? Math.ceil(this.now() / 1000) };
      }
      if (maxPerUser === undefined || !isConditionFailed(error, 3)) throw error;
      return { added: false, seats: seatsOfItem(cancelledItem(error, 3)) };
    }
  }

  /** Gives seats of the user's back (connections found gone); nothing when the user holds none. */
  async releaseSeats(userId: string, seats: readonly Seat[]): Promise<void> {
    if (seats.length === 0) return;
    try {
      // A handshake's transaction holding the seats item refuses this write meanwhile: try again.
      await retryingConflicts(() => this.db.send(new UpdateCommand(releaseSeats(this.table, userId, seats))));
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }

  /** The connection's record if it is open: not missing, not being removed, not past its TTL. */
  async connection(connectionId: string): Promise<ConnectionRecord | undefined> {
    return this.openRecord(connectionId, await this.item(keys.connection(connectionId)));
  }

  private openRecord(connectionId: string, item: Item | undefined): ConnectionRecord | undefined {
    if (!item || item.closing === true || isExpired(item, this.now())) return undefined;
    return { connectionId, connectedAt: Number(item.connectedAt), user: storedUser(item.user, connectionId) };
  }

  /** Strongly consistent, so a send right after a join sees the membership. */
  async isMember(connectionId: string, room: string): Promise<boolean> {
    const item = await this.item(keys.membership(connectionId, room));
    return item !== undefined && !isExpired(item, this.now());
  }

  /**
   * The records of several connections (undefined for each one not open), read together: one strongly
   * consistent BatchGetItem is one signed call where a GetItem each would be several.
   */
  async connections(connectionIds: readonly string[]): Promise<Array<ConnectionRecord | undefined>> {
    const items = await this.items(connectionIds.map((id) => keys.connection(id)));
    return connectionIds.map((id, i) => this.openRecord(id, items[i]));
  }

  /** A connection's record (if open) and whether it is a member of the room, in one strongly consistent read. */
  async connectionAndMembership(connectionId: string, room: string): Promise<{ connection?: ConnectionRecord; member: boolean }> {
    const [record, membership] = await this.items([keys.connection(connectionId), keys.membership(connectionId, room)]);
    const connection = this.openRecord(connectionId, record);
    return { ...(connection ? { connection } : {}), member: membership !== undefined && !isExpired(membership, this.now()) };
  }

  /**
   * As connectionAndMembership, with the room's record in the same read, for the routes that answer a
   * non-member of a private room differently (members, history).
   */
  async connectionMembershipAndRoom(connectionId: string, room: string): Promise<{ connection?: ConnectionRecord; member: boolean; room?: RoomRecord }> {
    const [record, membership, roomRecord] = await this.items([keys.connection(connectionId), keys.membership(connectionId, room), keys.roomRecord(room)]);
    const connection = this.openRecord(connectionId, record);
    return {
      ...(connection ? { connection } : {}),
      member: membership !== undefined && !isExpired(membership, this.now()),
      ...(roomRecord && { room: roomRecordOf(roomRecord) }),
    };
  }

  /**
   * A connection's record (if open) and the room's record, in one strongly consistent BatchGetItem: what
   * invite and kick decide their permission on.
   */
  async connectionAndRoom(connectionId: string, room: string): Promise<{ connection?: ConnectionRecord; room?: RoomRecord }> {
    const [record, roomRecord] = await this.items([keys.connection(connectionId), keys.roomRecord(room)]);
    const connection = this.openRecord(connectionId, record);
    return { ...(connection && { connection }), ...(roomRecord && { room: roomRecordOf(roomRecord) }) };
  }

  /**
   * Makes the connection a member of the room: its own membership item and its entry in the room's list,
   * written in one transaction that checks the connection is still open. A join racing the connection's
   * removal either lands before it (and is removed with it) or fails: it never leaves an orphan that
   * every later room message would post to. `guards` ride in the same transaction (the room's record, the
   * user's standing in it: room-store.ts); one whose condition fails makes the join answer its `refusal`. A
   * `rider`'s items (the frame's bucket write) go in it too; a join that makes none (already a member) leaves
   * the rider's write unmade.
   */
  async join(connection: ConnectionRecord, room: string, options: JoinOptions = {}): Promise<JoinOutcome> {
    for (;;) {
      // Cancelled by another transaction on these items (a leave, a connection's removal, a kick): try again.
      const outcome = await retryingConflicts(() => this.joinOnce(connection, room, options));
      // The rider's condition failed and it changed its items (the bucket's other branch).
      if (outcome !== "retry") return outcome;
    }
  }

  private async joinOnce(
    connection: ConnectionRecord,
    room: string,
    { maxRooms = Number.MAX_SAFE_INTEGER, guards = [], notMember = false, rider }: JoinOptions,
  ): Promise<JoinOutcome | "retry"> {
    if (!notMember && (await this.isMember(connection.connectionId, room))) return "already-member";
    const { connectionId, connectedAt, user } = connection;
    const ttl = expiresAt(connectedAt);
    // One reading of the clock for both conditions: the record still live, the membership not (yet or any more).
    const nowSeconds = Math.floor(this.now() / 1000);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              // The record still open and below the room cap, counting this room: two joins racing for the
              // last place both write this item, so one of them fails its condition.
              Update: {
                TableName: this.table,
                Key: keys.connection(connectionId),
                UpdateExpression: "ADD #rooms :one",
                ConditionExpression: "attribute_exists(#pk) AND attribute_not_exists(#closing) AND #ttl > :now AND (attribute_not_exists(#rooms) OR #rooms < :max)",
                ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#closing": "closing", "#ttl": TTL_ATTRIBUTE, "#rooms": ROOM_COUNT },
                ExpressionAttributeValues: { ":now": nowSeconds, ":one": 1, ":max": maxRooms },
                ReturnValuesOnConditionCheckFailure: "ALL_OLD",
              },
            },
            {
              // Not there yet (or only past its TTL): of two joins racing, one writes and announces.
              Put: {
                TableName: this.table,
                Item: { ...keys.membership(connectionId, room), room, [TTL_ATTRIBUTE]: ttl },
                ConditionExpression: "attribute_not_exists(#pk) OR #ttl <= :now",
                ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#ttl": TTL_ATTRIBUTE },
                ExpressionAttributeValues: { ":now": nowSeconds },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { ...keys.roomMember(room, connectionId), connectionId, connectedAt, user, joinedAt: this.now(), [TTL_ATTRIBUTE]: ttl },
              },
            },
            ...guards.map((guard) => guard.item),
            // Last, so the indexes of the join's own items and guards (read below) stay as they are.
            ...riderItems(rider),
          ],
        }),
      );
      rider?.committed();
      return "joined";
    } catch (error) {
      // The rider's failure (the frame over its limit) decides first: then nothing else matters.
      const verdict = riderVerdict(error, rider);
      if (verdict) return verdict === "retry" ? "retry" : "refused";
      const refused = guards.findIndex((_, i) => isConditionFailed(error, JOIN_ITEMS + i));
      if (refused >= 0) return guards[refused]!.refusal;
      if (isConditionFailed(error, 1)) return "already-member";
      if (isConditionFailed(error, 0)) {
        const old = cancelledItem(error, 0);
        const open = old !== undefined && old.closing === undefined && Number(old[TTL_ATTRIBUTE]) > nowSeconds;
        return open && Number(old[ROOM_COUNT] ?? 0) >= maxRooms ? "too-many-rooms" : "not-connected";
      }
      throw error;
    }
  }

  /**
   * What join and create-room decide on, in one strongly consistent BatchGetItem: the connection's record,
   * its membership of the room, the room's record and the user's standing in the room.
   */
  async entryState(connectionId: string, room: string, userId: string): Promise<EntryState> {
    const [record, membership, roomRecord, standing] = await this.items([
      keys.connection(connectionId),
      keys.membership(connectionId, room),
      keys.roomRecord(room),
      keys.roomStanding(room, userId),
    ]);
    const connection = this.openRecord(connectionId, record);
    return {
      ...(connection && { connection }),
      member: membership !== undefined && !isExpired(membership, this.now()),
      ...(roomRecord && { room: roomRecordOf(roomRecord) }),
      ...(standing && !isExpired(standing, this.now()) && { standing: roomStandingOf(standing) }),
    };
  }

  /** Whether the room's own list has anyone in it (a room from before rooms had records has no record). */
  async hasMembers(room: string): Promise<boolean> {
    const { Items = [] } = (await this.reads.call("Query", {
      TableName: this.table,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY },
      ExpressionAttributeValues: { ":pk": { S: keys.roomPartition(room) } },
      ConsistentRead: true,
      Limit: 25,
    })) as { Items?: WireItem[] };
    const now = this.now();
    return Items.some((item) => !isExpired(unmarshall(item), now));
  }

  /**
   * Ends a membership and returns the member's user, or undefined when it was not a member (leaving is
   * idempotent). Both items go in one transaction, conditional on the room's entry: a join racing this leave
   * (itself one transaction) lands wholly before or after it, never leaving a membership without its entry
   * or the reverse, and of two leaves racing only one returns the user, so the room hears `left` once.
   * A `rider`'s items go in the same transaction, as in join; "refused" when the rider refused it.
   */
  async leave(connectionId: string, room: string, rider?: TransactionRider): Promise<User | undefined | "refused"> {
    for (;;) {
      // Cancelled by another transaction on these items (a join): it has landed or failed by the next try.
      const outcome = await retryingConflicts(() => this.leaveOnce(connectionId, room, rider));
      if (outcome !== "retry") return outcome;
    }
  }

  private async leaveOnce(connectionId: string, room: string, rider: TransactionRider | undefined, withCount = true): Promise<User | undefined | "refused" | "retry"> {
    const entryKey = keys.roomMember(room, connectionId);
    // The user for the presence frame is on the room's entry.
    const entry = await this.item(entryKey);
    if (!entry || isExpired(entry, this.now())) return undefined;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table,
                Key: entryKey,
                ConditionExpression: "attribute_exists(#pk)",
                ExpressionAttributeNames: { "#pk": PARTITION_KEY },
              },
            },
            { Delete: { TableName: this.table, Key: keys.membership(connectionId, room) } },
            // One room fewer against the cap; only on a record that is there (a gone connection has no count).
            ...(withCount
              ? [
                  {
                    Update: {
                      TableName: this.table,
                      Key: keys.connection(connectionId),
                      UpdateExpression: "ADD #rooms :minusOne",
                      ConditionExpression: "attribute_exists(#pk)",
                      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#rooms": ROOM_COUNT },
                      ExpressionAttributeValues: { ":minusOne": -1 },
                    },
                  },
                ]
              : []),
            ...riderItems(rider),
          ],
        }),
      );
      rider?.committed();
      return storedUser(entry.user, connectionId);
    } catch (error) {
      const verdict = riderVerdict(error, rider);
      if (verdict) return verdict === "retry" ? "retry" : "refused";
      // Removed meanwhile (another leave, the connection's removal): whoever removed it tells the room.
      if (isConditionFailed(error, 0)) return undefined;
      // The record is gone (its removal is deleting the memberships too): leave without counting.
      if (withCount && isConditionFailed(error, 2)) return this.leaveOnce(connectionId, room, rider, false);
      throw error;
    }
  }

  /**
   * Removes a connection and every item that lists it, and returns the rooms it was in. The record is
   * first marked `closing` so that a concurrent join fails instead of writing a membership this removal
   * would miss. With `connectedBefore`, a record younger than that is left alone ("too-new"): a 410 for it
   * may only mean its handshake has not completed yet.
   */
  async removeConnection(
    connectionId: string,
    options: { readonly connectedBefore?: number; readonly listedAs?: Key; readonly userId?: string } = {},
  ): Promise<{ outcome: RemovalOutcome; rooms: string[]; user?: User }> {
    let record: Item | undefined;
    try {
      const cutoff = options.connectedBefore;
      // A join's transaction checking the record cancels this write (TransactionConflict): try again.
      ({ Attributes: record } = await retryingConflicts(() =>
        this.db.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.connection(connectionId),
            UpdateExpression: "SET #closing = :true",
            ConditionExpression: `attribute_exists(#pk)${cutoff === undefined ? "" : " AND #connectedAt < :cutoff"}`,
            ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#closing": "closing", ...(cutoff === undefined ? {} : { "#connectedAt": "connectedAt" }) },
            ExpressionAttributeValues: { ":true": true, ...(cutoff === undefined ? {} : { ":cutoff": cutoff }) },
            ReturnValues: "ALL_NEW",
          }),
        ),
      ));
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // Either the record is gone (someone else removed it; sweep what may be left) or it is too new.
      if (await this.item(keys.connection(connectionId))) return { outcome: "too-new", rooms: [] };
    }

    const user = record ? storedUser(record.user, connectionId) : undefined;
    const rooms: string[] = [];
    const doomed = new Map<string, Key>();
    const add = (key: Key) => doomed.set(`${key.pk}\0${key.sk}`, key);
    for await (const items of this.pages(keys.connectionPartition(connectionId))) {
      for (const item of items) {
        const room = roomOfMembership(String(item[SORT_KEY]));
        if (room === undefined) continue;
        rooms.push(room);
        add(keys.roomMember(room, connectionId));
        add(keyOf(item));
      }
    }
    const userId = user?.id ?? options.userId;
    if (userId !== undefined) add(keys.userConnection(userId, connectionId));
    add(keys.broadcast(connectionId));
    if (options.listedAs) add(options.listedAs);
    await this.deleteAll([...doomed.values()]);
    // A verified user's connection holds a seat against the per-user cap (jwt mode); give it back.
    if (user?.verified && record) await this.releaseSeats(user.id, [{ connectionId, connectedAt: Number(record.connectedAt) }]);
    // The record goes last: until then, joins keep failing on its `closing` mark. A join's transaction still
    // checking the record (and failing on that mark) makes DynamoDB refuse the delete meanwhile: try again.
    await retryingConflicts(() => this.db.send(new DeleteCommand({ TableName: this.table, Key: keys.connection(connectionId) })));
    return { outcome: "removed", rooms, ...(user ? { user } : {}) };
  }

  /** A room's members with their users, read page by page from the room's own partition. */
  async *roomMembers(room: string): AsyncGenerator<RoomMember> {
    for await (const items of this.pages(keys.roomPartition(room))) {
      for (const item of items) {
        const connectionId = String(item.connectionId);
        const user = storedUser(item.user, connectionId);
        yield { connectionId, connectedAt: Number(item.connectedAt), key: keyOf(item), user, userId: user.id };
      }
    }
  }

  /** Every open connection of a user. */
  async *userConnections(userId: string): AsyncGenerator<ListedRecipient> {
    for await (const items of this.pages(keys.userPartition(userId))) for (const item of items) yield listed(item);
  }

  /** Every open connection, shard by shard. */
  async *everyone(): AsyncGenerator<ListedRecipient> {
    for (let shard = 0; shard < BROADCAST_SHARDS; shard += 1) {
      for await (const items of this.pages(keys.shardPartition(shard))) for (const item of items) yield listed(item);
    }
  }

  private get table(): string {
    return this.settings.tableName;
  }

  /**
   * Every live item of a partition, a page at a time, strongly consistent. Items past their TTL are
   * skipped here, so no caller can mistake one for a live connection.
   */
  private async *pages(partition: string): AsyncGenerator<Item[]> {
    let start: WireItem | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = (await this.reads.call("Query", {
        TableName: this.table,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
        ExpressionAttributeValues: { ":pk": { S: partition } },
        ConsistentRead: true,
        ...(this.settings.pageSize !== undefined && { Limit: this.settings.pageSize }),
        ...(start !== undefined && { ExclusiveStartKey: start }),
      })) as { Items?: WireItem[]; LastEvaluatedKey?: WireItem };
      const now = this.now();
      yield Items.map((item) => unmarshall(item)).filter((item) => !isExpired(item, now));
      start = LastEvaluatedKey;
    } while (start !== undefined);
  }

  /** One item by key, strongly consistent. */
  private async item(key: Key): Promise<Item | undefined> {
    const { Item } = (await this.reads.call("GetItem", { TableName: this.table, Key: marshall(key), ConsistentRead: true })) as { Item?: WireItem };
    return Item && unmarshall(Item);
  }

  /**
   * Items by key (undefined where there is none), strongly consistent, in BatchGetItem calls of up to 100
   * keys; a key given twice is read once (BatchGetItem refuses duplicates). Keys DynamoDB leaves unprocessed
   * (a throttled partition) are read again with backoff.
   */
  private async items(wanted: readonly Key[]): Promise<Array<Item | undefined>> {
    const id = (key: Record<string, unknown>) => `${String(key[PARTITION_KEY])}\0${String(key[SORT_KEY])}`;
    const found = new Map<string, Item>();
    const distinct = [...new Map(wanted.map((key) => [id(key), key])).values()];
    for (let start = 0; start < distinct.length; start += BATCH_GET_LIMIT) {
      let pending: Key[] = distinct.slice(start, start + BATCH_GET_LIMIT);
      for (let attempt = 1; pending.length > 0; attempt += 1) {
        if (attempt > 1) await sleep(backoffDelayMs(attempt - 1, UNPROCESSED_RETRY));
        const { Responses, UnprocessedKeys } = (await this.reads.call("BatchGetItem", {
          RequestItems: { [this.table]: { Keys: pending.map((key) => marshall(key)), ConsistentRead: true } },
        })) as { Responses?: Record<string, WireItem[]>; UnprocessedKeys?: Record<string, { Keys?: WireItem[] }> };
        for (const wire of Responses?.[this.table] ?? []) {
          const item = unmarshall(wire);
          found.set(id(item), item);
        }
        pending = (UnprocessedKeys?.[this.table]?.Keys ?? []).map((key) => keyOf(unmarshall(key)));
        if (pending.length > 0 && attempt >= UNPROCESSED_RETRY.maxAttempts) {
          throw new Error(`${pending.length} reads still unprocessed after ${attempt} BatchGetItem attempts`);
        }
      }
    }
    return wanted.map((key) => found.get(id(key)));
  }

  private async deleteAll(all: readonly Key[]): Promise<void> {
    for (let start = 0; start < all.length; start += BATCH_WRITE_LIMIT) {
      let requests = all.slice(start, start + BATCH_WRITE_LIMIT).map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 1; requests.length > 0; attempt += 1) {
        if (attempt > 1) await sleep(backoffDelayMs(attempt - 1, UNPROCESSED_RETRY));
        const { UnprocessedItems } = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (UnprocessedItems?.[this.table] ?? []).flatMap((request) =>
          request.DeleteRequest?.Key ? [{ DeleteRequest: { Key: request.DeleteRequest.Key as Key } }] : [],
        );
        if (requests.length > 0 && attempt >= UNPROCESSED_RETRY.maxAttempts) {
          throw new Error(`${requests.length} deletes still unprocessed after ${attempt} BatchWriteItem attempts`);
        }
      }
    }
  }
}

/** The old image a cancelled transaction returned for its `index`th item (ALL_OLD), as plain values. */
function cancelledItem(error: unknown, index: number): Item | undefined {
  const reasons = (error as { CancellationReasons?: ReadonlyArray<{ Item?: Record<string, unknown> }> }).CancellationReasons;
  const item = reasons?.[index]?.Item;
  return item ? unmarshall(item as WireItem) : undefined;
}

function keyOf(item: Item): Key {
  return { pk: String(item[PARTITION_KEY]), sk: String(item[SORT_KEY]) };
}

function listed(item: Item): ListedRecipient {
  return {
    connectionId: String(item.connectionId),
    connectedAt: Number(item.connectedAt),
    key: keyOf(item),
    ...(typeof item.userId === "string" && { userId: item.userId }),
  };
}

/** The store the running function is configured for (TABLE_NAME, DYNAMODB_PAGE_SIZE). */
export function connectionStore(): ConnectionStore {
  return new ConnectionStore(dynamoDb(), tableSettings());
}
