import { fromEnv } from "@aws-sdk/credential-provider-env";
import { Sha256 } from "@smithy/core/checksum";
import { SignatureV4 } from "@smithy/signature-v4";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/**
 * API Gateway's `@connections` POST (PostToConnection), signed by the AWS SDK's own SigV4 signer
 * (@smithy/signature-v4, the code the SDK client signs with, the same headers and escaping) and sent on a
 * keep-alive agent. It stands in for the SDK's ApiGatewayManagementApiClient on the fan-out's hot path: the
 * client's per-call machinery (the middleware stack resolved for every command, endpoint rules, schema
 * serialization, collecting the empty answer) cost 3 to 4 times the CPU of the signed request itself
 * (`npm run bench -- --only post-cpu`), and on a 256 MB function CPU, not latency, is what bounds how many
 * recipients one invocation reaches (README "Fan-out at scale").
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
}

/** An error API Gateway answered, shaped like the SDK's ServiceException. */
export class ConnectionsApiError extends Error {
  readonly $fault: "client" | "server";
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId?: string };

  constructor(name: string, message: string, statusCode: number, requestId?: string) {
    super(message);
    this.name = name;
    this.$fault = statusCode >= 500 ? "server" : "client";
    this.$metadata = { httpStatusCode: statusCode, ...(requestId ? { requestId } : {}) };
  }
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

/** As the SDK's `extendedEncodeURIComponent`, which escapes the path labels of REST protocols. */
const encodeLabel = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The @connections API of one endpoint (API and stage). Region and credentials come from the environment,
 * as the SDK reads them on Lambda (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).
 */
export function connectionsApi(endpoint: string, options: ConnectionsApiOptions): ConnectionsApi {
  const url = new URL(endpoint);
  const secure = url.protocol === "https:";
  const send = secure ? httpsRequest : httpRequest;
  // As the SDK's NodeHttpHandler: keep-alive, at most 50 sockets (posts beyond wait for a free one).
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 50 }) : new HttpAgent({ keepAlive: true, maxSockets: 50 });
  const basePath = url.pathname.replace(/\/+$/, "");
  const port = url.port ? Number(url.port) : undefined;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("Environment variable AWS_REGION is not set");
  const signer = new SignatureV4({ service: "execute-api", region, credentials: fromEnv(), sha256: Sha256, uriEscapePath: true });

  async function post(connectionId: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const path = `${basePath}/@connections/${encodeLabel(connectionId)}`;
    const signed = await signer.sign({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port,
      path,
      query: {},
      headers: { host: url.host, "content-type": "application/octet-stream", "content-length": String(data.byteLength) },
      body: data,
    });
    const deadline = signal ?? AbortSignal.timeout(options.requestTimeoutMs);
    if (deadline.aborted) throw abortError();
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send({ agent, protocol: url.protocol, hostname: url.hostname, port, path, method: "POST", headers: signed.headers }, resolve);
      // Errors of our own making rather than Node's, as the SDK's handler does: an AbortError whatever fired the signal.
      const abort = () => req.destroy(abortError());
      deadline.addEventListener("abort", abort, { once: true });
      req.once("close", () => deadline.removeEventListener("abort", abort));
      req.once("error", reject);
      req.once("socket", (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => req.destroy(named("TimeoutError", `no connection to ${url.host} within ${options.connectionTimeoutMs} ms`)), options.connectionTimeoutMs);
        socket.once("connect", () => clearTimeout(timer));
        req.once("close", () => clearTimeout(timer));
      });
      req.end(data);
    });
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      // Drained, so the socket goes back to the agent for the next post.
      response.resume();
      return;
    }
    throw await errorOf(response, status);
  }

  return { endpoint, post };
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });
const abortError = () => named("AbortError", "Request aborted");

/** The error of a non-2xx answer: its type from x-amzn-ErrorType (`Name:namespace` or `Name`), its message from the body. */
async function errorOf(response: IncomingMessage, status: number): Promise<ConnectionsApiError> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  let message = text;
  try {
    const body = JSON.parse(text) as { message?: unknown; Message?: unknown };
    message = String(body.message ?? body.Message ?? text);
  } catch {
    // Not JSON: the text is the message.
  }
  const header = response.headers["x-amzn-errortype"];
  const type = (Array.isArray(header) ? header[0] : header)?.split(":")[0];
  const name = type || NAME_BY_STATUS[status] || (status >= 500 ? "ServiceException" : "UnknownError");
  const requestId = response.headers["x-amzn-requestid"];
  return new ConnectionsApiError(name, message || name, status, typeof requestId === "string" ? requestId : undefined);
}
