import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { dynamoDb, managementApi } from "./lib/aws/clients";
import { connectionStore } from "./lib/store/connection-store";
import { fanOut } from "./lib/fan-out/fan-out";
import { decodeJob, encodeJob, FanOutJob, JobRecipient } from "./lib/fan-out/fan-out-job";
import { removeGoneRecipient } from "./lib/fan-out/gone-recipients";
import { logError, logInfo } from "./lib/observability/log";
import { publishFanOut } from "./lib/observability/metrics";
import { fanOutConcurrency, tableSettings } from "./lib/env/contract";
import { keys, TTL_ATTRIBUTE } from "./lib/store/table-schema";

const ROUTE = "fan-out-worker";
/** Progress of a retried job is kept for as long as SQS could still be retrying it, and a day at most. */
const PROGRESS_TTL_SECONDS = 24 * 60 * 60;

interface Prepared {
  readonly record: SQSRecord;
  readonly job?: FanOutJob;
  /** Who this receive posts to: every recipient, or on a retry only those an earlier receive did not reach. */
  readonly recipients: readonly JobRecipient[];
  readonly resumed: boolean;
}

/**
 * The fan-out queue's consumer: posts each job's message to the job's recipients, the whole batch under
 * one concurrency limit and the function's deadline. A job is reported as a batch item failure only when
 * some of its recipients are worth another attempt (still throttled, still opening, or not reached before
 * the deadline); those are recorded first, so SQS's retry posts to them alone and never again to anyone
 * already reached. A job that exhausts its receives goes to the dead-letter queue whole, ready to redrive.
 */
export const handler = async (event: SQSEvent, context?: Pick<Context, "getRemainingTimeInMillis"> & Partial<Pick<Context, "awsRequestId">>): Promise<SQSBatchResponse> => {
  // Lambda's JSON log format adds the invocation's request id to every line.
  const log = { route: ROUTE };
  const store = connectionStore();
  const table = tableSettings().tableName;
  const api = managementApi();
  const remainingTimeMs = () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;

  const prepared = await Promise.all(event.Records.map((record) => prepare(record, table, log)));
  const frames = prepared.map((p) => (p.job ? Buffer.from(p.job.frame, "utf8") : Buffer.alloc(0)));
  // Whether each recipient of each job is settled (reached, gone, or failed for good) or worth another try.
  const settled = prepared.map(() => new Map<string, boolean>());
  // Fan-out duration, per batch: from the first post to the last answer.
  let firstPostAt: number | undefined;
  const counts = await fanOut({
    recipients: prepared.flatMap((p, job) => p.recipients.map((recipient) => ({ ...recipient, job }))),
    post: (recipient, abortSignal) => {
      firstPostAt ??= performance.now();
      return api.post(recipient.connectionId, frames[recipient.job]!, abortSignal);
    },
    onGone: (recipient) => removeGoneRecipient(store, recipient),
    onOutcome: (recipient, _outcome, retryLater) => settled[recipient.job]!.set(recipient.connectionId, !retryLater),
    onFailure: (recipient, error) => logError(log, error, { recipient: recipient.connectionId, messageId: prepared[recipient.job]!.job?.messageId }),
    concurrency: fanOutConcurrency(),
    remainingTimeMs,
  });

  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  let retrying = 0;
  for (const [index, { record, job, recipients, resumed }] of prepared.entries()) {
    if (!job) {
      // Malformed: it can never succeed, so let SQS move it to the dead-letter queue for a human.
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    const pending = recipients.filter((recipient) => settled[index]!.get(recipient.connectionId) !== true);
    const progress = { TableName: table, Key: keys.fanOutProgress(record.messageId) };
    try {
      if (pending.length > 0) {
        await dynamoDb().send(
          new PutCommand({
            TableName: table,
            Item: { ...progress.Key, pending: encodeJob({ ...job, recipients: pending }), [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + PROGRESS_TTL_SECONDS },
          }),
        );
      } else if (resumed) {
        await dynamoDb().send(new DeleteCommand(progress));
      }
    } catch (error) {
      // Without the record a retry posts to the whole job again: duplicates, which recipients drop by id.
      logError(log, error, { messageId: job.messageId, while: "recording progress" });
    }
    if (pending.length > 0) {
      retrying += pending.length;
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  const durationMs = firstPostAt === undefined ? undefined : Math.round(performance.now() - firstPostAt);
  await publishFanOut({ path: "queue", counts, durationMs }, { requestId: context?.awsRequestId });
  logInfo(log, { jobs: event.Records.length, ...counts, retrying, jobsRetried: batchItemFailures.length });
  return { batchItemFailures };
};

/** Decodes a job and, on a retry, narrows it to the recipients an earlier receive recorded as pending. */
async function prepare(record: SQSRecord, table: string, log: { route: string }): Promise<Prepared> {
  const job = decodeJob(record.body);
  if (job instanceof Error) {
    logError(log, job, { sqsMessageId: record.messageId, while: "decoding the job" });
    return { record, recipients: [], resumed: false };
  }
  if (Number(record.attributes.ApproximateReceiveCount) <= 1) return { record, job, recipients: job.recipients, resumed: false };
  const { Item } = await dynamoDb().send(new GetCommand({ TableName: table, Key: keys.fanOutProgress(record.messageId), ConsistentRead: true }));
  const recorded = typeof Item?.pending === "string" ? decodeJob(Item.pending) : undefined;
  if (!recorded || recorded instanceof Error) return { record, job, recipients: job.recipients, resumed: false };
  return { record, job, recipients: recorded.recipients, resumed: true };
}
