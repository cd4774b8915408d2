/**
 * One standard SQS queue, in memory: messages are visible, in flight (received, invisible until their
 * visibility timeout passes or they are deleted) or delayed; each receive makes a new receipt handle, and only
 * the latest one deletes; a message received `maxReceiveCount` times and still not deleted moves to the
 * dead-letter queue when it would be received again, with its id, body, attributes and receive count intact
 * (ApproximateReceiveCount counts "across all queues"). Messages expire after the retention period, counted
 * from the original enqueue, and long polls wait for the next message to become visible.
 *
 * It keeps messages in send order and scans them, which is plenty for the thousands of messages a fan-out
 * holds at once; it is not a model of SQS's distributed, best-effort ordering.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { QueueModel } from "../../terraform/stack-model-types";
import { errors } from "./errors";
import { md5Hex, md5OfMessageAttributes, type MessageAttributes, type MessageInput } from "./messages";

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly attributes: MessageAttributes;
  readonly md5OfMessageAttributes?: string;
  /** Body and attributes, for size limits. */
  readonly bytes: number;
  readonly senderId: string;
  readonly sentTimestamp: number;
  /** When it came into this queue: sent, or moved here as a dead letter (the DLQ's age metric counts from then). */
  readonly arrivedAt: number;
  readonly traceHeader?: string;
  readonly groupId?: string;
  /** Set on a message SQS moved here from its source queue. */
  readonly deadLetterQueueSourceArn?: string;
  receiveCount: number;
  firstReceiveTimestamp?: number;
  /** Epoch ms from which it can be received. */
  visibleAt: number;
  /** The latest receipt handle: only it deletes or changes visibility. */
  receiptHandle?: string;
}

/** A message as one receive returned it: the handle is this receive's. */
export interface ReceivedMessage {
  readonly message: StoredMessage;
  readonly receiptHandle: string;
}

export interface ReceiveOptions {
  readonly maxMessages: number;
  readonly visibilityTimeoutSeconds: number;
  /** Stop before a message would take the received bytes past this (the first message always fits). */
  readonly maxBytes?: number;
}

export type DeleteResult = "deleted" | "stale-handle" | "gone";

export class LocalQueue {
  private readonly messages = new Map<string, StoredMessage>();
  private readonly waiters = new Set<() => void>();
  private wakeTimer?: NodeJS.Timeout;
  private wakeAt = Infinity;
  private lastPurgeAt = -Infinity;
  /** Set once the stack's queues are all built. */
  deadLetterQueue?: LocalQueue;
  readonly createdAt = Date.now();

  constructor(
    readonly model: QueueModel,
    private readonly log: (line: string) => void,
  ) {}

  get name(): string {
    return this.model.name;
  }

  get arn(): string {
    return this.model.arn;
  }

  send(input: MessageInput & { readonly bytes: number }, senderId: string, delaySeconds = this.model.delaySeconds): StoredMessage {
    const now = Date.now();
    const message: StoredMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5Hex(input.body),
      attributes: input.attributes,
      ...(Object.keys(input.attributes).length > 0 ? { md5OfMessageAttributes: md5OfMessageAttributes(input.attributes) } : {}),
      bytes: input.bytes,
      senderId,
      sentTimestamp: now,
      arrivedAt: now,
      ...(input.traceHeader === undefined ? {} : { traceHeader: input.traceHeader }),
      ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
      receiveCount: 0,
      visibleAt: now + delaySeconds * 1000,
    };
    this.messages.set(message.messageId, message);
    this.changed();
    return message;
  }

  /** Takes a message that failed `maxReceiveCount` receives in its source queue. */
  private acceptDeadLetter(message: StoredMessage, source: LocalQueue): void {
    const now = Date.now();
    const moved: StoredMessage = { ...message, deadLetterQueueSourceArn: source.arn, visibleAt: now, arrivedAt: now };
    delete (moved as { receiptHandle?: string }).receiptHandle;
    this.messages.set(moved.messageId, moved);
    this.changed();
  }

  /** Up to `maxMessages` visible messages, now in flight for the visibility timeout. */
  receive(options: ReceiveOptions): ReceivedMessage[] {
    const now = Date.now();
    const received: ReceivedMessage[] = [];
    let bytes = 0;
    for (const message of this.messages.values()) {
      if (received.length >= options.maxMessages) break;
      if (this.expired(message, now) || message.visibleAt > now) continue;
      const redrive = this.model.redrivePolicy;
      if (redrive && this.deadLetterQueue && message.receiveCount >= redrive.maxReceiveCount) {
        this.messages.delete(message.messageId);
        this.deadLetterQueue.acceptDeadLetter(message, this);
        this.log(`sqs: message ${message.messageId} moved from ${this.name} to ${this.deadLetterQueue.name} after ${message.receiveCount} receives`);
        continue;
      }
      if (options.maxBytes !== undefined && received.length > 0 && bytes + message.bytes > options.maxBytes) break;
      bytes += message.bytes;
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + options.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = receiptHandle(this.name, message.messageId);
      received.push({ message, receiptHandle: message.receiptHandle });
    }
    if (received.length > 0) this.scheduleWake();
    return received;
  }

  /**
   * Deletes with a receipt handle: only the latest handle of a message deletes it; an older one succeeds
   * without deleting, as on SQS, and so does the handle of a message that is gone.
   */
  delete(handle: string): DeleteResult {
    const message = this.messageOf(handle);
    if (!message) return "gone";
    if (message.receiptHandle !== handle) return "stale-handle";
    this.messages.delete(message.messageId);
    return "deleted";
  }

  /** Sets a message's remaining visibility timeout: 0 makes it visible at once. */
  changeVisibility(handle: string, visibilityTimeoutSeconds: number): void {
    const message = this.messageOf(handle);
    const now = Date.now();
    if (!message || message.receiptHandle !== handle || message.visibleAt <= now) {
      throw errors.messageNotInflight("The message referred to isn't in flight.");
    }
    message.visibleAt = now + visibilityTimeoutSeconds * 1000;
    this.changed();
  }

  /** Deletes every message (in flight too); SQS allows one purge a minute. */
  purge(): void {
    const now = Date.now();
    if (now - this.lastPurgeAt < 60_000) {
      throw errors.purgeQueueInProgress(`Only one PurgeQueue operation on ${this.name} is allowed every 60 seconds.`);
    }
    this.lastPurgeAt = now;
    this.messages.clear();
  }

  /** ApproximateNumberOfMessages(, NotVisible, Delayed): exact here. */
  counts(): { visible: number; inFlight: number; delayed: number } {
    const now = Date.now();
    const counts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of this.messages.values()) {
      if (this.expired(message, now)) continue;
      if (message.visibleAt <= now) counts.visible += 1;
      else if (message.receiveCount > 0) counts.inFlight += 1;
      else counts.delayed += 1;
    }
    return counts;
  }

  /**
   * CloudWatch's ApproximateAgeOfOldestMessage, exact here: seconds since the oldest message still in the
   * queue (visible, in flight or delayed) arrived; in a dead-letter queue, since it was moved there. 0 when
   * the queue is empty.
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html
   */
  oldestAgeSeconds(now = Date.now()): number {
    let oldest = now;
    for (const message of this.messages.values()) {
      if (!this.expired(message, now) && message.arrivedAt < oldest) oldest = message.arrivedAt;
    }
    return Math.floor((now - oldest) / 1000);
  }

  /**
   * Resolves when a message may have become visible (sent, or a visibility timeout or delay passed), after
   * `timeoutMs`, or when `signal` aborts, whichever is first. Callers receive again to find out.
   */
  waitForMessages(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.add(done);
      this.scheduleWake();
    });
  }

  /** Messages changed: wake the waiters now if any can be received, and plan the next wake-up. */
  private changed(): void {
    const now = Date.now();
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now && !this.expired(message, now)) {
        for (const wake of [...this.waiters]) wake();
        break;
      }
    }
    this.scheduleWake();
  }

  /** One timer, at the earliest moment an invisible message becomes visible, while someone waits. */
  private scheduleWake(): void {
    if (this.waiters.size === 0) return this.clearWake();
    const now = Date.now();
    let earliest = Infinity;
    for (const message of this.messages.values()) if (message.visibleAt > now && message.visibleAt < earliest) earliest = message.visibleAt;
    if (earliest === this.wakeAt) return;
    this.clearWake();
    if (earliest === Infinity) return;
    this.wakeAt = earliest;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = Infinity;
      this.wakeTimer = undefined;
      this.changed();
    }, earliest - now + 1);
  }

  private clearWake(): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Infinity;
  }

  /** Messages past the retention period are dropped when next looked at, as SQS deletes them. */
  private expired(message: StoredMessage, now: number): boolean {
    if (now - message.sentTimestamp < this.model.messageRetentionSeconds * 1000) return false;
    this.messages.delete(message.messageId);
    return true;
  }

  /** The message a handle of this queue names, if it is still here; a handle of anything else is invalid. */
  private messageOf(handle: string): StoredMessage | undefined {
    const parsed = parseReceiptHandle(handle);
    if (!parsed || parsed.queue !== this.name) throw errors.receiptHandleIsInvalid(handle);
    return this.messages.get(parsed.messageId);
  }

  /** Stops waking anyone: the runtime is stopping. */
  close(): void {
    this.clearWake();
    for (const wake of [...this.waiters]) wake();
  }
}

/** Receipt handles name queue and message, plus randomness so each receive's handle differs. */
function receiptHandle(queue: string, messageId: string): string {
  return Buffer.from(`${queue}\n${messageId}\n${randomBytes(24).toString("base64")}`).toString("base64");
}

function parseReceiptHandle(handle: string): { queue: string; messageId: string } | undefined {
  const parts = Buffer.from(handle, "base64").toString("utf8").split("\n");
  if (parts.length !== 3 || !parts[0] || !/^[0-9a-f-]{36}$/.test(parts[1]!)) return undefined;
  return { queue: parts[0], messageId: parts[1]! };
}
