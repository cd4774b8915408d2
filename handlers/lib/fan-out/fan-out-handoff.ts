import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { isRetryable } from "../aws/aws-errors";
import { backoffDelayMs, RetryPolicy, sleep } from "../aws/backoff";
import { encodeJob, FanOutJob, JobRecipient, MAX_SQS_PAYLOAD_BYTES } from "./fan-out-job";

/** SendMessageBatch takes at most 10 entries. */
const BATCH_ENTRIES = 10;
/** Entries SQS refused for throttling or a fault of its own are sent again. */
const SEND_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 800 };
/** Time kept for replying once hand-off stops. */
const RESERVE_MS = 1_500;

let client: SQSClient | undefined;
/** Created on first use (the SDK reads AWS_ENDPOINT_URL_SQS, region and credentials itself). */
function sqs(): SQSClient {
  client ??= new SQSClient({ maxAttempts: 1 });
  return client;
}

export interface HandOffResult {
  /** Recipients now in jobs on the queue. */
  readonly queued: number;
  /** True when some recipients could not be handed off (time ran out, or SQS kept refusing). */
  readonly incomplete: boolean;
}

/**
 * Hands a message's recipients to the fan-out queue as jobs of `jobSize`, read page by page and
 * sent as they fill, so no invocation holds a whole audience. Once anything was queued the caller must
 * say `sent` (with `queued`), never an error: those recipients will get the message.
 */
export async function handOff(options: {
  readonly queueUrl: string;
  /** Recipients per job (one SQS message). */
  readonly jobSize: number;
  readonly messageId: string;
  readonly frame: string;
  readonly recipients: AsyncIterable<JobRecipient> | Iterable<JobRecipient>;
  readonly remainingTimeMs: () => number;
  readonly onFailure: (error: unknown) => void;
}): Promise<HandOffResult> {
  let queued = 0;
  // Two reasons apart: running out of time stops reading, while SQS refusing one batch does not stop the next.
  let outOfTime = false;
  let incomplete = false;
  let jobs: Array<{ body: string; size: number }> = [];
  let batchBytes = 0;
  let slice: JobRecipient[] = [];

  const flush = async () => {
    if (jobs.length === 0) return;
    const sent = await sendBatch(options.queueUrl, jobs.map((job) => job.body), options.remainingTimeMs, options.onFailure);
    queued += sent.recipients;
    if (sent.unsent > 0) incomplete = true;
    jobs = [];
    batchBytes = 0;
  };
  const addJob = async (recipients: JobRecipient[]): Promise<void> => {
    const body = encodeJob({ messageId: options.messageId, frame: options.frame, recipients } satisfies FanOutJob);
    const size = Buffer.byteLength(body);
    // The frame is escaped again inside the job (a quote or a control character grows up to 7-fold in all),
    // so a job of jobSize recipients can exceed what SQS takes: halved until each part fits.
    if (size > MAX_SQS_PAYLOAD_BYTES && recipients.length > 1) {
      const half = Math.ceil(recipients.length / 2);
      await addJob(recipients.slice(0, half));
      return addJob(recipients.slice(half));
    }
    if (jobs.length === BATCH_ENTRIES || batchBytes + size > MAX_SQS_PAYLOAD_BYTES) await flush();
    jobs.push({ body, size });
    batchBytes += size;
  };

  try {
    for await (const recipient of options.recipients) {
      if (options.remainingTimeMs() < RESERVE_MS) {
        outOfTime = true;
        break;
      }
      slice.push(recipient);
      if (slice.length === options.jobSize) {
        await addJob(slice);
        slice = [];
      }
    }
    if (slice.length > 0 && !outOfTime) await addJob(slice);
  } catch (readError) {
    if (queued === 0 && jobs.length === 0) throw readError;
    options.onFailure(readError);
    incomplete = true;
  }
  await flush();
  return { queued, incomplete: incomplete || outOfTime };
}

/** Sends one batch, resending what SQS refused for reasons a retry can fix; counts recipients queued. */
async function sendBatch(
  queueUrl: string,
  bodies: readonly string[],
  remainingTimeMs: () => number,
  onFailure: (error: unknown) => void,
): Promise<{ recipients: number; unsent: number }> {
  let pending = bodies.map((body, index) => ({ Id: String(index), MessageBody: body }));
  let recipients = 0;
  let refused = 0;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    let failedIds: Set<string>;
    try {
      const { Successful = [], Failed = [] } = await sqs().send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      for (const done of Successful) recipients += countRecipients(pending.find((entry) => entry.Id === done.Id)!.MessageBody);
      // SenderFault means the entry itself is wrong: sending it again cannot help.
      for (const failure of Failed.filter((f) => f.SenderFault)) {
        refused += countRecipients(pending.find((entry) => entry.Id === failure.Id)!.MessageBody);
        onFailure(Object.assign(new Error(failure.Message ?? "refused"), { name: failure.Code ?? "SendMessageBatchEntryFailed" }));
      }
      failedIds = new Set(Failed.filter((failure) => !failure.SenderFault).map((failure) => failure.Id!));
      pending = pending.filter((entry) => failedIds.has(entry.Id));
    } catch (error) {
      if (!isRetryable(error)) {
        onFailure(error);
        break;
      }
    }
    if (pending.length === 0 || attempt >= SEND_RETRY.maxAttempts) break;
    const delay = backoffDelayMs(attempt, SEND_RETRY);
    if (remainingTimeMs() - delay < RESERVE_MS) break;
    await sleep(delay);
  }
  return { recipients, unsent: refused + pending.reduce((sum, entry) => sum + countRecipients(entry.MessageBody), 0) };
}

function countRecipients(body: string): number {
  return (JSON.parse(body) as { to: unknown[] }).to.length;
}
