import { sign } from "aws4";
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { awsCredentials, awsRegion, type Credentials } from "../env/contract";

/**
 * One AWS endpoint called with plain Node HTTP, each request SigV4-signed by aws4 and sent on a keep-alive
 * agent. The hot-path calls (connections-api.ts, dynamodb-json.ts) use it instead of SDK clients, whose
 * per-call machinery (the middleware stack resolved for every command, endpoint rules, schema
 * serialization) costs several times the CPU of the signed request itself (bench/results.md, figure 9
 * "post-cpu"). aws4 signs as the SDK's signer does for every service but S3 (the path escaped again, the
 * same canonical headers) for a fraction of the CPU of @smithy/signature-v4, whose per-request work
 * includes an HMAC just to look up its cached signing key.
 * Region and credentials come from the environment, as the SDK reads them on Lambda (AWS_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), once per client as an SDK client resolves
 * them once: Lambda sets them for the life of the execution environment.
 */
export interface SignedHttp {
  /**
   * Signs and sends one request; resolves with the response once its headers arrived (the caller reads or
   * drains the body, so the socket goes back to the agent). Rejects with an AbortError when `signal` fires
   * first, a TimeoutError when no connection opens in time, or Node's socket error (its `code` kept).
   */
  request(request: SignedRequest): Promise<IncomingMessage>;
}

export interface SignedRequest {
  /** Posts are the hot path; GET and DELETE close or probe a connection. */
  readonly method: "POST" | "GET" | "DELETE";
  /** The path below the endpoint's own, escaped as it is to be sent. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly signal: AbortSignal;
}

export interface SignedHttpOptions {
  /** The signing name: "execute-api", "dynamodb". */
  readonly service: string;
  /** Milliseconds to open a new connection. */
  readonly connectionTimeoutMs: number;
}

export function signedHttp(endpoint: string, options: SignedHttpOptions): SignedHttp {
  const url = new URL(endpoint);
  const secure = url.protocol === "https:";
  const send = secure ? httpsRequest : httpRequest;
  const agent = keepAliveAgent(secure, url.host, options.connectionTimeoutMs);
  const basePath = url.pathname.replace(/\/+$/, "");
  const port = url.port ? Number(url.port) : undefined;
  const region = awsRegion();
  // Read at the first request, as an SDK client resolves its credentials at its first call.
  let credentials: Credentials | undefined;

  async function request({ method, path, headers, body, signal }: SignedRequest): Promise<IncomingMessage> {
    const fullPath = `${basePath}${path}`;
    // aws4 adds Host, X-Amz-Date, X-Amz-Security-Token and Authorization; the path is escaped again when
    // signing, as every service but S3 wants.
    const signed = sign(
      { service: options.service, region, method, host: url.host, path: fullPath, headers: { ...headers, "content-length": String(body.byteLength) }, body: asBuffer(body) },
      (credentials ??= awsCredentials()),
    );
    if (signal.aborted) throw abortError();
    const attempt = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = send({ agent, protocol: url.protocol, hostname: url.hostname, port, path: fullPath, method, headers: signed.headers as OutgoingHttpHeaders }, resolve);
        // Errors of our own making rather than Node's, as the SDK's handler does: an AbortError whatever fired the signal.
        const abort = () => req.destroy(abortError());
        signal.addEventListener("abort", abort, { once: true });
        req.once("close", () => signal.removeEventListener("abort", abort));
        req.once("error", (error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket })));
        req.end(body);
      });
    try {
      return await attempt();
    } catch (error) {
      // A kept-alive connection the server closed as idle just as the request went out on it: the server
      // dropped the connection rather than take the request, so one more try on a new connection is safe
      // (https://nodejs.org/api/http.html#requestreusedsocket).
      if (!isResetReusedSocket(error) || signal.aborted) throw error;
      return attempt();
    }
  }

  return { request };
}

/**
 * As the SDK's NodeHttpHandler: keep-alive, at most 50 sockets (requests beyond wait for a free one), and
 * a connection that has not opened within `connectionTimeoutMs` fails its request with a TimeoutError. The
 * timer is set where a connection is made, so the many requests on a kept-alive connection carry no
 * 'socket' listener for it: a per-request listener showed up in a post's CPU (bench/results.md, figure 9
 * "post-cpu").
 */
function keepAliveAgent(secure: boolean, host: string, connectionTimeoutMs: number): HttpAgent {
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 50 }) : new HttpAgent({ keepAlive: true, maxSockets: 50 });
  // Agent#createConnection is Node's documented hook for how an agent opens its connections.
  const open = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
  agent.createConnection = (...args: unknown[]) => {
    const socket = open(...args);
    const timer = setTimeout(() => socket.destroy(named("TimeoutError", `no connection to ${host} within ${connectionTimeoutMs} ms`)), connectionTimeoutMs);
    socket.once("connect", () => clearTimeout(timer));
    socket.once("close", () => clearTimeout(timer));
    return socket;
  };
  return agent;
}

function isResetReusedSocket(error: unknown): boolean {
  const { code, reusedSocket } = error as { code?: unknown; reusedSocket?: unknown };
  return reusedSocket === true && code === "ECONNRESET";
}

/** aws4 hashes Buffers and strings: a Uint8Array is viewed as a Buffer, not copied. */
const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** An error the service answered, shaped like the SDK's ServiceException (what aws-errors.ts sorts). */
export class AwsServiceError extends Error {
  readonly $fault: "client" | "server";
  readonly $metadata: { readonly httpStatusCode: number; readonly requestId?: string };

  constructor(name: string, message: string, statusCode: number, requestId?: string) {
    super(message);
    this.name = name;
    this.$fault = statusCode >= 500 ? "server" : "client";
    this.$metadata = { httpStatusCode: statusCode, ...(requestId ? { requestId } : {}) };
  }
}

/** The whole body of a response, as text. */
export async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The error of a non-2xx answer: its type from x-amzn-ErrorType (`Name:namespace`) or the JSON body's
 * `__type` (`namespace#Name`), its message from the body; `fallback` names it when neither does.
 */
export function serviceError(response: IncomingMessage, status: number, text: string, fallback: string): AwsServiceError {
  let message = text;
  let bodyType: string | undefined;
  try {
    const body = JSON.parse(text) as { message?: unknown; Message?: unknown; __type?: unknown };
    message = String(body.message ?? body.Message ?? text);
    if (typeof body.__type === "string") bodyType = body.__type.slice(body.__type.lastIndexOf("#") + 1);
  } catch {
    // Not JSON: the text is the message.
  }
  const header = response.headers["x-amzn-errortype"];
  const type = (Array.isArray(header) ? header[0] : header)?.split(":")[0] || bodyType;
  const name = type || fallback;
  const requestId = response.headers["x-amzn-requestid"];
  return new AwsServiceError(name, message || name, status, typeof requestId === "string" ? requestId : undefined);
}

export const named = (name: string, message: string) => Object.assign(new Error(message), { name });
export const abortError = () => named("AbortError", "Request aborted");
