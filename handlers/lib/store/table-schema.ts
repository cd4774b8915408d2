/**
 * The connections table's layout, shared by the construct that creates the table and the handlers that
 * read and write it, so the two cannot drift apart.
 *
 * Every read that decides who receives a message is a strongly consistent Query or GetItem on the base
 * table: a global secondary index is eventually consistent, so a member who just got `joined` could miss
 * the next room message and one who just `left` could still get one. Each list is therefore its own
 * partition, written together with the connection's own items:
 *
 *   pk                    sk               what
 *   conn#<connectionId>   meta             the connection: connectedAt, user, expiresAt, tokenExpiresAt (jwt mode),
 *                                          roomCount (rooms joined); closing while it is removed
 *   conn#<connectionId>   room#<room>      a membership, from the connection's side (found again on $disconnect)
 *   room#<room>           conn#<id>        a member of the room: connectedAt, user (the room's member list)
 *   user#<userId>         conn#<id>        one of the user's connections (toUser direct messages)
 *   all#<shard>           conn#<id>        one of BROADCAST_SHARDS lists of every connection (broadcasts)
 *   fanout#<sqsMessageId> progress         a fan-out job's recipients still to reach, kept while SQS retries it
 *   hist#<room>           counter          the room's latest seq (no TTL: a room's seq never starts over)
 *   hist#<room>           seq#<16 digits>  a room message: seq, the delivered `message` frame, storedAt, expiresAt
 *   msgid#<messageId>     seq              which seq a message id took (a retried frame reuses it), expiresAt
 *   hist#<room>           room             the room's record: private, owner (none for a room made by its first
 *                                          join), createdAt; never deleted, like the counter (docs/moderation.md)
 *   acl#<room>            user#<userId>    the user's standing in the room: invitedUntil + invitedBy, bannedUntil,
 *                                          kickedAt; expiresAt is the latest of their ends
 *
 * A room's history is its own partition, apart from its member list (room#<room>, read whole by every
 * room message) so neither list picks up the other's items, and so the history route's role can be held to
 * the `hist#` partitions by `dynamodb:LeadingKeys`. Message ids have partitions of their own: the room's
 * partition takes the counter's and the messages' writes only (docs/history.md, "Ceiling").
 *   limits#<userId>       rate             the user's frame bucket: tat (GCRA's theoretical arrival time, epoch ms),
 *                                          expiring a minute after the bucket is full again (docs/limits.md)
 *   limits#<userId>       connections      the user's open connections as a map connectionId → connectedAt, so one
 *                                          conditional write caps them (jwt mode; docs/limits.md)
 *
 * Limits live under their own prefix, not under user#: a Query of the user's list of connections must find
 * connections only.
 *   ban#<userId>          account          an account ban: until (epoch s), by (the admin's User), expiresAt = until;
 *                                          read by the authorizer and checked in $connect's transaction (docs/moderation.md)
 *
 * Broadcasts read BROADCAST_SHARDS partitions rather than one: a single partition takes at most 1,000
 * writes per second, which would cap how fast clients can connect.
 */
export const PARTITION_KEY = "pk";
export const SORT_KEY = "sk";
export const TTL_ATTRIBUTE = "expiresAt";

export const CONNECTION_SK = "meta";
const CONNECTION_PREFIX = "conn#";
const ROOM_PREFIX = "room#";
const USER_PREFIX = "user#";
const SHARD_PREFIX = "all#";
const FAN_OUT_PREFIX = "fanout#";
export const HISTORY_PREFIX = "hist#";
const SEQ_PREFIX = "seq#";
const MESSAGE_ID_PREFIX = "msgid#";
/** Digits of a seq in a sort key: Number.MAX_SAFE_INTEGER has 16, and zero-padding makes them sort as numbers. */
const SEQ_DIGITS = 16;
const LIMITS_PREFIX = "limits#";
const ACCESS_PREFIX = "acl#";
export const ACCOUNT_BAN_PREFIX = "ban#";

/** Partitions holding the list of every connection. Changing it strands existing items: a constant. */
export const BROADCAST_SHARDS = 16;

export type Key = { readonly pk: string; readonly sk: string };

export const keys = {
  connection: (connectionId: string): Key => ({ pk: CONNECTION_PREFIX + connectionId, sk: CONNECTION_SK }),
  /** The partition of everything stored under a connection. */
  connectionPartition: (connectionId: string): string => CONNECTION_PREFIX + connectionId,
  membership: (connectionId: string, room: string): Key => ({ pk: CONNECTION_PREFIX + connectionId, sk: ROOM_PREFIX + room }),
  roomMember: (room: string, connectionId: string): Key => ({ pk: ROOM_PREFIX + room, sk: CONNECTION_PREFIX + connectionId }),
  roomPartition: (room: string): string => ROOM_PREFIX + room,
  userConnection: (userId: string, connectionId: string): Key => ({ pk: USER_PREFIX + userId, sk: CONNECTION_PREFIX + connectionId }),
  userPartition: (userId: string): string => USER_PREFIX + userId,
  broadcast: (connectionId: string): Key => ({ pk: SHARD_PREFIX + shardOf(connectionId), sk: CONNECTION_PREFIX + connectionId }),
  shardPartition: (shard: number): string => SHARD_PREFIX + shard,
  fanOutProgress: (sqsMessageId: string): Key => ({ pk: FAN_OUT_PREFIX + sqsMessageId, sk: "progress" }),
  roomCounter: (room: string): Key => ({ pk: HISTORY_PREFIX + room, sk: "counter" }),
  historyPartition: (room: string): string => HISTORY_PREFIX + room,
  roomMessage: (room: string, seq: number): Key => ({ pk: HISTORY_PREFIX + room, sk: seqSortKey(seq) }),
  messageId: (id: string): Key => ({ pk: MESSAGE_ID_PREFIX + id, sk: "seq" }),
  /** Beside the counter, so create-room's transaction and the history role reach both. */
  roomRecord: (room: string): Key => ({ pk: HISTORY_PREFIX + room, sk: "room" }),
  roomStanding: (room: string, userId: string): Key => ({ pk: ACCESS_PREFIX + room, sk: USER_PREFIX + userId }),
  userRate: (userId: string): Key => ({ pk: LIMITS_PREFIX + userId, sk: "rate" }),
  userConnections: (userId: string): Key => ({ pk: LIMITS_PREFIX + userId, sk: "connections" }),
  accountBan: (userId: string): Key => ({ pk: ACCOUNT_BAN_PREFIX + userId, sk: "account" }),
};

/** The sort key of the room message with this seq: `seq#` and the seq zero-padded to SEQ_DIGITS digits. */
export function seqSortKey(seq: number): string {
  return SEQ_PREFIX + String(seq).padStart(SEQ_DIGITS, "0");
}

/** The greatest seq a sort key can hold. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** The room a membership item (`sk = room#<room>`) is for, or undefined for any other item. */
export function roomOfMembership(sk: string): string | undefined {
  return sk.startsWith(ROOM_PREFIX) ? sk.slice(ROOM_PREFIX.length) : undefined;
}

/** FNV-1a over the id: API Gateway's connection ids are random, so this spreads them evenly. */
export function shardOf(connectionId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < connectionId.length; i += 1) {
    hash ^= connectionId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % BROADCAST_SHARDS;
}

/**
 * API Gateway closes every WebSocket connection after 2 hours; items of connections that vanished without
 * a $disconnect expire a little after that. Reads treat an item past its expiry as gone at once, because
 * DynamoDB deletes expired items only eventually (typically within a few days).
 */
export const ITEM_TTL_SECONDS = 2 * 60 * 60 + 15 * 60;

export function expiresAt(connectedAtMs: number): number {
  return Math.floor(connectedAtMs / 1000) + ITEM_TTL_SECONDS;
}

/** Whether an item is past its TTL (or has a malformed one) at `nowMs`. */
export function isExpired(item: { readonly [TTL_ATTRIBUTE]?: unknown }, nowMs: number): boolean {
  const ttl = item[TTL_ATTRIBUTE];
  return typeof ttl === "number" && ttl * 1000 <= nowMs;
}
