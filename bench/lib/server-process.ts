import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";

/** What server-child.ts serves. */
export type ServerSpec =
  | {
      readonly kind: "runtime";
      readonly stackDir: string;
      readonly managementLatencyMs?: number;
      readonly managementFailureRate?: number;
    }
  | { readonly kind: "relay" };

export type ParentMessage = { readonly type: "rss" } | { readonly type: "stop" };
type ChildMessage =
  | { readonly type: "ready"; readonly wsUrl: string }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "rss"; readonly bytes: number };

const CHILD = join(__dirname, "server-child.ts");

/** A server (runtime or relay) running in a child process of its own. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly wsUrl: string,
  ) {}

  static start(spec: ServerSpec, timeoutMs = 60_000): Promise<ServerProcess> {
    const child = fork(CHILD, [JSON.stringify(spec)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the ${spec.kind} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the ${spec.kind} exited with code ${code} before it was ready`));
      });
      child.on("message", (message: ChildMessage) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          child.removeAllListeners("exit");
          resolve(new ServerProcess(child, message.wsUrl));
        } else if (message.type === "failed") {
          clearTimeout(timer);
          reject(new Error(`the ${spec.kind} failed to start: ${message.message}`));
        }
      });
    });
  }

  /** Resident set size of the server's process right now. */
  rss(): Promise<number> {
    return new Promise((resolve) => {
      const listener = (message: ChildMessage) => {
        if (message.type !== "rss") return;
        this.child.off("message", listener);
        resolve(message.bytes);
      };
      this.child.on("message", listener);
      this.child.send({ type: "rss" } satisfies ParentMessage);
    });
  }

  /** Asks the server to stop; kills its process if it has not exited within a few seconds. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      this.child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.send({ type: "stop" } satisfies ParentMessage);
    });
  }
}
