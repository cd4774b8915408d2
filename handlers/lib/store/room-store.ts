/**
 * Who may be in a room (docs/moderation.md): the room's record (`hist#<room>`/`room`) and each user's
 * standing in it (`acl#<room>`/`user#<id>`: invitation, room ban, last kick). Join and create-room check
 * them inside their membership transactions (the items built here), so a kick, a withdrawn invitation or a
 * second create-room racing them is either seen or makes them fail: never read-then-write.
 */
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailed } from "../aws/aws-errors";
import { dynamoDb } from "../aws/clients";
import { tableSettings } from "../env/contract";
import { storedUser, type User } from "../auth/user";
import { keys, PARTITION_KEY, TTL_ATTRIBUTE } from "./table-schema";

/** How long an invitation lets its user in, unless a kick withdraws it first. */
export const INVITATION_SECONDS = 30 * 24 * 60 * 60;
/**
 * How long a kick's mark refuses joins that were already in flight: Lambda's longest timeout, so no join
 * the gateway received before the kick can still be running when the mark expires.
 */
export const KICK_MARK_SECONDS = 15 * 60;

export interface RoomRecord {
  readonly private: boolean;
  /** The user who created it with create-room; a room made by its first join has none (admins moderate it). */
  readonly owner?: User;
  readonly createdAt: number;
}

/** A user's standing in one room; each field counts only until its own end. */
export interface RoomStanding {
  /** Epoch seconds. */
  readonly invitedUntil?: number;
  readonly invitedBy?: User;
  /** Epoch seconds. */
  readonly bannedUntil?: number;
  /** Epoch ms: joins the gateway received before this are refused. */
  readonly kickedAt?: number;
}

/** A transaction item as the document client takes it. */
export type TransactItem = NonNullable<ConstructorParameters<typeof import("@aws-sdk/lib-dynamodb").TransactWriteCommand>[0]["TransactItems"]>[number];

type Item = Record<string, unknown>;

export function roomRecordOf(item: Item | undefined): RoomRecord | undefined {
  if (!item) return undefined;
  return {
    private: item.private === true,
    ...(item.owner !== undefined && { owner: storedUser(item.owner, "") }),
    createdAt: Number(item.createdAt),
  };
}

export function roomStandingOf(item: Item | undefined): RoomStanding | undefined {
  if (!item) return undefined;
  const number = (name: string) => (typeof item[name] === "number" ? { [name]: item[name] as number } : {});
  return {
    ...number("invitedUntil"),
    ...(item.invitedBy !== undefined && { invitedBy: storedUser(item.invitedBy, "") }),
    ...number("bannedUntil"),
    ...number("kickedAt"),
  };
}

/** Whether the user owns the room or is an admin: they may moderate it, and enter it uninvited. */
export function moderates(record: RoomRecord | undefined, user: User): boolean {
  return user.admin === true || (record?.owner !== undefined && record.owner.id === user.id);
}

export type Entry = "allowed" | "banned" | "not-invited";

/**
 * Whether the user may join, as far as what was read says; the join's transaction checks it again
 * (standingCheck). A kick mark does not count here: it only refuses joins received before it.
 */
export function mayEnter(record: RoomRecord | undefined, standing: RoomStanding | undefined, user: User, nowMs: number): Entry {
  if (standing?.bannedUntil !== undefined && standing.bannedUntil * 1000 > nowMs) return "banned";
  if (!record?.private || moderates(record, user)) return "allowed";
  return standing?.invitedUntil !== undefined && standing.invitedUntil * 1000 > nowMs ? "allowed" : "not-invited";
}

/**
 * The join's check of the user's standing, in its transaction: not banned from the room, not kicked after
 * the gateway received this join, and, when `invited`, holding an invitation.
 */
export function standingCheck(table: string, room: string, userId: string, { nowMs, receivedAtMs, invited }: { nowMs: number; receivedAtMs: number; invited: boolean }): TransactItem {
  const free = "(attribute_not_exists(#bannedUntil) OR #bannedUntil <= :now) AND (attribute_not_exists(#kickedAt) OR #kickedAt < :receivedAt)";
  return {
    ConditionCheck: {
      TableName: table,
      Key: keys.roomStanding(room, userId),
      ConditionExpression: invited ? `attribute_exists(#pk) AND #invitedUntil > :now AND ${free}` : `attribute_not_exists(#pk) OR (${free})`,
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#bannedUntil": "bannedUntil", "#kickedAt": "kickedAt", ...(invited && { "#invitedUntil": "invitedUntil" }) },
      ExpressionAttributeValues: { ":now": Math.floor(nowMs / 1000), ":receivedAt": receivedAtMs },
    },
  };
}

/** The room's record, written only if the room has none: of two writers racing, exactly one succeeds. */
export function recordPut(table: string, room: string, record: RoomRecord): TransactItem {
  return {
    Put: {
      TableName: table,
      Item: { ...keys.roomRecord(room), private: record.private, ...(record.owner && { owner: record.owner }), createdAt: record.createdAt },
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY },
    },
  };
}

/** The room has no seq counter: no message was ever sent to it. */
export function counterAbsent(table: string, room: string): TransactItem {
  return {
    ConditionCheck: {
      TableName: table,
      Key: keys.roomCounter(room),
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY },
    },
  };
}

/** Invitations and kicks: single conditional writes on a user's standing in a room. */
export class RoomStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Lets the user into the private room for INVITATION_SECONDS; returns when the invitation ends (epoch s). */
  async invite(room: string, userId: string, by: User): Promise<number> {
    const until = Math.floor(this.now() / 1000) + INVITATION_SECONDS;
    await this.updateStanding(room, userId, "SET #invitedUntil = :until, #invitedBy = :by", { "#invitedUntil": "invitedUntil", "#invitedBy": "invitedBy" }, { ":until": until, ":by": by }, until);
    return until;
  }

  /**
   * Marks the kick (refusing joins received before it), withdraws the user's invitation and, with
   * `banSeconds`, bans the user from the room; returns when that ban ends (epoch s). Written before the
   * kick removes any membership, so a join racing it either committed already or fails its check.
   */
  async kick(room: string, userId: string, banSeconds?: number): Promise<number | undefined> {
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const bannedUntil = banSeconds === undefined ? undefined : nowSeconds + banSeconds;
    await this.updateStanding(
      room,
      userId,
      `SET #kickedAt = :kickedAt${bannedUntil === undefined ? "" : ", #bannedUntil = :bannedUntil"} REMOVE #invitedUntil, #invitedBy`,
      { "#kickedAt": "kickedAt", "#invitedUntil": "invitedUntil", "#invitedBy": "invitedBy", ...(bannedUntil !== undefined && { "#bannedUntil": "bannedUntil" }) },
      { ":kickedAt": nowMs, ...(bannedUntil !== undefined && { ":bannedUntil": bannedUntil }) },
      Math.max(nowSeconds + KICK_MARK_SECONDS, bannedUntil ?? 0),
    );
    return bannedUntil;
  }

  /**
   * One UpdateItem on the standing that also raises its TTL to `ttl`, never lowering it: a kick without a
   * ban must not let an earlier, longer ban expire with the item. Both branches are single atomic writes.
   */
  private async updateStanding(room: string, userId: string, update: string, names: Record<string, string>, values: Record<string, unknown>, ttl: number): Promise<void> {
    const Key = keys.roomStanding(room, userId);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: withTtl(update),
          ConditionExpression: "attribute_not_exists(#ttl) OR #ttl < :ttl",
          ExpressionAttributeNames: { ...names, "#ttl": TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ...values, ":ttl": ttl },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // The item already lives longer than this change needs: keep its TTL.
      await this.db.send(new UpdateCommand({ TableName: this.table, Key, UpdateExpression: update, ExpressionAttributeNames: names, ExpressionAttributeValues: values }));
    }
  }
}

/** `SET a = :a REMOVE b` → `SET a = :a, #ttl = :ttl REMOVE b`. */
function withTtl(update: string): string {
  const [set, remove] = update.split(" REMOVE ");
  return `${set}, #ttl = :ttl${remove ? ` REMOVE ${remove}` : ""}`;
}

export function roomStore(): RoomStore {
  return new RoomStore(dynamoDb(), tableSettings().tableName);
}
