/**
 * SQS errors as the JSON protocol carries them: `{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message"}`
 * plus the `x-amzn-query-error: <code>;Sender` header of query-compatible services. @aws-sdk/client-sqs reads
 * the code from that header first, so an error reaches the handler with the name and `Error.Code` it has on
 * AWS (QueueDoesNotExist, AccessDenied, ...). The codes and statuses are the SDK's own error schemas.
 */
export class SqsError extends Error {
  override name = "SqsError";
  constructor(
    /** `__type`, e.g. "com.amazonaws.sqs#QueueDoesNotExist". */
    readonly type: string,
    /** The query-protocol code, e.g. "AWS.SimpleQueueService.NonExistentQueue". */
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** The JSON body and headers of the answer. */
  response(): { status: number; headers: Record<string, string>; body: string } {
    return {
      status: this.status,
      headers: { "x-amzn-query-error": `${this.code};${this.status >= 500 ? "Receiver" : "Sender"}` },
      body: JSON.stringify({ __type: this.type, message: this.message }),
    };
  }
}

const sqs = (shape: string, code: string, status: number) => (message: string) => new SqsError(`com.amazonaws.sqs#${shape}`, code, status, message);
const coral = (shape: string, code: string, status: number) => (message: string) => new SqsError(`com.amazon.coral.service#${shape}`, code, status, message);

export const errors = {
  invalidAddress: (url: string) => sqs("InvalidAddress", "InvalidAddress", 404)(`The address ${url} is not valid for this endpoint.`),
  queueDoesNotExist: () => sqs("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400)("The specified queue does not exist."),
  receiptHandleIsInvalid: (handle: string) => sqs("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 404)(`The input receipt handle "${handle}" is not a valid receipt handle.`),
  messageNotInflight: sqs("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400),
  emptyBatchRequest: sqs("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400),
  tooManyEntries: sqs("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
  batchEntryIdsNotDistinct: sqs("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
  invalidBatchEntryId: sqs("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400),
  batchRequestTooLong: sqs("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", 400),
  invalidMessageContents: sqs("InvalidMessageContents", "InvalidMessageContents", 400),
  invalidAttributeName: sqs("InvalidAttributeName", "InvalidAttributeName", 400),
  purgeQueueInProgress: sqs("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403),
  unsupportedOperation: sqs("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400),
  invalidParameterValue: coral("ValidationException", "InvalidParameterValue", 400),
  missingParameter: (name: string) => coral("ValidationException", "MissingParameter", 400)(`The request must contain the parameter ${name}.`),
  invalidAction: coral("UnknownOperationException", "InvalidAction", 400),
  serialization: coral("SerializationException", "SerializationException", 400),
  accessDenied: coral("AccessDeniedException", "AccessDenied", 403),
  payloadTooLarge: coral("RequestEntityTooLargeException", "RequestEntityTooLarge", 413),
};
