/**
 * Runs one function of the stack the way Lambda does, in a worker thread per execution environment:
 * its own process.env (exactly its synthesized environment plus what Lambda sets), its own credentials,
 * the bundle that deploys, and its timeout.
 *
 * As on Lambda, an invocation goes to an idle environment, or a new one (a cold start) when all are busy;
 * but a laptop cannot start a thread per concurrent invocation, so a function has at most `maxEnvironments`,
 * beyond which the least busy environment runs several invocations at once (a handler mostly waits on
 * DynamoDB or @connections, served by the runtime's main thread, so they overlap well; each keeps its own
 * request id in async context). An environment runs at most `invocationsPerEnvironment` at once; further
 * invocations wait for a free slot. A timeout counts from when the invocation starts in its environment,
 * as Lambda's counts from when its handler starts: a burst (200 clients connecting at once, say) waits its
 * turn instead of timing out because it shares one thread, which AWS, with an environment each, would not
 * do; the gateway starts its integration timeout then too (`started`). An environment whose
 * invocation timed out is retired, as Lambda discards a timed-out one: new invocations get another, and the
 * retired one is terminated once its other invocations have finished or timed out themselves.
 */
import { randomUUID } from "node:crypto";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";
import type { FunctionModel } from "../terraform/stack-model-types";
import { isEmfLine, renderFunctionLine } from "./function-output";

/** Told what functions print and how their invocations end (local/observability turns both into metrics). */
export interface FunctionObserver {
  line(functionName: string, line: string): void;
  invocation(functionName: string, invocation: Invocation): void;
}

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

export interface FunctionEnvironmentOptions {
  readonly region: string;
  readonly credentials: Credentials;
  /** Local DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB). */
  readonly dynamodbEndpoint: string;
  /** Local @connections endpoint including the stage (AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI). */
  readonly managementApiEndpoint: string;
  /** Local SQS endpoint (AWS_ENDPOINT_URL_SQS); the stack's queue URLs point there too. */
  readonly sqsEndpoint: string;
  /** Where the bundle finds packages it left external, as Lambda's runtime provides the AWS SDK. */
  readonly nodePath: string;
}

/**
 * The whole environment of the function: its synthesized variables, then what Lambda sets (Lambda refuses
 * to deploy a function that sets these reserved names itself, so they can only come from here).
 */
export function lambdaEnvironment(fn: FunctionModel, options: FunctionEnvironmentOptions): Record<string, string> {
  return {
    ...fn.environment,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(),
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    ...(fn.logging.format === "JSON" ? { AWS_LAMBDA_LOG_FORMAT: "JSON", AWS_LAMBDA_LOG_LEVEL: fn.logging.applicationLogLevel ?? "INFO" } : {}),
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    LAMBDA_TASK_ROOT: fn.bundleDir,
    _HANDLER: fn.handler,
    TZ: ":UTC",
    LANG: "en_US.UTF-8",
    NODE_PATH: options.nodePath,
    AWS_ACCESS_KEY_ID: options.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: options.credentials.secretAccessKey,
    AWS_SESSION_TOKEN: options.credentials.sessionToken,
    AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint,
    AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: options.managementApiEndpoint,
    AWS_ENDPOINT_URL_SQS: options.sqsEndpoint,
  };
}

function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, "/");
  return `${day}/[$LATEST]${randomUUID().replace(/-/g, "")}`;
}

export type Invocation =
  | {
      readonly ok: true;
      readonly requestId: string;
      readonly durationMs: number;
      /** The handler's result as Lambda returns it: parsed from its JSON. */
      readonly result: unknown;
    }
  | {
      readonly ok: false;
      readonly requestId: string;
      readonly durationMs: number;
      /** e.g. "Error", "Runtime.ImportModuleError", "Sandbox.Timedout", "TooManyRequestsException". */
      readonly errorType: string;
      readonly errorMessage: string;
      readonly timedOut: boolean;
      /** Refused at the function's reserved concurrency without running: Lambda counts it in Throttles, not Invocations. */
      readonly throttled?: true;
    };

/** An invocation waiting for an environment. */
interface Queued {
  readonly requestId: string;
  readonly event: unknown;
  readonly queuedAt: number;
  readonly started?: () => void;
  readonly settle: (invocation: Invocation) => void;
}

/** An invocation running in an environment. */
interface Running {
  readonly requestId: string;
  readonly startedAt: number;
  /** Unset while the environment's init phase runs: Lambda's timeout counts from the handler's start. */
  readonly timer?: NodeJS.Timeout;
  readonly settle: (invocation: Invocation) => void;
}

/** One execution environment: a worker thread and the invocations it is running. */
interface Sandbox {
  readonly worker: Worker;
  readonly running: Map<number, Running>;
  retired: boolean;
  terminating: boolean;
  /** The worker has loaded the function's module (or failed to): its init phase is over. */
  initialized: boolean;
  /** Invocations given to the environment during its init phase, started when it ends. */
  readonly awaitingInit: Array<() => void>;
}

const WORKER_FILE = join(__dirname, "function-worker.js");

/**
 * The machine's cores less one for the runtime's own thread (gateway, IAM, DynamoDB), at least 1: on 2 cores
 * a second environment of a busy function only adds per-invocation overhead (about a quarter more CPU per
 * message in the capacity benchmark). At most 4, whatever the machine reports: in a container Node may see
 * the host's cores rather than the container's share, and a burst must not cold-start dozens of threads.
 */
export function defaultEnvironments(cores = availableParallelism()): number {
  return Math.min(4, Math.max(1, cores - 1));
}

/**
 * Invocations one environment runs at once. Enough that a busy function's invocations batch their waits on
 * the main thread (the capacity benchmark keeps 100 in flight; 32 a thread carries as many messages a
 * second as unbounded), few enough that each one's share of the thread keeps it far inside its timeout.
 */
export const DEFAULT_INVOCATIONS_PER_ENVIRONMENT = 32;

export interface RunnerOptions {
  /** Told of every invocation's outcome and every line the function prints (local/observability). */
  readonly observer?: FunctionObserver;
  /** Execution environments a function may have at once. @default defaultEnvironments() */
  readonly maxEnvironments?: number;
  /** Invocations an environment runs at once; more wait for a free slot. @default DEFAULT_INVOCATIONS_PER_ENVIRONMENT */
  readonly invocationsPerEnvironment?: number;
  /** Log the EMF documents the function prints, not only hand them to the observer. @default true */
  readonly logMetricLines?: boolean;
}

export class FunctionRunner {
  private readonly sandboxes = new Set<Sandbox>();
  private readonly queue: Queued[] = [];
  private nextId = 1;
  private stopped = false;
  private readonly maxEnvironments: number;
  private readonly invocationsPerEnvironment: number;

  private readonly observer?: FunctionObserver;
  private readonly logMetricLines: boolean;

  constructor(
    readonly fn: FunctionModel,
    private readonly environment: Readonly<Record<string, string>>,
    private readonly log: (line: string) => void,
    options: RunnerOptions = {},
  ) {
    this.maxEnvironments = Math.max(1, Math.floor(options.maxEnvironments ?? defaultEnvironments()));
    this.invocationsPerEnvironment = Math.max(1, Math.floor(options.invocationsPerEnvironment ?? DEFAULT_INVOCATIONS_PER_ENVIRONMENT));
    this.observer = options.observer;
    this.logMetricLines = options.logMetricLines ?? true;
  }

  /**
   * Invokes the handler; never rejects: every way an invocation can end is an Invocation. `started` is
   * called when it leaves the queue for an environment: where an environment of its own would have started it.
   */
  invoke(event: unknown, started?: () => void): Promise<Invocation> {
    const invocation = this.run(event, started);
    const observer = this.observer;
    if (!observer) return invocation;
    return invocation.then((outcome) => {
      observer.invocation(this.fn.name, outcome);
      return outcome;
    });
  }

  /** Invocations waiting for a slot, running, and the environments running them. */
  get load(): { readonly queued: number; readonly running: number; readonly environments: number } {
    let running = 0;
    let environments = 0;
    for (const sandbox of this.sandboxes) {
      if (sandbox.retired) continue;
      environments += 1;
      running += sandbox.running.size;
    }
    return { queued: this.queue.length, running, environments };
  }

  private run(event: unknown, started?: () => void): Promise<Invocation> {
    const requestId = randomUUID();
    const queuedAt = Date.now();
    if (this.stopped) {
      return Promise.resolve(failure(requestId, queuedAt, "Runtime.Stopped", "the local runtime is shutting down", false));
    }
    // Lambda refuses an invocation beyond the function's reserved concurrency at once (429). Waiting ones
    // count: Lambda would have started each in an environment of its own.
    const reserved = this.fn.reservedConcurrency;
    if (reserved !== undefined && this.inFlight() >= reserved) {
      return Promise.resolve({ ...failure(requestId, queuedAt, "TooManyRequestsException", "Rate Exceeded.", false), throttled: true });
    }
    return new Promise<Invocation>((settle) => {
      this.queue.push({ requestId, event, queuedAt, started, settle });
      this.dispatch();
    });
  }

  private inFlight(): number {
    let running = 0;
    for (const sandbox of this.sandboxes) running += sandbox.running.size;
    return this.queue.length + running;
  }

  /** Terminates every environment; invocations running or waiting end as failures. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const queued of this.queue.splice(0)) queued.settle(failure(queued.requestId, queued.queuedAt, "Runtime.Stopped", "the local runtime stopped", false));
    await Promise.all([...this.sandboxes].map((sandbox) => this.terminate(sandbox, "Runtime.Stopped", "the local runtime stopped")));
  }

  /** Starts waiting invocations while an environment has a free slot or another may be started. */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.stopped) {
      const sandbox = this.environmentFor();
      if (!sandbox) return;
      this.start(sandbox, this.queue.shift()!);
    }
  }

  /** An idle environment, else a new one while under the cap, else the least busy one with a free slot. */
  private environmentFor(): Sandbox | undefined {
    let leastBusy: Sandbox | undefined;
    let usable = 0;
    for (const sandbox of this.sandboxes) {
      if (sandbox.retired) continue;
      if (sandbox.running.size === 0) return sandbox;
      usable += 1;
      if (!leastBusy || sandbox.running.size < leastBusy.running.size) leastBusy = sandbox;
    }
    if (usable < this.maxEnvironments) return this.spawn();
    return leastBusy && leastBusy.running.size < this.invocationsPerEnvironment ? leastBusy : undefined;
  }

  private start(sandbox: Sandbox, queued: Queued): void {
    const id = this.nextId++;
    // The slot is taken now; the function's timeout starts with the handler, after the init phase, as on
    // Lambda, where init has a limit of its own. API Gateway's integration timeout starts now either way.
    sandbox.running.set(id, { requestId: queued.requestId, startedAt: Date.now(), settle: queued.settle });
    queued.started?.();
    const begin = () => this.begin(sandbox, id, queued);
    if (sandbox.initialized) begin();
    else sandbox.awaitingInit.push(begin);
  }

  private begin(sandbox: Sandbox, id: number, queued: Queued): void {
    // Settled meanwhile (the environment crashed or was stopped during init).
    if (!sandbox.running.has(id)) return;
    const startedAt = Date.now();
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    const timer = setTimeout(() => this.timedOut(sandbox, id), timeoutMs);
    sandbox.running.set(id, { requestId: queued.requestId, startedAt, timer, settle: queued.settle });
    sandbox.worker.postMessage({
      type: "invoke",
      id,
      event: queued.event,
      context: {
        awsRequestId: queued.requestId,
        functionName: this.fn.name,
        functionVersion: "$LATEST",
        memoryLimitInMB: String(this.fn.memoryMb),
        logGroupName: this.fn.logGroupName,
        logStreamName: this.environment.AWS_LAMBDA_LOG_STREAM_NAME,
        invokedFunctionArn: this.fn.arn,
        deadline: startedAt + timeoutMs,
      },
    });
  }

  private spawn(): Sandbox {
    const worker = new Worker(WORKER_FILE, {
      env: { ...this.environment },
      workerData: { moduleFile: this.fn.moduleFile, exportName: this.fn.exportName, handlerName: this.fn.handler },
      // Lambda's memory setting bounds the whole environment; the heap is the part a worker can bound.
      resourceLimits: { maxOldGenerationSizeMb: this.fn.memoryMb },
      stdout: true,
      stderr: true,
    });
    const sandbox: Sandbox = { worker, running: new Map(), retired: false, terminating: false, initialized: false, awaitingInit: [] };
    this.sandboxes.add(sandbox);
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        this.observer?.line(this.fn.name, line);
        if (this.logMetricLines || !isEmfLine(line)) this.log(renderFunctionLine(this.fn.name, line));
      });
    }
    worker.on("message", (message: WorkerMessage) => this.onMessage(sandbox, message));
    worker.on("error", (error) => {
      // An uncaught exception or unhandled rejection ends the environment, and every invocation in it.
      this.log(`[${this.fn.name}] execution environment crashed: ${error.stack ?? String(error)}`);
      void this.terminate(sandbox, "Runtime.ExitError", `${error.name}: ${error.message}`);
    });
    worker.on("exit", (code) => {
      this.sandboxes.delete(sandbox);
      for (const [id] of sandbox.running) this.settle(sandbox, id, (r) => failure(r.requestId, r.startedAt, "Runtime.ExitError", `execution environment exited with code ${code}`, false));
      this.dispatch();
    });
    return sandbox;
  }

  private onMessage(sandbox: Sandbox, message: WorkerMessage): void {
    if (message.type === "initialized") {
      sandbox.initialized = true;
      for (const begin of sandbox.awaitingInit.splice(0)) begin();
    } else if (message.type === "result") {
      this.settle(sandbox, message.id, (r) => ({ ok: true, requestId: r.requestId, durationMs: Date.now() - r.startedAt, result: JSON.parse(message.payload) }));
    } else if (message.type === "error") {
      const { errorType, errorMessage } = message.error;
      if (errorType.startsWith("Runtime.")) this.log(`[${this.fn.name}] ${errorType}: ${errorMessage}`);
      this.settle(sandbox, message.id, (r) => failure(r.requestId, r.startedAt, errorType, errorMessage, false));
      // Lambda retries the init phase in a fresh environment after a failed one.
      if (errorType === "Runtime.ImportModuleError" || errorType === "Runtime.HandlerNotFound") this.retire(sandbox);
    }
  }

  private timedOut(sandbox: Sandbox, id: number): void {
    const seconds = this.fn.timeoutSeconds.toFixed(2);
    this.settle(sandbox, id, (r) => {
      this.log(`[${this.fn.name}] ${r.requestId} Task timed out after ${seconds} seconds`);
      return failure(r.requestId, r.startedAt, "Sandbox.Timedout", `Task timed out after ${seconds} seconds`, true);
    });
    this.retire(sandbox);
  }

  /** Ends one invocation, and frees its slot for a waiting one; a result after the timeout is dropped, as Lambda drops it. */
  private settle(sandbox: Sandbox, id: number, outcome: (running: Running) => Invocation): void {
    const running = sandbox.running.get(id);
    if (!running) return;
    sandbox.running.delete(id);
    clearTimeout(running.timer);
    running.settle(outcome(running));
    if (sandbox.retired && !sandbox.terminating && sandbox.running.size === 0) void this.terminate(sandbox, "Runtime.ExitError", "retired");
    this.dispatch();
  }

  /** No new invocations go to this environment; it ends when its last invocation does. */
  private retire(sandbox: Sandbox): void {
    sandbox.retired = true;
    if (sandbox.running.size === 0) void this.terminate(sandbox, "Runtime.ExitError", "retired");
    this.dispatch();
  }

  private async terminate(sandbox: Sandbox, errorType: string, errorMessage: string): Promise<void> {
    if (sandbox.terminating) return;
    sandbox.terminating = true;
    sandbox.retired = true;
    for (const [id] of sandbox.running) this.settle(sandbox, id, (r) => failure(r.requestId, r.startedAt, errorType, errorMessage, false));
    this.sandboxes.delete(sandbox);
    await sandbox.worker.terminate();
  }
}

type WorkerMessage =
  | { readonly type: "initialized" }
  | { readonly type: "result"; readonly id: number; readonly payload: string }
  | { readonly type: "error"; readonly id: number; readonly error: { readonly errorType: string; readonly errorMessage: string } };

function failure(requestId: string, startedAt: number, errorType: string, errorMessage: string, timedOut: boolean): Invocation {
  return { ok: false, requestId, durationMs: Date.now() - startedAt, errorType, errorMessage, timedOut };
}
