import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";

export interface EventOptions {
  readonly routeKey: string;
  readonly connectionId: string;
  /** An object is sent as its JSON; a string as is (for frames that are not JSON). */
  readonly body?: unknown;
  readonly eventType?: "CONNECT" | "MESSAGE" | "DISCONNECT";
  readonly connectedAt?: number;
  readonly stage?: string;
  /** What a REQUEST authorizer returned as `context` (plus `principalId`), as API Gateway passes it on. */
  readonly authorizer?: Record<string, unknown>;
  /** $connect's query string. */
  readonly query?: Record<string, string>;
}

let requests = 0;

/** An event shaped like the ones API Gateway sends a WebSocket route's function. */
export function websocketEvent(options: EventOptions): APIGatewayProxyWebsocketEventV2 {
  requests += 1;
  const now = Date.now();
  const body =
    options.body === undefined || typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  return {
    requestContext: {
      routeKey: options.routeKey,
      messageId: `message-${requests}`,
      eventType: options.eventType ?? "MESSAGE",
      extendedRequestId: `extended-${requests}`,
      requestTime: new Date(now).toUTCString(),
      messageDirection: "IN",
      stage: options.stage ?? "prod",
      connectedAt: options.connectedAt ?? now - 1000,
      requestTimeEpoch: now,
      requestId: `request-${requests}`,
      domainName: "abc123.execute-api.us-east-1.amazonaws.com",
      connectionId: options.connectionId,
      apiId: "abc123",
      ...(options.authorizer && { authorizer: options.authorizer }),
    },
    ...(options.query && { queryStringParameters: options.query }),
    ...(body !== undefined && { body }),
    isBase64Encoded: false,
  };
}

export function connectEvent(
  connectionId: string,
  options: Pick<EventOptions, "connectedAt" | "authorizer" | "query"> = {},
): APIGatewayProxyWebsocketEventV2 {
  return websocketEvent({ routeKey: "$connect", connectionId, eventType: "CONNECT", ...options });
}

export function disconnectEvent(connectionId: string): APIGatewayProxyWebsocketEventV2 {
  return websocketEvent({ routeKey: "$disconnect", connectionId, eventType: "DISCONNECT" });
}

/** A frame from a client; the route is the frame's `action`, as API Gateway selects it. */
export function frameEvent(connectionId: string, frame: Record<string, unknown>): APIGatewayProxyWebsocketEventV2 {
  return websocketEvent({ routeKey: String(frame.action), connectionId, body: frame });
}

/** The reply frame in a handler's result. */
export function replyFrame(result: { body?: string }): Record<string, unknown> {
  if (result.body === undefined) throw new Error("the handler replied without a body");
  return JSON.parse(result.body) as Record<string, unknown>;
}
