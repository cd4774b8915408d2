import { backoffDelayMs, type RetryPolicy, sleep } from "../aws/backoff";
import { isRetryable, isThrottled, isTransientForReads } from "../aws/aws-errors";
import { awsRegion, dynamoDbEndpointOverride } from "../env/contract";
import { readText, serviceError, type SignedHttp, signedHttp } from "../aws/signed-http";
import { withTimeout } from "../aws/timeout-signal";

/**
 * DynamoDB's JSON API (awsJson1_0: `POST /` with `X-Amz-Target: DynamoDB_20120810.<Operation>`) as signed
 * requests (signed-http.ts), for the reads every message makes. Through the SDK's DynamoDBDocumentClient a
 * BatchGetItem costs several times the CPU of the same signed request: most of a direct message's handler
 * time, and on a small function a noticeable part of its latency (the same comparison for posts is
 * bench/results.md, figure 9 "post-cpu").
 * Writes, rarer and with richer errors (transactions' cancellation reasons), stay on the SDK, but for the
 * frame limiter's conditional UpdateItem, which every frame makes, and an account ban's Put and Delete, whose
 * module the authorizer bundles for its read and so must not pull in the SDK's client (`write`).
 *
 * It behaves as the SDK client does where callers can tell: the same endpoint (AWS_ENDPOINT_URL_DYNAMODB,
 * then AWS_ENDPOINT_URL, else the region's), errors of the SDK's shape (aws-errors.ts sorts them), and the
 * SDK's standard retry mode: up to 3 attempts for throttling, 5xx and broken connections, with full-jitter
 * backoff from 100 ms (500 ms when throttled). A read is retried on any transient failure, as it cannot repeat
 * an effect; a write only when it certainly was not applied.
 */
export interface DynamoDbJson {
  /** Calls one operation with its wire-format input (AttributeValues marshalled) and returns its wire-format output. */
  call(operation: ReadOperation, input: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>>;
  /**
   * One conditional single-item write, retried only when DynamoDB certainly did nothing (throttled, never
   * sent): a write that timed out may have been applied. A failed condition rejects with an error named
   * ConditionalCheckFailedException carrying the item's old image as `Item` (wire format), when the input
   * asked for it with `ReturnValuesOnConditionCheckFailure: "ALL_OLD"`.
   */
  write(operation: WriteOperation, input: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>>;
}

export type ReadOperation = "BatchGetItem" | "GetItem" | "Query";
export type WriteOperation = "UpdateItem" | "PutItem" | "DeleteItem";

/** The SDK's standard retry mode (@smithy/util-retry): 3 attempts, delays capped at 20 s. */
const RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 20_000 };
const THROTTLED_RETRY: RetryPolicy = { ...RETRY, baseDelayMs: 500 };

/** A request that no answer came for within this long is abandoned and, being a read, tried again. */
const ATTEMPT_TIMEOUT_MS = 5_000;

const clients = new Map<string, DynamoDbJson>();

/** The client for the current environment's endpoint, one per container (keeping its connections open). */
export function dynamoDbJson(): DynamoDbJson {
  const endpoint = dynamoDbEndpoint();
  let client = clients.get(endpoint);
  if (!client) {
    client = dynamoDbJsonClient(signedHttp(endpoint, { service: "dynamodb", connectionTimeoutMs: 1_000 }));
    clients.set(endpoint, client);
  }
  return client;
}

/** Where the SDK would send a DynamoDB request: its per-service override, the global one, or the region's endpoint. */
export function dynamoDbEndpoint(): string {
  return dynamoDbEndpointOverride() || `https://dynamodb.${awsRegion()}.amazonaws.com`;
}

/** `random` draws the backoff's jitter; `attemptTimeoutMs` is there for tests, which cannot wait 5 s an attempt. */
export function dynamoDbJsonClient(http: SignedHttp, random: () => number = Math.random, attemptTimeoutMs = ATTEMPT_TIMEOUT_MS): DynamoDbJson {
  async function attempt(operation: ReadOperation | WriteOperation, body: Uint8Array, signal: AbortSignal): Promise<Record<string, unknown>> {
    const response = await http.request({
      method: "POST",
      path: "/",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": `DynamoDB_20120810.${operation}` },
      body,
      signal,
    });
    const status = response.statusCode ?? 0;
    const text = await readText(response);
    if (status < 200 || status >= 300) {
      const error = serviceError(response, status, text, status >= 500 ? "InternalServerError" : "UnknownError");
      throw withOldItem(error, text);
    }
    return JSON.parse(text) as Record<string, unknown>;
  }

  return {
    async call(operation, input) {
      const body = Buffer.from(JSON.stringify(input), "utf8");
      for (let attempts = 1; ; attempts += 1) {
        try {
          return await withTimeout(attemptTimeoutMs, (signal) => attempt(operation, body, signal));
        } catch (error) {
          if (attempts >= RETRY.maxAttempts || !isTransientForReads(error)) throw error;
          await sleep(backoffDelayMs(attempts, isThrottled(error) ? THROTTLED_RETRY : RETRY, random));
        }
      }
    },
    async write(operation, input) {
      const body = Buffer.from(JSON.stringify(input), "utf8");
      for (let attempts = 1; ; attempts += 1) {
        try {
          return await withTimeout(attemptTimeoutMs, (signal) => attempt(operation, body, signal));
        } catch (error) {
          if (attempts >= RETRY.maxAttempts || !isRetryable(error)) throw error;
          await sleep(backoffDelayMs(attempts, isThrottled(error) ? THROTTLED_RETRY : RETRY, random));
        }
      }
    },
  };
}

/** A failed condition's old image (ReturnValuesOnConditionCheckFailure), on the error as the SDK puts it. */
function withOldItem(error: Error, text: string): Error {
  if (error.name !== "ConditionalCheckFailedException") return error;
  try {
    const { Item } = JSON.parse(text) as { Item?: unknown };
    if (Item !== null && typeof Item === "object") Object.assign(error, { Item });
  } catch {
    // No JSON body: no old image.
  }
  return error;
}
