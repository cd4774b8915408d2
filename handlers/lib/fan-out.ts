import { isGone, isRetryable } from "./aws-errors";
import { backoffDelayMs, RetryPolicy, sleep } from "./backoff";

export interface FanOutCounts {
  /** Recipients whose post succeeded. */
  readonly delivered: number;
  /** Recipients that were gone (410) and have been removed. */
  readonly stale: number;
  /** Recipients whose post failed for any other reason, or whose removal failed. */
  readonly failed: number;
}

export interface FanOutOptions {
  /** Read lazily: posting starts while later pages of recipients are still being read. */
  readonly recipients: AsyncIterable<string> | Iterable<string>;
  readonly post: (recipient: string) => Promise<unknown>;
  /** Removes a recipient that is gone, so later fan-outs stop posting to it. */
  readonly onGone: (recipient: string) => Promise<unknown>;
  /** Told about every recipient counted as failed, for logging; never stops the fan-out. */
  readonly onFailure?: (recipient: string, error: unknown) => void;
  /** Posts in flight at most. */
  readonly concurrency: number;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Throttling clears within a second or so. Eight attempts wait at most ~3.2 s in all (full jitter: ~1.6 s
 * on average), well inside the function's timeout, and lose a recipient only after eight refusals in a
 * row: with 10% of calls refused, one recipient in 10^8 rather than one in 10^5 with five attempts.
 */
export const DEFAULT_POST_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 800 };

type Outcome = keyof FanOutCounts;

/**
 * Posts to every recipient with at most `concurrency` posts in flight. One recipient's failure never
 * stops the others. If reading recipients fails, the posts already started still finish (so nobody
 * reached so far loses the message) before the read error is rethrown.
 */
export async function fanOut(options: FanOutOptions): Promise<FanOutCounts> {
  if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
    throw new Error(`fan-out concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const counts = { delivered: 0, stale: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const recipient of options.recipients) {
      while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      const task: Promise<void> = deliver(recipient, options)
        .then((outcome) => {
          counts[outcome] += 1;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
  } finally {
    await Promise.all(inFlight);
  }
  return counts;
}

/** Never rejects: every way a recipient can end is an outcome. */
async function deliver(recipient: string, options: FanOutOptions): Promise<Outcome> {
  try {
    await postWithRetry(recipient, options);
    return "delivered";
  } catch (error) {
    if (isGone(error)) {
      try {
        await options.onGone(recipient);
        return "stale";
      } catch (removalError) {
        return failed(recipient, removalError, options);
      }
    }
    return failed(recipient, error, options);
  }
}

async function postWithRetry(recipient: string, options: FanOutOptions): Promise<void> {
  const policy = options.retry ?? DEFAULT_POST_RETRY;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await options.post(recipient);
      return;
    } catch (error) {
      if (attempt >= policy.maxAttempts || !isRetryable(error)) throw error;
      await wait(backoffDelayMs(attempt, policy));
    }
  }
}

function failed(recipient: string, error: unknown, options: FanOutOptions): Outcome {
  try {
    options.onFailure?.(recipient, error);
  } catch {
    // A broken logger must not turn one recipient's failure into everyone's.
  }
  return "failed";
}
