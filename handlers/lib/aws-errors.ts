import { GoneException } from "@aws-sdk/client-apigatewaymanagementapi";

/**
 * SDK v3 errors carry the service's error name and `$metadata.httpStatusCode`; there is no `statusCode`
 * field as in SDK v2.
 */
interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
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

/** Socket-level failures worth another attempt; the request may never have reached the service. */
const TRANSIENT_NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

/** The connection is closed: API Gateway answers a post to it with 410 GoneException. */
export function isGone(error: unknown): boolean {
  return error instanceof GoneException || shape(error).name === "GoneException";
}

export function isThrottled(error: unknown): boolean {
  const { name, $metadata } = shape(error);
  return (typeof name === "string" && THROTTLING_ERROR_NAMES.has(name)) || $metadata?.httpStatusCode === 429;
}

/** A server fault or a dropped socket: likely to succeed when tried again. */
export function isTransient(error: unknown): boolean {
  const { name, code, $metadata } = shape(error);
  const status = $metadata?.httpStatusCode;
  return (
    (typeof status === "number" && status >= 500) ||
    name === "TimeoutError" ||
    (typeof code === "string" && TRANSIENT_NETWORK_CODES.has(code))
  );
}

export function isRetryable(error: unknown): boolean {
  return isThrottled(error) || isTransient(error);
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === "object" && error !== null ? (error as SdkErrorShape) : {};
}
