/**
 * The per-user frame limit (docs/limits.md): a token bucket kept as GCRA's "theoretical arrival time"
 * (tat) on one item per user, `limits#<userId>`/`rate`. A frame at `now` is allowed iff
 * tat − now ≤ (burst − 1) · interval, and then moves tat to max(tat, now) + interval.
 *
 * Frames of one user run as parallel invocations (several connections, or one connection's frames on
 * AWS), so the decision is one conditional UpdateItem, never a read followed by a write: two frames can
 * never both take the last token. DynamoDB has no max(), so max(tat, now) is two branches, each a
 * conditional write on its own range of tat:
 *   idle  (no tat, or tat < now):     SET tat = now + interval
 *   burst (now ≤ tat ≤ ceiling):      SET tat = tat + interval
 *   over  (tat > ceiling):            refused, retry after tat − ceiling
 * A failed condition returns the item as it is (ReturnValuesOnConditionCheckFailure: ALL_OLD), which says
 * which range tat is in; the next attempt takes that branch. Each container remembers the tat it last
 * saw per user, so the first attempt usually picks the right branch: one write per allowed frame.
 */
import type { DynamoDbJson } from "../store/dynamodb-json";
import { keys, TTL_ATTRIBUTE } from "../store/table-schema";
import type { RateLimit } from "../env/contract";

export type RateDecision =
  | { readonly allowed: true; readonly writes: number }
  | { readonly allowed: false; readonly retryAfterMs: number; readonly writes: number };

/** Each failed attempt means another frame of the user moved tat in between; this many bound the loop. */
const MAX_ATTEMPTS = 4;
/** A bucket whose tat is past is full, the same as no item: it may expire this long after. */
const IDLE_TTL_SECONDS = 60;
/** The per-user tat hints one container keeps; forgotten wholesale past this, costing one extra write each. */
const MAX_HINTS = 10_000;
const hints = new Map<string, number>();

/** Takes one frame from the user's bucket at `nowMs`, or says how long until one is there. */
export async function takeFrame(db: DynamoDbJson, tableName: string, userId: string, limit: RateLimit, nowMs: number): Promise<RateDecision> {
  const interval = 1000 / limit.rate;
  // The latest tat that still admits a frame now.
  const ceiling = nowMs + (limit.burst - 1) * interval;
  const key = { pk: { S: keys.userRate(userId).pk }, sk: { S: keys.userRate(userId).sk } };
  let burst = (hints.get(userId) ?? Number.NEGATIVE_INFINITY) >= nowMs;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const next = burst ? ceiling + interval : nowMs + interval;
    try {
      const { Attributes } = (await db.write("UpdateItem", {
        TableName: tableName,
        Key: key,
        UpdateExpression: burst ? "SET tat = tat + :i, #ttl = :ttl" : "SET tat = :next, #ttl = :ttl",
        ConditionExpression: burst ? "tat BETWEEN :now AND :ceiling" : "attribute_not_exists(tat) OR tat < :now",
        ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
        ExpressionAttributeValues: burst
          ? { ":i": number(interval), ":now": number(nowMs), ":ceiling": number(ceiling), ":ttl": number(ttlOf(next)) }
          : { ":next": number(next), ":now": number(nowMs), ":ttl": number(ttlOf(next)) },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        ReturnValues: "UPDATED_NEW",
      })) as { Attributes?: Record<string, { N?: string } | undefined> };
      remember(userId, Number(Attributes?.tat?.N ?? next));
      return { allowed: true, writes: attempt };
    } catch (error) {
      if ((error as { name?: unknown }).name !== "ConditionalCheckFailedException") throw error;
      const tat = oldTat(error);
      if (tat !== undefined && tat > ceiling) {
        remember(userId, tat);
        return { allowed: false, retryAfterMs: Math.ceil(tat - ceiling), writes: attempt };
      }
      burst = tat !== undefined && tat >= nowMs;
    }
  }
  // Lost every race to the user's own concurrent frames: they took the tokens, so this one waits a beat.
  return { allowed: false, retryAfterMs: Math.ceil(interval), writes: MAX_ATTEMPTS };
}

function ttlOf(tatMs: number): number {
  return Math.ceil(tatMs / 1000) + IDLE_TTL_SECONDS;
}

function number(value: number): { N: string } {
  return { N: String(value) };
}

function remember(userId: string, tat: number): void {
  if (hints.size >= MAX_HINTS && !hints.has(userId)) hints.clear();
  hints.set(userId, tat);
}

/** tat of the item a failed condition returned (wire format), or undefined when there was none. */
function oldTat(error: unknown): number | undefined {
  const item = (error as { Item?: Record<string, { N?: string } | undefined> }).Item;
  // An item past its TTL that DynamoDB has not deleted yet has a tat long past: the idle branch takes it.
  const value = item?.tat?.N;
  return value === undefined ? undefined : Number(value);
}
