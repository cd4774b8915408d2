/**
 * SDK v3 errors carry the service's error name and `$metadata.httpStatusCode`; there is no `statusCode`
 * field as in SDK v2. The @connections poster (connections-api.ts) raises errors of the same shape.
 */
interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly CancellationReasons?: ReadonlyArray<{ readonly Code?: string }>;
}

const THROTTLING_ERROR_NAMES = new Set([
  "TooManyRequestsException",
  "LimitExceededException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "ProvisionedThroughputExceededException",
]);

/**
 * Socket errors raised before a request could be written: the service never saw it. ECONNRESET, EPIPE
 * and timeouts are not here: they can strike after the request was sent, when it may have been delivered.
 */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * What else the SDK's standard retry mode retries (@smithy/service-error-classification): server faults, and
 * sockets that broke or timed out, possibly after the request was sent. Safe only for a call that changes nothing.
 */
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", ...NOT_SENT_CODES]);

/** The connection is closed, or not open yet: API Gateway answers a post to it with 410 GoneException. */
export function isGone(error: unknown): boolean {
  return shape(error).name === "GoneException";
}

/** Refused by a rate limit: nothing was done, so trying again later is safe. */
export function isThrottled(error: unknown): boolean {
  const { name, $metadata } = shape(error);
  return (typeof name === "string" && THROTTLING_ERROR_NAMES.has(name)) || $metadata?.httpStatusCode === 429;
}

/** The request never reached the service (connection refused, name not resolved). */
export function isNotSent(error: unknown): boolean {
  const { code } = shape(error);
  return typeof code === "string" && NOT_SENT_CODES.has(code);
}

/**
 * Safe to repeat because it certainly did nothing. A 5xx or a timeout is not: the post may have been
 * delivered before the answer was lost, and repeating it would show the message twice.
 */
export function isRetryable(error: unknown): boolean {
  return isThrottled(error) || isNotSent(error);
}

/**
 * Worth another attempt of a read: throttled, a server fault, a connection that failed, broke or timed out
 * (our own TimeoutError or AbortError). Never for a write: it may have been done before the answer was lost.
 */
export function isTransientForReads(error: unknown): boolean {
  if (isThrottled(error)) return true;
  const { name, code, $metadata } = shape(error);
  if (typeof $metadata?.httpStatusCode === "number") return TRANSIENT_STATUSES.has($metadata.httpStatusCode);
  return name === "TimeoutError" || name === "AbortError" || (typeof code === "string" && TRANSIENT_CODES.has(code));
}

/** A DynamoDB write whose condition failed, alone or as the `index`th item of a transaction. */
export function isConditionFailed(error: unknown, index?: number): boolean {
  const { name, CancellationReasons } = shape(error);
  if (name === "ConditionalCheckFailedException") return true;
  if (name !== "TransactionCanceledException" || !CancellationReasons) return false;
  return index === undefined
    ? CancellationReasons.some((reason) => reason.Code === "ConditionalCheckFailed")
    : CancellationReasons[index]?.Code === "ConditionalCheckFailed";
}

/**
 * A transaction cancelled because another transaction was working on one of its items (or a write that hit
 * an item a transaction held): nothing was written, so it can be tried again. The SDK does not retry it.
 */
export function isTransactionConflict(error: unknown): boolean {
  const { name, CancellationReasons } = shape(error);
  if (name === "TransactionConflictException") return true;
  return name === "TransactionCanceledException" && (CancellationReasons ?? []).some((reason) => reason.Code === "TransactionConflict");
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === "object" && error !== null ? (error as SdkErrorShape) : {};
}
