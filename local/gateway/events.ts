/**
 * The events API Gateway sends a WebSocket route's Lambda proxy integration, field for field as on AWS
 * (APIGatewayProxyWebsocketEventV2 in @types/aws-lambda, plus the $connect and $disconnect extras).
 */
import { randomInt } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface ConnectionDetails {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
  readonly domainName: string;
  /** What the $connect authorizer allowed the connection as: every event's `requestContext.authorizer`. */
  readonly authorizer?: Readonly<Record<string, string | number | boolean>>;
}

export interface ApiDetails {
  readonly apiId: string;
  readonly stage: string;
  readonly stageVariables?: Readonly<Record<string, string>>;
}

export interface GatewayEvent {
  readonly requestContext: Record<string, unknown> & { readonly requestId: string; readonly routeKey: string };
  readonly [field: string]: unknown;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * An id shaped like API Gateway's connection, request and message ids (`L0SM9cOFvHcCIhw=`): 15 letters or
 * digits and a trailing `=`, which callers must URL-encode in @connections paths, as on AWS.
 */
export function gatewayId(): string {
  let id = "";
  for (let i = 0; i < 15; i += 1) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return `${id}=`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `$context.requestTime`'s format: `09/Apr/2020:18:03:24 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

function requestContext(
  api: ApiDetails,
  connection: ConnectionDetails,
  routeKey: string,
  eventType: "CONNECT" | "MESSAGE" | "DISCONNECT",
  extra: Record<string, unknown> = {},
): GatewayEvent["requestContext"] {
  const now = Date.now();
  return {
    routeKey,
    ...extra,
    eventType,
    extendedRequestId: gatewayId(),
    requestTime: requestTime(now),
    messageDirection: "IN",
    stage: api.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: connection.sourceIp, ...(connection.userAgent === undefined ? {} : { userAgent: connection.userAgent }) },
    requestId: gatewayId(),
    domainName: connection.domainName,
    connectionId: connection.connectionId,
    apiId: api.apiId,
    ...(connection.authorizer ? { authorizer: { ...connection.authorizer } } : {}),
  };
}

/** Header names as the client wrote them; repeated headers joined with "," in `headers`. */
function handshakeHeaders(request: IncomingMessage, connection: ConnectionDetails, port: number) {
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) (multiValueHeaders[raw[i]!] ??= []).push(raw[i + 1]!);
  // What API Gateway's load balancer adds.
  multiValueHeaders["X-Forwarded-For"] = [connection.sourceIp];
  multiValueHeaders["X-Forwarded-Port"] = [String(port)];
  multiValueHeaders["X-Forwarded-Proto"] = ["http"];
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values.join(",")]));
  return { headers, multiValueHeaders };
}

function queryParameters(request: IncomingMessage) {
  const search = new URL(request.url ?? "/", "http://localhost").searchParams;
  if ([...search.keys()].length === 0) return {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [name, value] of search) (multiValueQueryStringParameters[name] ??= []).push(value);
  const queryStringParameters = Object.fromEntries(Object.entries(multiValueQueryStringParameters).map(([name, values]) => [name, values.at(-1)!]));
  return { queryStringParameters, multiValueQueryStringParameters };
}

function stageVariables(api: ApiDetails) {
  return api.stageVariables ? { stageVariables: { ...api.stageVariables } } : {};
}

export function connectEvent(api: ApiDetails, connection: ConnectionDetails, request: IncomingMessage, port: number): GatewayEvent {
  return {
    ...handshakeHeaders(request, connection, port),
    ...queryParameters(request),
    requestContext: requestContext(api, connection, "$connect", "CONNECT"),
    ...stageVariables(api),
    isBase64Encoded: false,
  };
}

export function messageEvent(api: ApiDetails, connection: ConnectionDetails, routeKey: string, data: Buffer, isBinary: boolean): GatewayEvent {
  return {
    requestContext: requestContext(api, connection, routeKey, "MESSAGE", { messageId: gatewayId() }),
    ...stageVariables(api),
    body: isBinary ? data.toString("base64") : data.toString("utf8"),
    isBase64Encoded: isBinary,
  };
}

export function disconnectEvent(api: ApiDetails, connection: ConnectionDetails, statusCode: number, reason: string): GatewayEvent {
  const headers = { Host: connection.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    requestContext: requestContext(api, connection, "$disconnect", "DISCONNECT", { disconnectStatusCode: statusCode, disconnectReason: reason }),
    ...stageVariables(api),
    isBase64Encoded: false,
  };
}
