/**
 * The SQS API calls a producer, a consumer and an operator make, on the stack's queues, with SQS's
 * validation and answers. Each call names the IAM action it is authorized as: a batch call is authorized as
 * its single-message action ("setting permissions for SendMessage, DeleteMessage, or ChangeMessageVisibility
 * sets permissions for the corresponding batch versions":
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html).
 * Resources follow https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html.
 */
import type { Identity } from "../../iam/identities";
import { errors, SqsError } from "./errors";
import { md5OfMessageAttributes, senderIdOf, validateMessage, type MessageAttributes } from "./messages";
import type { LocalQueue, ReceivedMessage } from "./queue";

export interface SqsScope {
  readonly region: string;
  readonly account: string;
  /** The stack's queues by name. */
  readonly queues: ReadonlyMap<string, LocalQueue>;
}

export interface CallContext {
  readonly caller: Identity;
  readonly scope: SqsScope;
  /** Aborted when the client goes away (ends a long poll). */
  readonly signal: AbortSignal;
}

type Input = Record<string, unknown>;

export interface Operation {
  /** The IAM action the call is authorized as. */
  readonly action: string;
  /** What it acts on: the queue (undefined when the queue is to be resolved from the resource ARN). */
  readonly resource: (input: Input, scope: SqsScope) => string;
  readonly run: (input: Input, queue: LocalQueue | undefined, context: CallContext) => unknown;
}

/** SQS's limit for all the messages of one SendMessageBatch (sqs-batch-api.html). */
export const BATCH_PAYLOAD_LIMIT_BYTES = 1_048_576;
const MAX_BATCH_ENTRIES = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

const queueArn = (scope: SqsScope, name: string) => `arn:aws:sqs:${scope.region}:${scope.account}:${name}`;

/** The queue ARN a QueueUrl names (`<scheme>://<host>/<account>/<name>`). */
function arnOfUrl(input: Input, scope: SqsScope): string {
  const url = input.QueueUrl;
  if (url === undefined || url === null || url === "") throw errors.missingParameter("QueueUrl");
  const match = typeof url === "string" ? /^https?:\/\/[^/]+\/(\d{12})\/([^/?#]+)\/?$/.exec(url) : null;
  if (!match) throw errors.invalidAddress(String(url));
  return `arn:aws:sqs:${scope.region}:${match[1]}:${decodeURIComponent(match[2]!)}`;
}

function integer(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw errors.invalidParameterValue(`Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`);
  }
  return value;
}

function requiredString(input: Input, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === "") throw errors.missingParameter(name);
  if (typeof value !== "string") throw errors.invalidParameterValue(`Value for parameter ${name} must be a string.`);
  return value;
}

function stringList(input: Input, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw errors.invalidParameterValue(`${name} must be a list of strings.`);
  return value as string[];
}

/** A batch call's entries: 1 to 10, each with a distinct, well-formed Id. */
function batchEntries(input: Input, entryType: string): Input[] {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) throw errors.emptyBatchRequest(`There should be at least one ${entryType} in the request.`);
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw errors.tooManyEntries(`Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`);
  }
  const seen = new Set<string>();
  for (const entry of entries as Input[]) {
    const id = entry?.Id;
    if (typeof id !== "string" || !BATCH_ENTRY_ID.test(id)) {
      throw errors.invalidBatchEntryId("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.");
    }
    if (seen.has(id)) throw errors.batchEntryIdsNotDistinct(`Id ${id} repeated.`);
    seen.add(id);
  }
  return entries as Input[];
}

/** Runs each entry on its own: SQS answers 200 with the entries that failed listed apart. */
function eachEntry(entries: Input[], run: (entry: Input) => Record<string, unknown>) {
  const Successful: Record<string, unknown>[] = [];
  const Failed: Record<string, unknown>[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: error.status < 500, Code: error.code, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function send(entry: Input, queue: LocalQueue, caller: Identity) {
  const delay = integer(entry, "DelaySeconds", 0, 900);
  const message = queue.send(validateMessage(entry, queue.model.maximumMessageSizeBytes), senderIdOf(caller), delay);
  return {
    MessageId: message.messageId,
    MD5OfMessageBody: message.md5OfBody,
    ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    ...(message.traceHeader === undefined
      ? {}
      : { MD5OfMessageSystemAttributes: md5OfMessageAttributes({ AWSTraceHeader: { DataType: "String", StringValue: message.traceHeader } }) }),
  };
}

/** The system attributes of a received message, by the names the caller asked for ("All" for every one). */
function systemAttributes(received: ReceivedMessage, names: readonly string[]): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  const { message } = received;
  const all: Record<string, string | undefined> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentTimestamp),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    AWSTraceHeader: message.traceHeader,
    DeadLetterQueueSourceArn: message.deadLetterQueueSourceArn,
    MessageGroupId: message.groupId,
  };
  const chosen = Object.entries(all).filter(([name, value]) => value !== undefined && (names.includes("All") || names.includes(name)));
  return chosen.length ? (Object.fromEntries(chosen) as Record<string, string>) : undefined;
}

/** Message attributes by name, `All` or `.*`, or a `prefix.*`. */
function messageAttributes(attributes: MessageAttributes, names: readonly string[]): MessageAttributes {
  const wanted = (name: string) =>
    names.some((pattern) => pattern === "All" || pattern === ".*" || pattern === name || (pattern.endsWith(".*") && name.startsWith(pattern.slice(0, -1))));
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => wanted(name)));
}

/** What GetQueueAttributes can return, computed when asked. */
function queueAttributes(queue: LocalQueue): Record<string, () => string | undefined> {
  const { model } = queue;
  const counts = () => queue.counts();
  const seconds = String(Math.floor(queue.createdAt / 1000));
  return {
    ApproximateNumberOfMessages: () => String(counts().visible),
    ApproximateNumberOfMessagesNotVisible: () => String(counts().inFlight),
    ApproximateNumberOfMessagesDelayed: () => String(counts().delayed),
    CreatedTimestamp: () => seconds,
    LastModifiedTimestamp: () => seconds,
    QueueArn: () => model.arn,
    VisibilityTimeout: () => String(model.visibilityTimeoutSeconds),
    MaximumMessageSize: () => String(model.maximumMessageSizeBytes),
    MessageRetentionPeriod: () => String(model.messageRetentionSeconds),
    DelaySeconds: () => String(model.delaySeconds),
    ReceiveMessageWaitTimeSeconds: () => String(model.receiveWaitTimeSeconds),
    SqsManagedSseEnabled: () => String(model.sqsManagedSseEnabled),
    KmsMasterKeyId: () => model.kmsMasterKeyId,
    RedrivePolicy: () => (model.redrivePolicy ? JSON.stringify(model.redrivePolicy) : undefined),
    RedriveAllowPolicy: () => model.redriveAllowPolicy,
  };
}

const onQueue = { resource: arnOfUrl };
const queueOf = (queue: LocalQueue | undefined): LocalQueue => queue!;

/** One DeleteMessage, alone or as an entry of a batch: the same fields either way. */
function deleteMessage(fields: Input, queue: LocalQueue | undefined): Record<string, never> {
  queueOf(queue).delete(requiredString(fields, "ReceiptHandle"));
  return {};
}

/** One ChangeMessageVisibility, alone or as an entry of a batch. */
function changeVisibility(fields: Input, queue: LocalQueue | undefined): Record<string, never> {
  const timeout = integer(fields, "VisibilityTimeout", 0, 43_200);
  if (timeout === undefined) throw errors.missingParameter("VisibilityTimeout");
  queueOf(queue).changeVisibility(requiredString(fields, "ReceiptHandle"), timeout);
  return {};
}

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  SendMessage: {
    action: "sqs:SendMessage",
    ...onQueue,
    run: (input, queue, { caller }) => send(input, queueOf(queue), caller),
  },
  SendMessageBatch: {
    action: "sqs:SendMessage",
    ...onQueue,
    run: (input, queue, { caller }) => {
      const entries = batchEntries(input, "SendMessageBatchRequestEntry");
      const bytes = entries.reduce((sum, entry) => sum + (typeof entry.MessageBody === "string" ? Buffer.byteLength(entry.MessageBody) : 0), 0);
      if (bytes > BATCH_PAYLOAD_LIMIT_BYTES) {
        throw errors.batchRequestTooLong(`Batch requests cannot be longer than ${BATCH_PAYLOAD_LIMIT_BYTES} bytes. You have sent ${bytes} bytes.`);
      }
      return eachEntry(entries, (entry) => send(entry, queueOf(queue), caller));
    },
  },
  ReceiveMessage: {
    action: "sqs:ReceiveMessage",
    ...onQueue,
    run: async (input, queue, { signal }) => {
      const q = queueOf(queue);
      const maxMessages = integer(input, "MaxNumberOfMessages", 1, 10) ?? 1;
      const visibilityTimeoutSeconds = integer(input, "VisibilityTimeout", 0, 43_200) ?? q.model.visibilityTimeoutSeconds;
      const waitSeconds = integer(input, "WaitTimeSeconds", 0, 20) ?? q.model.receiveWaitTimeSeconds;
      const systemNames = [...stringList(input, "AttributeNames"), ...stringList(input, "MessageSystemAttributeNames")];
      const attributeNames = stringList(input, "MessageAttributeNames");
      const deadline = Date.now() + waitSeconds * 1000;
      let received = q.receive({ maxMessages, visibilityTimeoutSeconds });
      while (received.length === 0 && Date.now() < deadline && !signal.aborted) {
        await q.waitForMessages(deadline - Date.now(), signal);
        received = q.receive({ maxMessages, visibilityTimeoutSeconds });
      }
      if (received.length === 0) return {};
      return {
        Messages: received.map((r) => {
          const attributes = messageAttributes(r.message.attributes, attributeNames);
          const system = systemAttributes(r, systemNames);
          return {
            MessageId: r.message.messageId,
            ReceiptHandle: r.receiptHandle,
            MD5OfBody: r.message.md5OfBody,
            Body: r.message.body,
            ...(system ? { Attributes: system } : {}),
            ...(Object.keys(attributes).length ? { MD5OfMessageAttributes: md5OfMessageAttributes(attributes), MessageAttributes: attributes } : {}),
          };
        }),
      };
    },
  },
  DeleteMessage: {
    action: "sqs:DeleteMessage",
    ...onQueue,
    run: deleteMessage,
  },
  DeleteMessageBatch: {
    action: "sqs:DeleteMessage",
    ...onQueue,
    run: (input, queue) => eachEntry(batchEntries(input, "DeleteMessageBatchRequestEntry"), (entry) => deleteMessage(entry, queue)),
  },
  ChangeMessageVisibility: {
    action: "sqs:ChangeMessageVisibility",
    ...onQueue,
    run: changeVisibility,
  },
  ChangeMessageVisibilityBatch: {
    action: "sqs:ChangeMessageVisibility",
    ...onQueue,
    run: (input, queue) => eachEntry(batchEntries(input, "ChangeMessageVisibilityBatchRequestEntry"), (entry) => changeVisibility(entry, queue)),
  },
  GetQueueAttributes: {
    action: "sqs:GetQueueAttributes",
    ...onQueue,
    run: (input, queue) => {
      const available = queueAttributes(queueOf(queue));
      const names = stringList(input, "AttributeNames");
      for (const name of names) if (name !== "All" && !(name in available)) throw errors.invalidAttributeName(`Unknown Attribute ${name}.`);
      const chosen = names.includes("All") ? Object.keys(available) : names;
      const values = chosen.map((name) => [name, available[name]!()] as const).filter(([, value]) => value !== undefined);
      return values.length ? { Attributes: Object.fromEntries(values) } : {};
    },
  },
  GetQueueUrl: {
    action: "sqs:GetQueueUrl",
    resource: (input, scope) => {
      const owner = input.QueueOwnerAWSAccountId;
      return `arn:aws:sqs:${scope.region}:${typeof owner === "string" ? owner : scope.account}:${requiredString(input, "QueueName")}`;
    },
    run: (input, queue) => ({ QueueUrl: queueOf(queue).model.url }),
  },
  PurgeQueue: {
    action: "sqs:PurgeQueue",
    ...onQueue,
    run: (input, queue) => {
      queueOf(queue).purge();
      return {};
    },
  },
  ListQueues: {
    action: "sqs:ListQueues",
    resource: (input, scope) => queueArn(scope, "*"),
    run: (input, queue, { scope }) => {
      const prefix = typeof input.QueueNamePrefix === "string" ? input.QueueNamePrefix : "";
      const max = integer(input, "MaxResults", 1, 1000) ?? 1000;
      const urls = [...scope.queues.values()].filter((q) => q.name.startsWith(prefix)).slice(0, max).map((q) => q.model.url);
      return urls.length ? { QueueUrls: urls } : {};
    },
  },
};

/** Calls SQS has that the local runtime answers with UnsupportedOperation: the queues come from the stack. */
export const NOT_EMULATED = new Set([
  "CreateQueue",
  "DeleteQueue",
  "SetQueueAttributes",
  "TagQueue",
  "UntagQueue",
  "ListQueueTags",
  "AddPermission",
  "RemovePermission",
  "ListDeadLetterSourceQueues",
  "StartMessageMoveTask",
  "CancelMessageMoveTask",
  "ListMessageMoveTasks",
]);

/** The queue of a resource ARN (undefined for account-wide calls), or QueueDoesNotExist. */
export function queueOfArn(arn: string, scope: SqsScope, operation: string): LocalQueue | undefined {
  if (operation === "ListQueues") return undefined;
  const [, , , region, account, name] = arn.split(":");
  const queue = region === scope.region && account === scope.account ? scope.queues.get(name ?? "") : undefined;
  if (!queue) throw errors.queueDoesNotExist();
  return queue;
}
