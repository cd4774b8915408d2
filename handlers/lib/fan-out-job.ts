/**
 * One unit of asynchronous fan-out, the body of one SQS message: a chat message (the exact bytes every
 * recipient gets) and a slice of its recipients. The list is explicit rather than a cursor into the
 * table, so no consumer ever reads the table to find recipients (a broadcast does not make every consumer
 * scan it), a retried job posts to the same people, and a job that lands in the dead-letter queue says
 * exactly who still lacks the message, ready to be redriven.
 */
import type { Key } from "./table-schema";

export interface JobRecipient {
  readonly connectionId: string;
  readonly connectedAt: number;
  /** The list item that named the recipient (room, user or broadcast list), removed with it when it is gone. */
  readonly key?: Key;
}

export interface FanOutJob {
  /** The chat message's id: logs and the dead-letter queue can be matched to what the sender was told. */
  readonly messageId: string;
  /** The serialized `message` frame, posted as is. */
  readonly frame: string;
  readonly recipients: readonly JobRecipient[];
}

/**
 * Recipients per job, by default. SQS takes 256 KiB per message and per batch: a full job with a 32 KiB
 * message of ordinary text and 500 recipients with room-sized list keys stays near 100 KiB, and with short
 * messages ten fill one SendMessageBatch. A job that would not fit (a frame that escaping makes several
 * times its message, see fan-out-handoff.ts) is split in two until it does. Each job is also one consumer
 * invocation's work (a batch is one job, see FAN_OUT_DEFAULTS in constructs/websocket-chat.ts) and its unit of retry: at the
 * 430–600 posts a second a 256 MB consumer manages (`npm run bench -- --only post-cpu`), about a second,
 * so an audience of a few thousand is already spread over several consumers, and a failed invocation delays
 * 500 people at most.
 */
export const DEFAULT_RECIPIENTS_PER_JOB = 500;
/** The most recipients per job: ~150 KB of recipients, beside a frame of ordinary text, in SQS's 256 KiB. */
export const MAX_RECIPIENTS_PER_JOB = 1000;
/** SQS's limit on one message and on one SendMessageBatch. */
export const MAX_SQS_PAYLOAD_BYTES = 256 * 1024;

const VERSION = 1;

/** Compact on the wire: `[id, connectedAt, pk?, sk?]` per recipient. */
type WireRecipient = [string, number] | [string, number, string, string];
interface WireJob {
  readonly v: number;
  readonly id: string;
  readonly frame: string;
  readonly to: WireRecipient[];
}

export function encodeJob(job: FanOutJob): string {
  const wire: WireJob = {
    v: VERSION,
    id: job.messageId,
    frame: job.frame,
    to: job.recipients.map((r) => (r.key ? [r.connectionId, r.connectedAt, r.key.pk, r.key.sk] : [r.connectionId, r.connectedAt])),
  };
  return JSON.stringify(wire);
}

/** The job in an SQS message body, or an Error saying why it is not one (never retried into success). */
export function decodeJob(body: string): FanOutJob | Error {
  let wire: Partial<WireJob>;
  try {
    wire = JSON.parse(body) as Partial<WireJob>;
  } catch {
    return new Error("the body is not JSON");
  }
  if (wire?.v !== VERSION) return new Error(`unknown job version ${JSON.stringify(wire?.v)}`);
  if (typeof wire.id !== "string" || typeof wire.frame !== "string" || !Array.isArray(wire.to)) return new Error("id, frame or to is missing");
  const recipients: JobRecipient[] = [];
  for (const entry of wire.to) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") return new Error("a recipient is malformed");
    const [connectionId, connectedAt, pk, sk] = entry;
    recipients.push({ connectionId, connectedAt, ...(typeof pk === "string" && typeof sk === "string" && { key: { pk, sk } }) });
  }
  return { messageId: wire.id, frame: wire.frame, recipients };
}
