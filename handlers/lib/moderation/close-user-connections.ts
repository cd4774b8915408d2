import { isGone, isThrottled } from "../aws/aws-errors";
import { backoffDelayMs, type RetryPolicy, sleep } from "../aws/backoff";
import type { ConnectionsApi } from "../aws/connections-api";
import type { ConnectionStore, ListedRecipient } from "../store/connection-store";

/** How a DELETE that cannot take effect yet (the handshake still completing, or throttled) is tried again. */
const CLOSE_RETRY: RetryPolicy = { maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 50, maxDelayMs: 500 };
/** Never retry sooner than this: a jitter of 0 would otherwise spin on @connections. */
const MIN_RETRY_DELAY_MS = 20;

export interface CloseOutcome {
  /** Closed by DELETE (their $disconnect removes their items). */
  readonly closed: number;
  /** Already closed: 410 past the time their handshake could still have been completing. */
  readonly gone: number;
  /** Still 410 at the deadline while their handshake might not be complete yet: not known closed. */
  readonly unclosed: number;
}

export interface CloseOptions {
  /** The longest a handshake may take after its connectedAt (HANDSHAKE_TIMEOUT_SECONDS). */
  readonly handshakeTimeoutMs: number;
  /** Epoch ms after which no DELETE is retried (the function's own deadline, less a margin). */
  readonly deadlineMs: number;
  readonly now?: () => number;
}

/**
 * Closes every connection the user's list holds with @connections DELETE. The list is read (strongly
 * consistent) after the caller's write that stops new connections, so it holds every connection that can
 * still open. A connection listed while its $connect is still running is not open yet: @connections answers
 * 410 for it until API Gateway completes the handshake, so a 410 is retried until the handshake must have
 * ended one way or the other (connectedAt + handshakeTimeoutMs), unless the connection's record is gone
 * meanwhile (its $disconnect ran: it was open and is closed). Every DELETE is attempted before the first
 * failure, if any, is thrown.
 */
export async function closeUserConnections(store: ConnectionStore, api: ConnectionsApi, userId: string, options: CloseOptions): Promise<CloseOutcome> {
  const listed: ListedRecipient[] = [];
  for await (const connection of store.userConnections(userId)) listed.push(connection);
  const settled = await Promise.allSettled(listed.map((connection) => closeOne(store, api, connection, options)));
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
  const outcomes = settled.map((result) => (result as PromiseFulfilledResult<keyof CloseOutcome>).value);
  const count = (outcome: keyof CloseOutcome) => outcomes.filter((value) => value === outcome).length;
  return { closed: count("closed"), gone: count("gone"), unclosed: count("unclosed") };
}

async function closeOne(store: ConnectionStore, api: ConnectionsApi, { connectionId, connectedAt }: ListedRecipient, options: CloseOptions): Promise<keyof CloseOutcome> {
  const now = options.now ?? Date.now;
  const handshakeEndsAt = connectedAt + options.handshakeTimeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await api.disconnect(connectionId);
      return "closed";
    } catch (error) {
      const delay = Math.max(MIN_RETRY_DELAY_MS, backoffDelayMs(attempt, CLOSE_RETRY));
      if (isGone(error)) {
        // Its record gone or closing: its $disconnect has run, so it opened and is closed now.
        if (now() >= handshakeEndsAt || !(await store.connection(connectionId))) return "gone";
        if (now() >= options.deadlineMs) return "unclosed";
        // One last try right when the handshake must have ended (or at our deadline).
        await sleep(Math.min(delay, Math.min(handshakeEndsAt, options.deadlineMs) - now()));
        continue;
      }
      if (!isThrottled(error) || now() + delay > options.deadlineMs) throw error;
      await sleep(delay);
    }
  }
}
