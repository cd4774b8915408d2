import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";
import type { BarePathTransport } from "./bare-path";
import type { Probes } from "./runtime-probes";

/** What server-child.ts serves. */
export type ServerSpec =
  | {
      readonly kind: "runtime";
      readonly stackDir: string;
      readonly managementLatencyMs?: number;
      readonly managementFailureRate?: number;
      /** API Gateway's account throttle on @connections. @default the region's quota */
      readonly accountThrottle?: { readonly ratePerSecond: number; readonly burst: number };
      /** Regular expressions (sources) of runtime log lines to count; `counts()` answers how many matched. */
      readonly countLines?: readonly string[];
      /** Count function CPU and DynamoDB calls (runtime-probes.ts); `probes()` reads them. @default false */
      readonly probes?: boolean;
    }
  | { readonly kind: "relay" }
  /** The runtime's threads and calls without its AWS emulation (bare-path.ts). @default transport "http" */
  | { readonly kind: "bare-path"; readonly transport?: BarePathTransport };

export type ParentMessage = { readonly type: "rss" } | { readonly type: "cpu" } | { readonly type: "counts" } | { readonly type: "probes" } | { readonly type: "stop" };

/** Where a runtime's AWS endpoints are, for a figure that calls them itself (SQS queue depths). */
export interface RuntimeEndpoints {
  readonly region: string;
  readonly sqsEndpoint: string;
  readonly adminCredentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  readonly queues: ReadonlyArray<{ readonly name: string; readonly url: string }>;
}

/** CPU time the server process has used so far, in ms: all its threads, and its main thread when known (Linux). */
export interface CpuTime {
  readonly processMs: number;
  readonly mainThreadMs?: number;
}

type ChildMessage =
  | { readonly type: "ready"; readonly wsUrl: string; readonly endpoints?: RuntimeEndpoints }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "rss"; readonly bytes: number }
  | { readonly type: "counts"; readonly counts: readonly number[] }
  | { readonly type: "probes"; readonly probes: Probes }
  | ({ readonly type: "cpu" } & CpuTime);

const CHILD = join(__dirname, "server-child.ts");

/** A server (runtime, bare path or relay) running in a child process of its own. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly wsUrl: string,
    /** A runtime's AWS endpoints and admin credentials; undefined for the relay. */
    readonly endpoints?: RuntimeEndpoints,
  ) {}

  static start(spec: ServerSpec, timeoutMs = 60_000): Promise<ServerProcess> {
    // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server (each of its threads) there, for `npx speedscope`/DevTools.
    const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    const child = fork(CHILD, [JSON.stringify(spec)], { execArgv: ["--import", "tsx", ...profile], stdio: ["ignore", "inherit", "inherit", "ipc"] });
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
          resolve(new ServerProcess(child, message.wsUrl, message.endpoints));
        } else if (message.type === "failed") {
          clearTimeout(timer);
          reject(new Error(`the ${spec.kind} failed to start: ${message.message}`));
        }
      });
    });
  }

  /** Resident set size of the server's process right now. */
  async rss(): Promise<number> {
    return (await this.ask("rss")).bytes;
  }

  /** CPU time the server has used so far. */
  async cpu(): Promise<CpuTime> {
    const { processMs, mainThreadMs } = await this.ask("cpu");
    return { processMs, ...(mainThreadMs === undefined ? {} : { mainThreadMs }) };
  }

  /** How many runtime log lines matched each of the spec's `countLines`, so far. */
  async counts(): Promise<readonly number[]> {
    return (await this.ask("counts")).counts;
  }

  /** Function CPU and DynamoDB calls so far, for a runtime started with `probes`. */
  async probes(): Promise<Probes> {
    return (await this.ask("probes")).probes;
  }

  private ask<T extends "rss" | "cpu" | "counts" | "probes">(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve) => {
      const listener = (message: ChildMessage) => {
        if (message.type !== type) return;
        this.child.off("message", listener);
        resolve(message as Extract<ChildMessage, { type: T }>);
      };
      this.child.on("message", listener);
      this.child.send({ type } satisfies ParentMessage);
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
