/**
 * API Gateway's @connections management API for the local stage, answering the real
 * @aws-sdk/client-apigatewaymanagementapi as AWS does:
 *   POST   /<stage>/@connections/{id}  → the body as one text frame to that client (200)
 *   GET    /<stage>/@connections/{id}  → { connectedAt, identity: { sourceIp, userAgent }, lastActiveAt }
 *   DELETE /<stage>/@connections/{id}  → closes the connection, which runs $disconnect (204)
 * Every call is SigV4-verified and checked as execute-api:ManageConnections on
 * arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/@connections/<id> against the caller's
 * policies. Errors carry their name in x-amzn-ErrorType, which is where the SDK reads it: 410 GoneException
 * for a connection that is not open, 403 AccessDeniedException for a denied call, 413
 * PayloadTooLargeException, and 429 LimitExceededException beyond the account's throttle (account-throttle.ts)
 * or when failure injection says so.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import type { ConnectionRegistry, LiveConnection } from "../gateway/connections";
import { MESSAGE_LIMIT_BYTES } from "../gateway/websocket-gateway";
import { connectionsCheck, parseConnectionsPath, type ConnectionsScope } from "../iam/policy";
import { checkAccess, type IdentityRegistry } from "../iam/identities";
import { readBody } from "../http/request-body";
import { SigV4Error } from "../iam/sigv4";
import type { TokenBucket } from "./account-throttle";

export interface ManagementApiOptions {
  readonly scope: ConnectionsScope;
  readonly connections: ConnectionRegistry;
  readonly identities: IdentityRegistry;
  /** Closes a connection from the server side (the gateway's close, so $disconnect runs). */
  readonly disconnect: (connection: LiveConnection) => void;
  /** Added to every call, to make fan-out latency visible in benchmarks. @default 0 */
  readonly latencyMs?: number;
  /** Share of calls (0..1) answered 429 LimitExceededException, to exercise retries. @default 0 */
  readonly failureRate?: number;
  /** The account's API Gateway throttle every call draws from; none means unlimited. */
  readonly throttle?: TokenBucket;
  readonly log: (line: string) => void;
  /** Told about every frame posted to a client (API Gateway's MessageCount counts them). */
  readonly onPost?: () => void;
}

/** Whether a request is for a management API (`/<stage>/@connections/...`), of this stage or another. */
export function isManagementPath(url: string | undefined): boolean {
  return parseConnectionsPath(url ?? "/") !== undefined;
}

function respond(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "x-amzn-RequestId": randomUUID(),
    ...(errorType ? { "x-amzn-ErrorType": errorType } : {}),
  });
  res.end(text);
}

/** Bigger requests are refused unread: no management call comes near this. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export async function handleManagementRequest(req: IncomingMessage, res: ServerResponse, options: ManagementApiOptions): Promise<void> {
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined) return respond(res, 413, { message: "Request too large" }, "PayloadTooLargeException");
  if (options.latencyMs) await delay(options.latencyMs);
  const method = (req.method ?? "GET").toUpperCase();
  const path = parseConnectionsPath(req.url ?? "/");
  if (!path || path.stage !== options.scope.stage || !["POST", "GET", "DELETE"].includes(method)) {
    return respond(res, 403, { message: "Forbidden" }, "ForbiddenException");
  }
  // Metered as it arrives, before any work is done for it.
  if (options.throttle && !options.throttle.take()) return respond(res, 429, { message: "Too Many Requests" }, "LimitExceededException");

  let caller;
  try {
    caller = options.identities.authenticate({ method, url: req.url ?? "/", headers: req.headers, body }, "execute-api", options.scope.region);
  } catch (error) {
    if (!(error instanceof SigV4Error)) throw error;
    options.log(`@connections request refused: ${error.code}: ${error.message}`);
    // API Gateway answers every authentication failure with 403.
    return respond(res, 403, { message: error.message }, error.code);
  }

  const access = checkAccess(caller, [connectionsCheck(options.scope, method, path.connectionId)], options.log);
  if (!access.allowed) return respond(res, 403, { Message: access.message }, "AccessDeniedException");

  if (options.failureRate && Math.random() < options.failureRate) {
    return respond(res, 429, { message: "Rate exceeded" }, "LimitExceededException");
  }
  const connection = options.connections.get(path.connectionId);
  if (!connection) return respond(res, 410, { message: `Connection ${path.connectionId} is gone` }, "GoneException");

  switch (method) {
    case "POST":
      if (body.length > MESSAGE_LIMIT_BYTES) {
        return respond(res, 413, { message: `Message payload exceeds ${MESSAGE_LIMIT_BYTES} bytes` }, "PayloadTooLargeException");
      }
      // API Gateway delivers the Data as one text frame, which counts as activity for the idle timeout.
      connection.socket.send(body, { binary: false });
      connection.markActive();
      options.onPost?.();
      return respond(res, 200);
    case "GET":
      return respond(res, 200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, ...(connection.userAgent === undefined ? {} : { userAgent: connection.userAgent }) },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
    default:
      options.disconnect(connection);
      return respond(res, 204);
  }
}
