import { isGone, isRetryable } from "../aws/aws-errors";
import { backoffDelayMs, RetryPolicy, sleep } from "../aws/backoff";
import { POST_TIMEOUT_MS } from "../aws/clients";
import { withTimeout } from "../aws/timeout-signal";

/** Someone a message is posted to. */
export interface Recipient {
  readonly connectionId: string;
  /** When API Gateway accepted the connection (epoch ms), to tell a connection still opening from a closed one. */
  readonly connectedAt?: number;
}

export interface FanOutCounts {
  /** Recipients whose post succeeded. */
  readonly delivered: number;
  /** Recipients that were gone (410) and have been removed (or, without `onGone`, only counted). */
  readonly stale: number;
  /** Recipients whose post failed for any other reason, or whose removal failed. */
  readonly failed: number;
  /** True when some recipients were never attempted: time ran out, or reading the recipients failed. */
  readonly incomplete: boolean;
}

export interface FanOutOptions<R extends Recipient> {
  /** Read lazily: posting starts while later pages of recipients are still being read. */
  readonly recipients: AsyncIterable<R> | Iterable<R>;
  /** Posts to one recipient; `signal` aborts the request when its time is up (pass it to the SDK's send). */
  readonly post: (recipient: R, signal: AbortSignal) => Promise<unknown>;
  /** Removes a recipient that is gone, so later fan-outs stop posting to it. */
  readonly onGone?: (recipient: R) => Promise<unknown>;
  /** Told about every recipient counted as failed, for logging; never stops the fan-out. */
  readonly onFailure?: (recipient: R, error: unknown) => void;
  /**
   * Told every attempted recipient's outcome. `retryLater` marks a failure that a later attempt may fix
   * (still throttled after every retry, or still opening): the queue consumer hands those back to SQS.
   */
  readonly onOutcome?: (recipient: R, outcome: Outcome, retryLater: boolean) => void;
  /** Told when reading recipients failed after some had been posted to; the fan-out then ends incomplete. */
  readonly onReadFailure?: (error: unknown) => void;
  /** Posts in flight at most. */
  readonly concurrency: number;
  /**
   * Milliseconds left before the caller must have answered (Lambda's getRemainingTimeInMillis). No post or
   * retry starts with less than `reserveMs` left, and each post is aborted after less than the reserve,
   * so the posts in flight end in time and the caller can still reply `incomplete` instead of being killed
   * mid-way. @default unlimited
   */
  readonly remainingTimeMs?: () => number;
  /** @default a quarter of the time left at the start, between MIN_RESERVE_MS and MAX_RESERVE_MS */
  readonly reserveMs?: number;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/**
 * Throttling clears within a second or so. Eight attempts wait at most ~3.2 s in all (full jitter: ~1.6 s
 * on average) and lose a recipient only after eight refusals in a row: with 10% of calls refused, one
 * recipient in 10^8 rather than one in 10^5 with five attempts.
 */
export const DEFAULT_POST_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 800 };

/**
 * API Gateway answers 410 for a connection whose $connect has not finished: the record exists before the
 * handshake completes, for as long as the $connect integration may run (at most 29 s). A 410 from a
 * record younger than this is retried like throttling and never removes the record.
 */
export const NEW_CONNECTION_GRACE_MS = 30_000;

/**
 * Time kept back for the posts in flight and for replying: enough for a post's full timeout when the
 * function has time to spare, a quarter of its time when it has little (a short timeout must still post).
 */
export const MAX_RESERVE_MS = POST_TIMEOUT_MS + 500;
export const MIN_RESERVE_MS = 600;
/** What is left of the reserve once the last post started has timed out: enough to reply. */
const REPLY_MARGIN_MS = 200;

export type Outcome = "delivered" | "stale" | "failed";

/**
 * Posts to every recipient with at most `concurrency` posts in flight. One recipient's failure never
 * stops the others. If reading recipients fails before anyone was posted to, the error is thrown (nothing
 * happened, so the caller may say so); after that, the fan-out finishes what it started and reports
 * `incomplete`, because an error would make the sender retry and duplicate the message for everyone
 * already reached.
 */
export async function fanOut<R extends Recipient>(options: FanOutOptions<R>): Promise<FanOutCounts> {
  if (!(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
    throw new Error(`fan-out concurrency must be a positive integer, got ${options.concurrency}`);
  }
  const counts = { delivered: 0, stale: 0, failed: 0 };
  let incomplete = false;
  let attempted = 0;
  const inFlight = new Set<Promise<void>>();
  // Woken when a post ends and frees a slot. One waiter (this loop), so no Promise.race over every post in
  // flight, which would add a reaction to each of them for every recipient.
  let slotFreed: (() => void) | undefined;
  const freeSlot = () => new Promise<void>((resolve) => (slotFreed = resolve));
  const reserveMs = options.reserveMs ?? Math.min(MAX_RESERVE_MS, Math.max(MIN_RESERVE_MS, timeLeft(options) / 4));
  const timing = { reserveMs, postTimeoutMs: Math.floor(Math.min(POST_TIMEOUT_MS, Math.max(100, reserveMs - REPLY_MARGIN_MS))) };
  const outOfTime = () => timeLeft(options) < reserveMs;
  try {
    for await (const recipient of options.recipients) {
      while (inFlight.size >= options.concurrency) await freeSlot();
      if (outOfTime()) {
        incomplete = true;
        break;
      }
      attempted += 1;
      const task: Promise<void> = deliver(recipient, options, timing)
        .then(({ outcome, retryLater }) => {
          counts[outcome] += 1;
          try {
            options.onOutcome?.(recipient, outcome, retryLater);
          } catch {
            // A broken observer must not stop the fan-out (nothing awaits this task but the loop's end).
          }
        })
        .finally(() => {
          inFlight.delete(task);
          const wake = slotFreed;
          slotFreed = undefined;
          wake?.();
        });
      inFlight.add(task);
    }
  } catch (readError) {
    await Promise.all(inFlight);
    if (attempted === 0) throw readError;
    incomplete = true;
    options.onReadFailure?.(readError);
  }
  await Promise.all(inFlight);
  return { ...counts, incomplete };
}

/** Never rejects: every way a recipient can end is an outcome. */
interface Timing {
  readonly reserveMs: number;
  readonly postTimeoutMs: number;
}

async function deliver<R extends Recipient>(recipient: R, options: FanOutOptions<R>, timing: Timing): Promise<{ outcome: Outcome; retryLater: boolean }> {
  const error = await postWithRetry(recipient, options, timing);
  if (error === undefined) return { outcome: "delivered", retryLater: false };
  const opening = isGone(error) && isOpening(recipient, options);
  if (!isGone(error) || opening) return { outcome: failed(recipient, error, options), retryLater: opening || isRetryable(error) };
  if (!options.onGone) return { outcome: "stale", retryLater: false };
  try {
    await options.onGone(recipient);
    return { outcome: "stale", retryLater: false };
  } catch (removalError) {
    return { outcome: failed(recipient, removalError, options), retryLater: false };
  }
}

/** Resolves with the last error, or undefined once a post succeeds. */
async function postWithRetry<R extends Recipient>(recipient: R, options: FanOutOptions<R>, timing: Timing): Promise<unknown> {
  const policy = options.retry ?? DEFAULT_POST_RETRY;
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await withTimeout(timing.postTimeoutMs, (signal) => options.post(recipient, signal));
      return undefined;
    } catch (error) {
      const again = isRetryable(error) || (isGone(error) && isOpening(recipient, options));
      if (!again || attempt >= policy.maxAttempts) return error;
      const delay = backoffDelayMs(attempt, policy);
      if (timeLeft(options) - delay < timing.reserveMs) return error;
      await wait(delay);
    }
  }
}

/** Whether a 410 may only mean "not open yet": the record is younger than a $connect can take. */
function isOpening(recipient: Recipient, options: { readonly now?: () => number }): boolean {
  const now = options.now?.() ?? Date.now();
  return recipient.connectedAt !== undefined && now - recipient.connectedAt < NEW_CONNECTION_GRACE_MS;
}

function timeLeft(options: { readonly remainingTimeMs?: () => number }): number {
  return options.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
}

function failed<R extends Recipient>(recipient: R, error: unknown, options: FanOutOptions<R>): Outcome {
  try {
    options.onFailure?.(recipient, error);
  } catch {
    // A broken logger must not turn one recipient's failure into everyone's.
  }
  return "failed";
}
