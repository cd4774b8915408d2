/**
 * Lambda's poller for one SQS event source mapping: it receives batches from the queue (with the queue's
 * visibility timeout, as Lambda does) and invokes the function with an SQS event, then deletes what the
 * function processed:
 * - batches of up to `batch_size`, gathered for up to `maximum_batching_window_in_seconds` and within
 *   Lambda's 6 MB invocation payload;
 * - concurrency starts at 5 batches and grows by up to 300 a minute while messages wait, up to
 *   `scaling_config.maximum_concurrency` (or 1,000) (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html);
 * - a failed invocation (error, timeout, crash) deletes nothing: the whole batch reappears after the
 *   visibility timeout; with ReportBatchItemFailures, a response naming `batchItemFailures` deletes all but
 *   those, and a malformed one counts as a failure of the whole batch; without it the response is ignored
 *   (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 * Redrive to the dead-letter queue is the queue's own doing, on the receive after the last allowed one.
 */
import type { FunctionRunner } from "../../functions/function-runner";
import type { EventSourceMappingModel } from "../../terraform/stack-model-types";
import type { LocalQueue, ReceivedMessage } from "./queue";

export interface PollerOptions {
  readonly region: string;
  readonly runner: () => FunctionRunner;
  readonly log: (line: string) => void;
}

/** Lambda's limit on a synchronous invocation's payload, which the batch must fit in. */
const INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Room for each record's envelope (ids, receipt handle, attributes) beside body and message attributes. */
const RECORD_OVERHEAD_BYTES = 1024;
const INITIAL_CONCURRENCY = 5;
const SCALE_UP_PER_SECOND = 300 / 60;
const DEFAULT_MAXIMUM_CONCURRENCY = 1_000;
/** SQS returns at most 10 messages per ReceiveMessage. */
const RECEIVE_LIMIT = 10;
/** How long one wait for messages lasts before the loop looks again (Lambda long-polls for 20 s). */
const LONG_POLL_MS = 20_000;

export class EventSourceMappingPoller {
  private stopped = false;
  private readonly stopping = new AbortController();
  private active = 0;
  private slotFreed?: () => void;
  /** While messages are waiting and every slot is busy: since when, for the scale-up. */
  private backlogSince?: number;
  private loop?: Promise<void>;

  constructor(
    readonly mapping: EventSourceMappingModel,
    private readonly queue: LocalQueue,
    private readonly options: PollerOptions,
  ) {}

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => this.options.log(`sqs: poller of ${this.mapping.address} stopped: ${(error as Error).stack ?? String(error)}`));
  }

  /** Stops receiving. Batches under way end with their invocations, which the runner fails when it stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.slotFreed?.();
    await this.loop;
  }

  /** How many batches may be in flight now. */
  private concurrency(): number {
    const limit = this.mapping.maximumConcurrency ?? DEFAULT_MAXIMUM_CONCURRENCY;
    const scaled = this.backlogSince === undefined ? INITIAL_CONCURRENCY : INITIAL_CONCURRENCY + Math.floor(((Date.now() - this.backlogSince) / 1000) * SCALE_UP_PER_SECOND);
    return Math.min(limit, scaled);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.active >= this.concurrency()) {
        if (this.queue.counts().visible > 0) this.backlogSince ??= Date.now();
        // Look again when a batch ends, or in a second, when the scale-up may allow one more.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          this.slotFreed = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.slotFreed = undefined;
        continue;
      }
      const batch = await this.gather();
      if (batch.length === 0) continue;
      this.active += 1;
      void this.process(batch)
        .catch((error: unknown) => this.options.log(`sqs: ${this.mapping.address}: ${(error as Error).stack ?? String(error)}`))
        .finally(() => {
          this.active -= 1;
          this.slotFreed?.();
        });
    }
  }

  /**
   * One batch: what is visible now, or (with a batching window) what arrives until the batch is full, the
   * window has passed since its first message, or the payload limit is near. Waits for the first message.
   */
  private async gather(): Promise<ReceivedMessage[]> {
    const { batchSize, maximumBatchingWindowSeconds } = this.mapping;
    const visibilityTimeoutSeconds = this.queue.model.visibilityTimeoutSeconds;
    const batch: ReceivedMessage[] = [];
    let bytes = 0;
    let windowEnds: number | undefined;
    // Another receive only while a message of the queue's maximum size would still fit.
    const roomFor = this.queue.model.maximumMessageSizeBytes + RECORD_OVERHEAD_BYTES;
    while (!this.stopped) {
      const received = this.queue.receive({
        maxMessages: Math.min(RECEIVE_LIMIT, batchSize - batch.length),
        visibilityTimeoutSeconds,
        maxBytes: INVOCATION_PAYLOAD_BYTES - bytes - RECORD_OVERHEAD_BYTES * RECEIVE_LIMIT,
      });
      for (const r of received) bytes += r.message.bytes + RECORD_OVERHEAD_BYTES;
      batch.push(...received);
      if (batch.length >= batchSize || INVOCATION_PAYLOAD_BYTES - bytes < roomFor) return batch;
      if (batch.length > 0) {
        windowEnds ??= Date.now() + maximumBatchingWindowSeconds * 1000;
        if (Date.now() >= windowEnds) return batch;
        if (received.length > 0) continue;
        await this.queue.waitForMessages(windowEnds - Date.now(), this.stopping.signal);
      } else {
        // Nothing to do: the backlog, if any, is gone.
        this.backlogSince = undefined;
        await this.queue.waitForMessages(LONG_POLL_MS, this.stopping.signal);
      }
    }
    return batch;
  }

  private async process(batch: readonly ReceivedMessage[]): Promise<void> {
    const { mapping, queue } = this;
    const event = { Records: batch.map((r) => sqsRecord(r, queue.arn, this.options.region)) };
    const invocation = await this.options.runner().invoke(event);
    const ids = batch.map((r) => r.message.messageId);
    if (!invocation.ok) {
      this.options.log(`sqs: ${mapping.functionName} failed a batch of ${batch.length} from ${queue.name} (${invocation.errorType}: ${invocation.errorMessage}); it returns to the queue after the visibility timeout`);
      return;
    }
    let failed: ReadonlySet<string> = new Set();
    if (mapping.reportBatchItemFailures) {
      const reported = batchItemFailures(invocation.result, ids);
      if (typeof reported === "string") {
        this.options.log(`sqs: ${mapping.functionName} returned an invalid batch response (${reported}): the whole batch of ${batch.length} from ${queue.name} counts as failed`);
        return;
      }
      failed = reported;
    }
    for (const r of batch) if (!failed.has(r.message.messageId)) queue.delete(r.receiptHandle);
    const retried = failed.size ? `, ${failed.size} reported failed` : "";
    this.options.log(`sqs: ${mapping.functionName} processed a batch of ${batch.length} from ${queue.name} in ${invocation.durationMs}ms${retried}`);
  }
}

/**
 * The message ids a ReportBatchItemFailures response names, or why it counts as a complete failure: an
 * itemIdentifier that is empty, null, not a string, missing, or not a message of the batch, or a response
 * that is not an object. No response, or no (or an empty) list, is complete success.
 */
export function batchItemFailures(result: unknown, batchIds: readonly string[]): ReadonlySet<string> | string {
  if (result === null || result === undefined) return new Set();
  if (typeof result !== "object" || Array.isArray(result)) return `expected an object, got ${JSON.stringify(result)?.slice(0, 100)}`;
  const list = (result as Record<string, unknown>).batchItemFailures;
  if (list === null || list === undefined) return new Set();
  if (!Array.isArray(list)) return "batchItemFailures is not a list";
  const failed = new Set<string>();
  for (const item of list) {
    const id = item !== null && typeof item === "object" ? (item as Record<string, unknown>).itemIdentifier : undefined;
    if (typeof id !== "string" || id === "") return `itemIdentifier ${JSON.stringify(id)} is not a message id`;
    if (!batchIds.includes(id)) return `itemIdentifier ${id} is not a message of the batch`;
    failed.add(id);
  }
  return failed;
}

/** A record of Lambda's SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). */
export function sqsRecord(received: ReceivedMessage, queueArn: string, region: string) {
  const { message } = received;
  return {
    messageId: message.messageId,
    receiptHandle: received.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: message.senderId,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
      ...(message.traceHeader === undefined ? {} : { AWSTraceHeader: message.traceHeader }),
      ...(message.deadLetterQueueSourceArn === undefined ? {} : { DeadLetterQueueSourceArn: message.deadLetterQueueSourceArn }),
      ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.attributes).map(([name, value]) => [
        name,
        {
          ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
          ...(value.BinaryValue === undefined ? {} : { binaryValue: value.BinaryValue }),
          stringListValues: [],
          binaryListValues: [],
          dataType: value.DataType,
        },
      ]),
    ),
    md5OfBody: message.md5OfBody,
    ...(message.md5OfMessageAttributes ? { md5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}
