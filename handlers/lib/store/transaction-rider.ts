import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";

/** One item of a TransactWriteItems, as the document client takes it (plain values). */
export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** A cancelled transaction's reason for one of its items; `Item` (wire format) when ALL_OLD asked for it. */
export interface CancellationReason {
  readonly Code?: string;
  readonly Item?: Record<string, unknown>;
}

/**
 * Items another concern adds to a store's transaction, so they commit or fail with the store's own: the
 * frame limiter's bucket write (docs/limits.md), which then costs the frame no call of its own. The store
 * puts them last, so the indexes of its own items in a cancellation's reasons do not move.
 */
export interface TransactionRider {
  /** How many items `items()` gives, every time. */
  readonly itemCount: number;
  /** The items for this attempt; asked again before every attempt, as a failed one may change them. */
  items(): TransactItem[];
  /** The transaction committed, the rider's items with it. */
  committed(): void;
  /**
   * The transaction was cancelled with a failed condition on one of the rider's items (`reasons`: the
   * rider's items' reasons, in order). "retry": run it again with new items(); "refuse": give it up, and
   * the store answers that the rider refused. Nothing of the transaction was written either way.
   */
  conditionFailed(reasons: readonly CancellationReason[]): "retry" | "refuse";
}

/** The rider's items for this attempt, to spread at the end of a transaction's items (none without a rider). */
export function riderItems(rider: TransactionRider | undefined): TransactItem[] {
  return rider ? rider.items() : [];
}

/**
 * What the rider makes of a cancelled transaction: undefined when none of the rider's items (the last
 * `itemCount`) failed its condition. The store then reads the reasons of its own items; the rider's write
 * did not happen either, and the caller must make it some other way.
 */
export function riderVerdict(error: unknown, rider: TransactionRider | undefined): "retry" | "refuse" | undefined {
  if (!rider || (error as { name?: unknown }).name !== "TransactionCanceledException") return undefined;
  const all = (error as { CancellationReasons?: readonly CancellationReason[] }).CancellationReasons ?? [];
  const reasons = all.slice(all.length - rider.itemCount);
  return reasons.some((reason) => reason.Code === "ConditionalCheckFailed") ? rider.conditionFailed(reasons) : undefined;
}
