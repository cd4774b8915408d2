/** A `ws` client for tests: frames queue up until read, and the close code is one await away. */
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

type Waiter = { readonly wants: (frame: string) => boolean; readonly take: (frame: string) => void };

let requestCounter = 0;

export class TestClient {
  private readonly frames: string[] = [];
  private readonly waiting: Waiter[] = [];
  /** Resolves when the connection has closed. */
  readonly closed: Promise<Closed>;

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data, isBinary) => {
      const frame = isBinary ? `binary:${(data as Buffer).toString("base64")}` : data.toString();
      const waiter = this.waiting.find((w) => w.wants(frame));
      if (waiter) {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        waiter.take(frame);
      } else {
        this.frames.push(frame);
      }
    });
    this.closed = new Promise((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on("error", () => undefined);
  }

  /** Opens a connection; rejects with the HTTP status when the handshake is refused. */
  static connect(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, protocols, options);
      const client = new TestClient(socket);
      socket.once("open", () => resolve(client));
      socket.once("unexpected-response", (_request, response: IncomingMessage) => {
        reject(new HandshakeRefused(response.statusCode ?? 0));
        socket.terminate();
      });
      socket.once("error", reject);
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame received (text, or `binary:<base64>`). */
  next(timeoutMs = 5000): Promise<string> {
    return this.nextWhere(() => true, timeoutMs, "a frame");
  }

  /** The next frame, parsed as JSON. */
  async nextJson<T = any>(timeoutMs?: number): Promise<T> {
    return JSON.parse(await this.next(timeoutMs)) as T;
  }

  /** The next JSON frame of a type (frames of other types stay queued for later reads). */
  async nextOfType<T = any>(type: string, timeoutMs = 5000): Promise<T> {
    return JSON.parse(await this.nextWhere((frame) => parse(frame)?.type === type, timeoutMs, `a "${type}" frame`)) as T;
  }

  /**
   * Sends a frame and returns the reply to it, parsed. Replies are matched by requestId, never by order:
   * frames of one connection are independent invocations and come back in any order (and presence or
   * messages may arrive in between). A requestId the caller did not choose is left out of the result.
   */
  async request<T = any>(frame: unknown, timeoutMs = 15_000): Promise<T> {
    if (typeof frame !== "object" || frame === null) {
      this.send(frame);
      return this.nextJson<T>(timeoutMs);
    }
    const chosen = (frame as { requestId?: unknown }).requestId;
    const requestId = typeof chosen === "string" ? chosen : `test-${(requestCounter += 1)}`;
    this.send({ ...frame, requestId });
    const reply = JSON.parse(await this.nextWhere((f) => parse(f)?.requestId === requestId, timeoutMs, `the reply to ${requestId}`));
    if (typeof chosen !== "string") delete reply.requestId;
    return reply as T;
  }

  /**
   * Sends a frame and returns the next frame, parsed: for probe handlers and API Gateway's own answers
   * (Forbidden, Internal server error), which carry no requestId to match on.
   */
  async exchange<T = any>(frame: unknown, timeoutMs?: number): Promise<T> {
    this.send(frame);
    return this.nextJson<T>(timeoutMs);
  }

  /** Frames received and not read yet. */
  get unread(): readonly string[] {
    return this.frames;
  }

  async close(code = 1000, reason = ""): Promise<Closed> {
    this.socket.close(code, reason);
    return this.closed;
  }

  private nextWhere(wants: (frame: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const queued = this.frames.findIndex(wants);
    if (queued >= 0) return Promise.resolve(this.frames.splice(queued, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        wants,
        take: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      this.waiting.push(waiter);
    });
  }
}

function parse(frame: string): any {
  try {
    return JSON.parse(frame);
  } catch {
    return undefined;
  }
}

export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
  }
}

/** Polls until `condition` holds (or throws when it does not within the timeout). */
export async function waitFor<T>(condition: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Collects a runtime's log lines, for assertions. */
export class LogCollector {
  readonly lines: string[] = [];
  readonly log = (line: string): void => {
    this.lines.push(line);
    if (process.env.LOCAL_RUNTIME_LOGS === "1") console.log(line);
  };

  matching(pattern: RegExp): string[] {
    return this.lines.filter((line) => pattern.test(line));
  }

  /** Waits for a line matching `pattern` and returns it. */
  waitFor(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    return waitFor(() => this.lines.find((line) => pattern.test(line)), timeoutMs, `a log line matching ${pattern}`);
  }
}
