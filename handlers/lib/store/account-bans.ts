/**
 * Account bans (docs/moderation.md, "Account bans"): one item per banned user, `ban#<userId>` / `account`,
 * holding `until` (epoch s), `by` (the admin) and `expiresAt` = until, so DynamoDB's TTL removes it once it
 * is over. Readers compare `until` with the clock and never trust the item's presence: TTL deletes lazily.
 *
 * Everything here goes through DynamoDB's JSON API (dynamodb-json.ts) rather than the SDK's client: the
 * authorizer bundles this module for its one read on every handshake.
 */
import { marshall } from "@aws-sdk/util-dynamodb";
import { retryingConflicts } from "../aws/backoff";
import type { User } from "../auth/user";
import type { DynamoDbJson } from "./dynamodb-json";
import { keys, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "./table-schema";

const UNTIL = "until";

/**
 * The ban's end (epoch s) while the user is banned at `nowMs`, else undefined. Strongly consistent: a ban
 * written a moment ago refuses the next handshake.
 */
export async function accountBannedUntil(reads: DynamoDbJson, tableName: string, userId: string, nowMs: number): Promise<number | undefined> {
  const { Item } = (await reads.call("GetItem", {
    TableName: tableName,
    Key: wireKey(userId),
    ConsistentRead: true,
    ProjectionExpression: "#until",
    ExpressionAttributeNames: { "#until": UNTIL },
  })) as { Item?: { until?: { N?: string } } };
  const until = Number(Item?.until?.N);
  return Number.isFinite(until) && until * 1000 > nowMs ? until : undefined;
}

/**
 * Bans the user until `until` (epoch s), replacing any ban they had. A handshake's transaction checking the
 * ban item at that moment makes DynamoDB refuse the write (TransactionConflictException): tried again.
 */
export async function putAccountBan(writes: DynamoDbJson, tableName: string, userId: string, until: number, by: User): Promise<void> {
  const Item = marshall({ ...keys.accountBan(userId), [UNTIL]: until, by, [TTL_ATTRIBUTE]: until });
  await retryingConflicts(() => writes.write("PutItem", { TableName: tableName, Item }));
}

/** Lifts the user's ban; nothing when there is none. */
export async function liftAccountBan(writes: DynamoDbJson, tableName: string, userId: string): Promise<void> {
  await retryingConflicts(() => writes.write("DeleteItem", { TableName: tableName, Key: wireKey(userId) }));
}

/** The ban item's key in DynamoDB's wire format, written out: the authorizer bundles no marshaller for it. */
function wireKey(userId: string): Record<string, { S: string }> {
  const { pk, sk } = keys.accountBan(userId);
  return { [PARTITION_KEY]: { S: pk }, [SORT_KEY]: { S: sk } };
}

/**
 * The item of $connect's transaction (DocumentClient form) that fails it while the user is banned: the ban
 * item is missing or its `until` has passed. A handshake whose authorizer ran before a ban therefore adds no
 * connection once the ban is written; a connection added before it is in the user's list the ban's sweep reads.
 */
export function notBannedCheck(tableName: string, userId: string, nowMs: number) {
  return {
    ConditionCheck: {
      TableName: tableName,
      Key: keys.accountBan(userId),
      ConditionExpression: "attribute_not_exists(#pk) OR #until <= :now",
      ExpressionAttributeNames: { "#pk": PARTITION_KEY, "#until": UNTIL },
      ExpressionAttributeValues: { ":now": Math.floor(nowMs / 1000) },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    },
  };
}

/** The ban's `until` in a ConditionCheck's old image (plain values), when it has one. */
export function untilOf(item: Record<string, unknown> | undefined): number | undefined {
  const until = item?.[UNTIL];
  return typeof until === "number" ? until : undefined;
}
