/**
 * A WebSocket that comes back after a drop: it reconnects with exponential backoff and jitter until
 * `close()` is called or it gives up. API Gateway drops connections routinely (idle timeout, the 2-hour
 * limit, deploys), so a chat page must treat a close as temporary.
 *
 * The URL comes from a factory called before every attempt, so each attempt can carry fresh credentials
 * (a sign-in token expires; the connection it opened does not, but the next one needs a new token).
 *
 * States: "connecting" (first attempt), "open", "reconnecting" (waiting or retrying after a drop),
 * "closed" (after `close()`, a fatal factory error, or giving up before ever opening).
 */
export class ReconnectingSocket {
  /**
   * @param {string | (() => string | Promise<string>)} url the URL, or a factory called before each
   *   attempt. A factory that throws an error with `fatal: true` stops the socket ("closed" with that
   *   `error`); any other error is retried with the same backoff as a failed connection.
   * @param {{
   *   onOpen?: () => void,
   *   onMessage?: (data: string) => void,
   *   onState?: (state: string, detail: { delayMs?: number, code?: number, error?: unknown, gaveUp?: boolean }) => void,
   *   minDelayMs?: number,
   *   maxDelayMs?: number,
   *   stableAfterMs?: number,
   *   maxAttemptsBeforeFirstOpen?: number,
   * }} [options]
   */
  constructor(url, options = {}) {
    this.urlFactory = typeof url === "function" ? url : () => url;
    this.options = options;
    this.minDelayMs = options.minDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15_000;
    // Backoff only resets once a connection has stayed up this long, so a server that accepts and then
    // immediately closes is not hammered at the minimum delay.
    this.stableAfterMs = options.stableAfterMs ?? 3_000;
    // A browser never learns why a handshake failed (a 401 and an unreachable host both end in close code
    // 1006), so until the first connection opens, repeated failures mean "refused" as far as the page can
    // tell: give up and let the caller say so, rather than retrying forever with credentials that never work.
    this.maxAttemptsBeforeFirstOpen = options.maxAttemptsBeforeFirstOpen ?? Number.POSITIVE_INFINITY;
    this.state = "connecting";
    this.attempt = 0;
    this.hasOpened = false;
    this.failuresBeforeFirstOpen = 0;
    /** True while the URL factory runs: an attempt is under way though there is no socket yet. */
    this.preparing = false;
    /** @type {WebSocket | undefined} */
    this.socket = undefined;
    this.retryTimer = undefined;
    this.stableTimer = undefined;
    this.onOnline = () => this.retryNow();
  }

  start() {
    globalThis.addEventListener?.("online", this.onOnline);
    void this.connect();
  }

  get isOpen() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends a text frame; false when there is no open connection (nothing is queued). */
  send(text) {
    if (!this.isOpen) return false;
    this.socket.send(text);
    return true;
  }

  /** Closes for good: no reconnect follows. */
  close() {
    const socket = this.socket;
    this.stop({});
    socket?.close(1000, "bye");
  }

  /** Skips the rest of the backoff wait, e.g. when the browser comes back online. */
  retryNow() {
    if (this.state !== "reconnecting" || this.socket || this.preparing) return;
    clearTimeout(this.retryTimer);
    void this.connect();
  }

  async connect() {
    this.preparing = true;
    if (this.state === "reconnecting") this.setState("reconnecting", {});
    let url;
    try {
      url = await this.urlFactory();
    } catch (error) {
      this.preparing = false;
      if (this.state === "closed") return;
      if (error && typeof error === "object" && "fatal" in error && error.fatal) return this.stop({ error });
      return this.failedAttempt({ error });
    }
    this.preparing = false;
    // close() may have been called while the factory ran.
    if (this.state === "closed") return;

    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      // Only a malformed URL throws here; retrying cannot fix that.
      return this.stop({ error });
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.hasOpened = true;
      this.stableTimer = setTimeout(() => (this.attempt = 0), this.stableAfterMs);
      this.setState("open", {});
      this.options.onOpen?.();
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") this.options.onMessage?.(event.data);
    });
    // "error" is always followed by "close", which is where the retry is scheduled.
    socket.addEventListener("close", (event) => {
      clearTimeout(this.stableTimer);
      if (this.socket === socket) this.socket = undefined;
      if (this.state === "closed") return;
      if (opened) this.scheduleRetry({ code: event.code });
      else this.failedAttempt({ code: event.code });
    });
  }

  /** An attempt that never opened: retried, unless no connection has opened yet and the budget is spent. */
  failedAttempt(detail) {
    if (!this.hasOpened) {
      this.failuresBeforeFirstOpen += 1;
      if (this.failuresBeforeFirstOpen >= this.maxAttemptsBeforeFirstOpen) return this.stop({ ...detail, gaveUp: true });
    }
    this.scheduleRetry(detail);
  }

  scheduleRetry(detail) {
    const delayMs = this.nextDelay();
    this.setState("reconnecting", { ...detail, delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delayMs);
  }

  stop(detail) {
    globalThis.removeEventListener?.("online", this.onOnline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
    this.socket = undefined;
    if (this.state !== "closed") this.setState("closed", detail);
  }

  /** Exponential backoff with "equal jitter": between half and all of min × 2^attempt, capped. */
  nextDelay() {
    const ceiling = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  setState(state, detail) {
    this.state = state;
    this.options.onState?.(state, detail);
  }
}
