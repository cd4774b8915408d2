import { isTransactionConflict } from "./aws-errors";

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * A write cancelled by a transaction holding its items (TransactionConflict) is tried again after that one
 * has finished. A transaction holds its items for as long as it takes to commit, which under load is more
 * than a few tries of a few milliseconds each; and a user's parallel frames all write the user's frame
 * bucket, which joins and leaves hold in their transactions. About 1.4 s of waiting on average at most,
 * well inside a function's timeout.
 */
export const TRANSACTION_CONFLICT_RETRY: RetryPolicy = { maxAttempts: 10, baseDelayMs: 25, maxDelayMs: 500 };

/**
 * Exponential backoff with "full jitter" (a random delay up to the exponential cap): many callers
 * throttled at the same moment spread their retries out instead of colliding again.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `write` again when DynamoDB cancelled it for another transaction working on its items
 * (TransactionConflictException, or a transaction cancelled with the reason TransactionConflict): nothing was
 * written, and the SDK retries neither.
 */
export async function retryingConflicts<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await write();
    } catch (error) {
      if (!isTransactionConflict(error) || attempt >= TRANSACTION_CONFLICT_RETRY.maxAttempts) throw error;
      await sleep(backoffDelayMs(attempt, TRANSACTION_CONFLICT_RETRY));
    }
  }
}
