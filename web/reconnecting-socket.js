/**
 * A WebSocket that comes back after a drop: it reconnects with exponential backoff and jitter until
 * `close()` is called. API Gateway drops connections routinely (idle timeout, the 2-hour limit, deploys),
 * so a chat page must treat a close as temporary.
 *
 * States: "connecting" (first attempt), "open", "reconnecting" (waiting or retrying after a drop),
 * "closed" (after `close()`).
 */
export class ReconnectingSocket {
  /**
   * @param {string} url
   * @param {{
   *   onOpen?: () => void,
   *   onMessage?: (data: string) => void,
   *   onState?: (state: string, detail: { delayMs?: number, code?: number }) => void,
   *   minDelayMs?: number,
   *   maxDelayMs?: number,
   *   stableAfterMs?: number,
   * }} [options]
   */
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    this.minDelayMs = options.minDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 15_000;
    // Backoff only resets once a connection has stayed up this long, so a server that accepts and then
    // immediately closes is not hammered at the minimum delay.
    this.stableAfterMs = options.stableAfterMs ?? 3_000;
    this.state = "connecting";
    this.attempt = 0;
    /** @type {WebSocket | undefined} */
    this.socket = undefined;
    this.retryTimer = undefined;
    this.stableTimer = undefined;
    this.onOnline = () => this.retryNow();
  }

  start() {
    globalThis.addEventListener?.("online", this.onOnline);
    this.connect();
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
    this.setState("closed", {});
    globalThis.removeEventListener?.("online", this.onOnline);
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
    this.socket?.close(1000, "bye");
  }

  /** Skips the rest of the backoff wait, e.g. when the browser comes back online. */
  retryNow() {
    if (this.state !== "reconnecting" || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      // Only a malformed URL throws here; retrying cannot fix that.
      this.setState("closed", { error });
      return;
    }
    this.socket = socket;
    if (this.state === "reconnecting") this.setState("reconnecting", {});
    socket.addEventListener("open", () => {
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
      this.socket = undefined;
      if (this.state === "closed") return;
      const delayMs = this.nextDelay();
      this.setState("reconnecting", { delayMs, code: event.code });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.connect();
      }, delayMs);
    });
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
