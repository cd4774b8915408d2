/**
 * One unit of asynchronous fan-out, the body of one SQS message: a chat message (the exact bytes every
 * recipient gets) and a slice of its recipients. The list is explicit rather than a cursor into the
 * table, so no consumer ever reads the table to find recipients (a broadcast does not make every consumer
 * scan it), a retried job posts to the same people, and a job that lands in the dead-letter queue says
 * exactly who still lacks the message, ready to be redriven.
 */
import type { Key } from "../store/table-schema";

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
 * A job that would not fit SQS's limit (a frame that escaping makes several times its message, see
 * fan-out-handoff.ts) is split in two until it does; the default size is env/contract.ts's
 * DEFAULT_RECIPIENTS_PER_JOB.
 */
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
