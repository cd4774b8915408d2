/**
 * The per-user frame limit (docs/limits.md): a token bucket kept as GCRA's "theoretical arrival time"
 * (tat) on one item per user, `limits#<userId>`/`rate`. A frame at `now` is allowed iff
 * tat − now ≤ (burst − 1) · interval, and then moves tat to max(tat, now) + interval.
 *
 * Frames of one user run as parallel invocations (several connections, or one connection's frames on
 * AWS), so the decision is one conditional update, never a read followed by a write: two frames can
 * never both take the last token. DynamoDB has no max(), so max(tat, now) is two branches, each a
 * conditional write on its own range of tat:
 *   idle  (no tat, or tat < now):     SET tat = now + interval
 *   burst (now ≤ tat ≤ ceiling):      SET tat = tat + interval
 *   over  (tat > ceiling):            refused, retry after tat − ceiling
 * A failed condition returns the item as it is (ReturnValuesOnConditionCheckFailure: ALL_OLD), which says
 * which range tat is in; the next attempt takes that branch. Each container remembers the tat it last
 * saw per user, so the first attempt usually picks the right branch: one write per allowed frame.
 *
 * The update is either a call of its own (`take`) or one more item of a transaction the route makes
 * anyway (`rider`: join, leave), where it commits or fails with the route's own writes.
 */
import { isTransactionConflict } from "../aws/aws-errors";
import { backoffDelayMs, sleep, TRANSACTION_CONFLICT_RETRY } from "../aws/backoff";
import type { DynamoDbJson } from "../store/dynamodb-json";
import { keys, TTL_ATTRIBUTE } from "../store/table-schema";
import type { CancellationReason, TransactionRider } from "../store/transaction-rider";
import type { RateLimit } from "../env/contract";

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/** Each failed condition means another frame of the user moved tat in between; this many bound the loop. */
const MAX_ATTEMPTS = 4;
/**
 * The bucket's own write meeting a transaction that holds the item (the same user's join or leave) is
 * refused with TransactionConflictException, having written nothing: tried again once that one is done.
 */
const CONFLICT_RETRY = TRANSACTION_CONFLICT_RETRY;
/** A bucket whose tat is past is full, the same as no item: it may expire this long after. */
const IDLE_TTL_SECONDS = 60;
/** The per-user tat hints one container keeps; forgotten wholesale past this, costing one extra write each. */
const MAX_HINTS = 10_000;
const hints = new Map<string, number>();

type WireItem = Record<string, { N?: string } | undefined>;

/** One frame's token in its user's bucket, taken at `nowMs` once: by its own write or in a transaction. */
export class FrameBucket {
  private readonly interval: number;
  /** The latest tat that still admits a frame now. */
  private readonly ceiling: number;
  private burst: boolean;
  private failures = 0;
  private decided: RateDecision | undefined;

  constructor(
    private readonly db: DynamoDbJson,
    private readonly tableName: string,
    private readonly userId: string,
    limit: RateLimit,
    private readonly nowMs: number,
  ) {
    this.interval = 1000 / limit.rate;
    this.ceiling = nowMs + (limit.burst - 1) * this.interval;
    this.burst = (hints.get(userId) ?? Number.NEGATIVE_INFINITY) >= nowMs;
  }

  /** What was decided, by a transaction that carried the rider or by `take`; undefined until then. */
  get decision(): RateDecision | undefined {
    return this.decided;
  }

  /** Takes the frame with a conditional UpdateItem of its own, unless it was already decided. */
  async take(): Promise<RateDecision> {
    let conflicts = 1;
    while (!this.decided) {
      const { key, update, condition, values } = this.update();
      try {
        const { Attributes } = (await this.db.write("UpdateItem", {
          TableName: this.tableName,
          Key: { pk: { S: key.pk }, sk: { S: key.sk } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
          ExpressionAttributeValues: Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { N: String(value) }])),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          ReturnValues: "UPDATED_NEW",
        })) as { Attributes?: WireItem };
        this.applied(Number(Attributes?.tat?.N ?? this.expectedTat()));
      } catch (error) {
        if (isTransactionConflict(error) && conflicts < CONFLICT_RETRY.maxAttempts) {
          await sleep(backoffDelayMs(conflicts, CONFLICT_RETRY));
          conflicts += 1;
        } else if ((error as { name?: unknown }).name === "ConditionalCheckFailedException") {
          this.failed((error as { Item?: WireItem }).Item);
        } else {
          throw error;
        }
      }
    }
    return this.decided;
  }

  /** The bucket's update as one more item of a store's transaction (document client form). */
  rider(): TransactionRider {
    return {
      itemCount: 1,
      items: () => {
        const { key, update, condition, values } = this.update();
        return [
          {
            Update: {
              TableName: this.tableName,
              Key: key,
              UpdateExpression: update,
              ConditionExpression: condition,
              ExpressionAttributeNames: { "#ttl": TTL_ATTRIBUTE },
              ExpressionAttributeValues: values,
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            },
          },
        ];
      },
      // A transaction returns no new image: the tat it wrote is estimated from the branch.
      committed: () => this.applied(this.expectedTat()),
      conditionFailed: ([reason]: readonly CancellationReason[]) => {
        this.failed(reason?.Item as WireItem | undefined);
        return this.decided ? "refuse" : "retry";
      },
    };
  }

  /** The conditional update of the current branch, its values as plain numbers. */
  private update(): { key: { pk: string; sk: string }; update: string; condition: string; values: Record<string, number> } {
    const next = this.burst ? this.ceiling + this.interval : this.nowMs + this.interval;
    const ttl = Math.ceil(next / 1000) + IDLE_TTL_SECONDS;
    return {
      key: keys.userRate(this.userId),
      update: this.burst ? "SET tat = tat + :i, #ttl = :ttl" : "SET tat = :next, #ttl = :ttl",
      condition: this.burst ? "tat BETWEEN :now AND :ceiling" : "attribute_not_exists(tat) OR tat < :now",
      values: this.burst ? { ":i": this.interval, ":now": this.nowMs, ":ceiling": this.ceiling, ":ttl": ttl } : { ":next": next, ":now": this.nowMs, ":ttl": ttl },
    };
  }

  /** The tat the current branch writes: now + interval, or (burst) the last tat this container saw plus one interval. */
  private expectedTat(): number {
    return Math.max(this.burst ? (hints.get(this.userId) ?? this.nowMs) : this.nowMs, this.nowMs) + this.interval;
  }

  private applied(tat: number): void {
    remember(this.userId, tat);
    this.decided = { allowed: true };
  }

  /** A failed condition's old item says which range tat is in: refused, or the other branch next. */
  private failed(item: WireItem | undefined): void {
    this.failures += 1;
    // An item past its TTL that DynamoDB has not deleted yet has a tat long past: the idle branch takes it.
    const value = item?.tat?.N;
    const tat = value === undefined ? undefined : Number(value);
    if (tat !== undefined) remember(this.userId, tat);
    if (tat !== undefined && tat > this.ceiling) {
      this.decided = { allowed: false, retryAfterMs: Math.ceil(tat - this.ceiling) };
    } else if (this.failures >= MAX_ATTEMPTS) {
      // Lost every race to the user's own concurrent frames: they took the tokens, so this one waits a beat.
      this.decided = { allowed: false, retryAfterMs: Math.ceil(this.interval) };
    } else {
      this.burst = tat !== undefined && tat >= this.nowMs;
    }
  }
}

/** Takes one frame from the user's bucket at `nowMs` with a write of its own, or says how long until one is there. */
export function takeFrame(db: DynamoDbJson, tableName: string, userId: string, limit: RateLimit, nowMs: number): Promise<RateDecision> {
  return new FrameBucket(db, tableName, userId, limit, nowMs).take();
}

function remember(userId: string, tat: number): void {
  if (hints.size >= MAX_HINTS && !hints.has(userId)) hints.clear();
  hints.set(userId, tat);
}
