import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { internalErrorFrame, ServerFrame } from "./frames";
import { LogContext, logError } from "./log";

/** What a route's function returns; with a route response, API Gateway sends `body` to the caller. */
export interface RouteResult {
  readonly statusCode: number;
  readonly body?: string;
}

export type RouteHandler = (event: APIGatewayProxyWebsocketEventV2) => Promise<RouteResult>;

/** 200 for success, 400 for a rejected frame, 500 for a server fault; the frame is sent either way. */
export function reply(frame: ServerFrame): RouteResult {
  const statusCode = frame.type !== "error" ? 200 : frame.code === "INTERNAL" ? 500 : 400;
  return { statusCode, body: JSON.stringify(frame) };
}

/**
 * Wraps a route's logic with the one error policy every handler shares: log the cause as structured
 * JSON, answer with a generic INTERNAL frame. `action` names the route in that frame for routes a
 * client selects by `action`.
 */
export function routeHandler(
  route: string,
  handle: (event: APIGatewayProxyWebsocketEventV2, log: LogContext) => Promise<RouteResult>,
  action?: string
): RouteHandler {
  return async (event) => {
    const log: LogContext = {
      route,
      connectionId: event.requestContext?.connectionId,
      requestId: event.requestContext?.requestId,
    };
    try {
      return await handle(event, log);
    } catch (error) {
      logError(log, error);
      return reply(internalErrorFrame(action));
    }
  };
}
