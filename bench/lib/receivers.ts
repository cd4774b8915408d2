import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";

/** What receivers-child.ts opens. */
export interface ReceiversSpec {
  readonly url: string;
  readonly count: number;
  /** The loopback address the connections come from: each address has its own ~28,000 ephemeral ports. */
  readonly localAddress?: string;
  /** Handshakes under way at once. */
  readonly parallel: number;
}

export type ReceiversCommand =
  | { readonly type: "open" }
  | { readonly type: "progress"; readonly message: string }
  | { readonly type: "result"; readonly message: string }
  | { readonly type: "rss" }
  | { readonly type: "close" };

export type ReceiversReply =
  | { readonly type: "ready" }
  | { readonly type: "opened"; readonly ms: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "progress"; readonly reached: number; readonly duplicates: number; readonly lastAt: number }
  | {
      readonly type: "result";
      readonly reached: number;
      readonly duplicates: number;
      readonly ids: readonly string[];
      readonly times: readonly number[];
      readonly otherFrames: number;
    }
  | { readonly type: "rss"; readonly bytes: number };

/** How one broadcast reached the receivers, counted where it arrived. */
export interface Reception {
  /** Connections that got the message at least once. */
  readonly reached: number;
  /** Frames with a message id the connection had already received. */
  readonly duplicates: number;
  /** The message ids the broadcast arrived with (one, when it is one message). */
  readonly ids: readonly string[];
  /** When each reached connection first got it, epoch ms. */
  readonly times: readonly number[];
}

const CHILD = join(__dirname, "receivers-child.ts");

/**
 * Recipients in child processes of their own, split evenly, each process connecting from its own loopback
 * address (127.0.0.2, 127.0.0.3, ...). Frames are counted where they arrive, by message text and id.
 */
export class Receivers {
  private constructor(
    private readonly children: readonly ChildProcess[],
    readonly count: number,
  ) {}

  /** Starts the processes and opens every connection; resolves with how long opening took. */
  static async open(url: string, count: number, options: { readonly processes: number; readonly parallel?: number }): Promise<{ receivers: Receivers; openMs: number }> {
    const sizes = Array.from({ length: options.processes }, (_, i) => Math.floor(count / options.processes) + (i < count % options.processes ? 1 : 0));
    const children = sizes.map((size, i) => {
      const spec: ReceiversSpec = { url, count: size, localAddress: `127.0.0.${i + 2}`, parallel: options.parallel ?? 64 };
      return fork(CHILD, [JSON.stringify(spec)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    });
    const receivers = new Receivers(children, count);
    try {
      // Started first (tsx compiles the child), so the time below is the connections' alone.
      await Promise.all(children.map((child) => receivers.ask(child, { type: "rss" }, "rss")));
      const started = performance.now();
      await Promise.all(children.map((child) => receivers.ask(child, { type: "open" }, "opened")));
      return { receivers, openMs: performance.now() - started };
    } catch (error) {
      receivers.close();
      throw error;
    }
  }

  /** How many have the broadcast with this text so far, and when the latest got it. */
  async progress(message: string): Promise<{ reached: number; duplicates: number; lastAt: number }> {
    const replies = await Promise.all(this.children.map((child) => this.ask(child, { type: "progress", message }, "progress")));
    return {
      reached: replies.reduce((sum, r) => sum + r.reached, 0),
      duplicates: replies.reduce((sum, r) => sum + r.duplicates, 0),
      lastAt: Math.max(0, ...replies.map((r) => r.lastAt)),
    };
  }

  async reception(message: string): Promise<Reception> {
    const replies = await Promise.all(this.children.map((child) => this.ask(child, { type: "result", message }, "result")));
    return {
      reached: replies.reduce((sum, r) => sum + r.reached, 0),
      duplicates: replies.reduce((sum, r) => sum + r.duplicates, 0),
      ids: [...new Set(replies.flatMap((r) => r.ids))],
      times: replies.flatMap((r) => r.times),
    };
  }

  /** Resident set size of all the receiver processes together. */
  async rss(): Promise<number> {
    const replies = await Promise.all(this.children.map((child) => this.ask(child, { type: "rss" }, "rss")));
    return replies.reduce((sum, r) => sum + r.bytes, 0);
  }

  close(): void {
    for (const child of this.children) {
      if (child.connected) child.send({ type: "close" } satisfies ReceiversCommand);
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    }
  }

  private ask<T extends ReceiversReply["type"]>(child: ChildProcess, command: ReceiversCommand, answer: T): Promise<Extract<ReceiversReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a receivers process exited with code ${code}`));
      const listener = (message: ReceiversReply) => {
        if (message.type === "failed") {
          cleanup();
          reject(new Error(message.message));
        } else if (message.type === answer) {
          cleanup();
          resolve(message as Extract<ReceiversReply, { type: T }>);
        }
      };
      const cleanup = () => {
        child.off("message", listener);
        child.off("exit", onExit);
      };
      child.on("message", listener);
      child.once("exit", onExit);
      child.send(command);
    });
  }
}
