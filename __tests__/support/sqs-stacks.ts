/**
 * The chat stack plus fan-out queues built by the real FanOutQueue construct, for the local runtime's SQS
 * tests: each queue has its own probe consumer (sqs-probe-consumer.ts) logging to its own file, with settings
 * small enough that retries and redrives happen in seconds, and an `enqueue` route whose function sends to
 * the `retries` queue with its own grant.
 */
import { App } from "cdktf";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BundledFunction } from "../../constructs/bundled-function";
import { ChatStack } from "../../constructs/chat-stack";
import { readConfig } from "../../constructs/config";
import { FanOutQueue, type FanOutQueueProps } from "../../constructs/fan-out-queue";
import type { Workspace } from "./local-stacks";

/** The probe queues: settings per behaviour under test. */
export const PROBE_QUEUES = {
  /** Batches of 3, at most 2 at once. */
  batches: { consumerTimeout: 5, props: { batchSize: 3, maximumConcurrency: 2, visibilityTimeoutSeconds: 30 } },
  /** Retried after 2 s, dead-lettered after 2 receives. */
  retries: { consumerTimeout: 1, props: { batchSize: 10, maximumConcurrency: 2, visibilityTimeoutSeconds: 2, maxReceiveCount: 2 } },
  /** One message per batch, for a consumer that outlives its 1 s timeout. */
  timeouts: { consumerTimeout: 1, props: { batchSize: 1, maximumConcurrency: 2, visibilityTimeoutSeconds: 2, maxReceiveCount: 2 } },
} satisfies Record<string, { consumerTimeout: number; props: Partial<FanOutQueueProps> }>;

export type ProbeQueue = keyof typeof PROBE_QUEUES;

export interface QueueWorkspace extends Workspace {
  /** The probe log of each queue's consumer. */
  readonly probeLog: (queue: ProbeQueue) => string;
}

export const queueName = (queue: ProbeQueue) => `chat-${queue}`;
export const consumerName = (queue: ProbeQueue) => `chat-${queue}-consumer`;
export const PRODUCER_NAME = "chat-enqueue";

/** Synthesizes the stack into a fresh temp folder. */
export function synthesizeQueueWorkspace(prefix: string): QueueWorkspace {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const probeLog = (queue: ProbeQueue) => join(dir, `${queue}-consumer.jsonl`);
  const app = new App({ outdir: join(dir, "cdktf.out") });
  const config = readConfig({ CHAT_AUTH: "none" });
  const stack = new ChatStack(app, config);
  const queues = Object.fromEntries(
    (Object.keys(PROBE_QUEUES) as ProbeQueue[]).map((queue) => {
      const { consumerTimeout, props } = PROBE_QUEUES[queue];
      const consumer = new BundledFunction(stack, `${queue}-consumer`, {
        functionName: consumerName(queue),
        region: config.region,
        entry: join(__dirname, "sqs-probe-consumer.ts"),
        timeout: consumerTimeout,
        environment: { PROBE_LOG: probeLog(queue) },
        statements: [],
      });
      return [queue, new FanOutQueue(stack, `${queue}-queue`, { consumer, queueName: queueName(queue), ...props })];
    }),
  ) as Record<ProbeQueue, FanOutQueue>;
  const producer = new BundledFunction(stack, "enqueue", {
    functionName: PRODUCER_NAME,
    region: config.region,
    entry: join(__dirname, "sqs-probe-producer.ts"),
    environment: { QUEUE_URL: queues.retries.queue.url },
    statements: queues.retries.producerStatements(),
  });
  stack.chat.api.addRoute({ routeKey: "enqueue", handler: producer.function, replies: true, timeoutSeconds: 10 });
  app.synth();
  return { dir, stackDir: join(dir, "cdktf.out", "stacks", stack.node.id), probeLog, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
