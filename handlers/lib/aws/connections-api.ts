import { signedHttp, readText, serviceError } from "./signed-http";
import { withTimeout } from "./timeout-signal";

/**
 * API Gateway's `@connections` POST (PostToConnection) as a signed request (signed-http.ts). It stands in
 * for the SDK's ApiGatewayManagementApiClient on the fan-out's hot path: the client's per-call machinery
 * (the middleware stack resolved for every command, endpoint rules, schema serialization, collecting the
 * empty answer) cost several times the CPU of the signed request itself, and on a small function CPU, not
 * latency, is what bounds how many recipients one invocation reaches (bench/results.md, figure 9 "post-cpu";
 * docs/fan-out.md).
 *
 * Failures look like the SDK's to the code that sorts them (aws-errors.ts): an answered error has the
 * service's `name` (x-amzn-ErrorType: GoneException, LimitExceededException, ...), `$metadata.httpStatusCode`
 * and `$fault`; a socket error keeps Node's `code` (ECONNREFUSED, ...); an aborted post is an AbortError.
 */
export interface ConnectionsApi {
  /** The endpoint posts go to: `https://<api>.execute-api.<region>.amazonaws.com/<stage>` or a local one. */
  readonly endpoint: string;
  /**
   * Posts `data` to the connection as one text frame. Resolves once API Gateway has accepted it; rejects with
   * its error, or an AbortError when `signal` fires first. @default signal: aborts after POST_TIMEOUT_MS
   */
  post(connectionId: string, data: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Closes the connection (DeleteConnection); rejects with GoneException when it is not open. */
  disconnect(connectionId: string): Promise<void>;
  /** Whether the connection is open (GetConnection): false on 410 GoneException. */
  isOpen(connectionId: string): Promise<boolean>;
}

export interface ConnectionsApiOptions {
  /** Milliseconds a post may take in all, when the caller passes no signal. */
  readonly requestTimeoutMs: number;
  /** Milliseconds to open a new connection to API Gateway. */
  readonly connectionTimeoutMs: number;
}

/**
 * What a status means when API Gateway names no error type (it always does; a proxy in between may not).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */
const NAME_BY_STATUS: Readonly<Record<number, string>> = { 403: "ForbiddenException", 410: "GoneException", 413: "PayloadTooLargeException", 429: "LimitExceededException" };

const EMPTY = new Uint8Array(0);

/** As the SDK's `extendedEncodeURIComponent`, which escapes the path labels of REST protocols. */
const encodeLabel = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The @connections API of one endpoint (API and stage). Region and credentials come from the environment,
 * as the SDK reads them on Lambda (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 */
export function connectionsApi(endpoint: string, options: ConnectionsApiOptions): ConnectionsApi {
  const http = signedHttp(endpoint, { service: "execute-api", connectionTimeoutMs: options.connectionTimeoutMs });

  function post(connectionId: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    return signal ? postWith(connectionId, data, signal) : withTimeout(options.requestTimeoutMs, (timeout) => postWith(connectionId, data, timeout));
  }

  async function postWith(connectionId: string, data: Uint8Array, signal: AbortSignal): Promise<void> {
    await call("POST", connectionId, signal, data);
  }

  async function call(method: "POST" | "GET" | "DELETE", connectionId: string, signal: AbortSignal, data?: Uint8Array): Promise<void> {
    const response = await http.request({
      method,
      path: `/@connections/${encodeLabel(connectionId)}`,
      headers: data ? { "content-type": "application/octet-stream" } : {},
      body: data ?? EMPTY,
      signal,
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      // Drained, so the socket goes back to the agent for the next post.
      response.resume();
      return;
    }
    throw serviceError(response, status, await readText(response), NAME_BY_STATUS[status] || (status >= 500 ? "ServiceException" : "UnknownError"));
  }

  const disconnect = (connectionId: string) => withTimeout(options.requestTimeoutMs, (timeout) => call("DELETE", connectionId, timeout));

  async function isOpen(connectionId: string): Promise<boolean> {
    try {
      await withTimeout(options.requestTimeoutMs, (timeout) => call("GET", connectionId, timeout));
      return true;
    } catch (error) {
      if ((error as { name?: unknown }).name === "GoneException") return false;
      throw error;
    }
  }

  return { endpoint, post, disconnect, isOpen };
}
