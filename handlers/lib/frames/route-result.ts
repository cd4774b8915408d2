import type { APIGatewayProxyWebsocketEventV2, Context } from "aws-lambda";
import { ClientFrame, isObject, parseJsonFrame, validateRequestId, type Validated } from "./client-frames";
import { errorFrame, internalErrorFrame, ReplyFrame } from "./frames";
import { LogContext, logError } from "../observability/log";
import { admitFrame, FrameCharge } from "../limits/admission";

/** What a route's function returns; with a route response, API Gateway sends `body` to the caller. */
export interface RouteResult {
  readonly statusCode: number;
  readonly body?: string;
}

/** Lambda passes a context; tests may leave it out. */
export type RouteHandler = (event: APIGatewayProxyWebsocketEventV2, context?: LambdaContext) => Promise<RouteResult>;

/** The parts of Lambda's context the routes read. */
export type LambdaContext = Pick<Context, "getRemainingTimeInMillis"> & Partial<Pick<Context, "awsRequestId">>;

/** Everything a client route needs about the frame it is answering. */
export interface ClientRequest {
  readonly event: APIGatewayProxyWebsocketEventV2;
  readonly connectionId: string;
  /** The frame as a JSON object (`{}` for a $default frame that is JSON but not an object). */
  readonly frame: ClientFrame;
  readonly requestId?: string;
  readonly log: LogContext;
  /** Lambda's request id of the invocation (what its JSON log lines carry as `requestId`). */
  readonly awsRequestId?: string;
  /** Milliseconds before Lambda stops the function. */
  readonly remainingTimeMs: () => number;
  /**
   * The frame's token in its user's bucket. With clientRoute's `tokenInTransaction`, the route passes
   * `charge.rider` to the transaction it makes; otherwise the token is already taken.
   */
  readonly charge: FrameCharge;
}

/** 200 for success, 400 for a rejected frame, 500 for a server fault; the frame is sent either way. */
export function reply(frame: ReplyFrame, requestId?: string): RouteResult {
  const statusCode = frame.type !== "error" ? 200 : frame.code === "INTERNAL" ? 500 : 400;
  return { statusCode, body: JSON.stringify(requestId === undefined ? frame : { ...frame, requestId }) };
}

/**
 * A route a client selects with `action` (and $default): first admits the frame (limits/admission.ts: the
 * token not expired, the user's frame bucket not empty), then parses it, validates its requestId, and
 * echoes the requestId in whatever the route answers, the shared INTERNAL error included. A server fault
 * is logged as structured JSON and answered with a generic frame.
 *
 * With `tokenInTransaction`, the route takes the frame's token in the transaction it makes anyway
 * (`charge.rider`), saving the bucket's own write; whatever way the route returns without having done so
 * (a refused frame, nothing to write, a cancelled transaction), the token is taken after it, so every
 * frame counts once, and a frame over the limit is answered RATE_LIMITED.
 */
export function clientRoute(
  action: string | undefined,
  handle: (request: ClientRequest) => Promise<ReplyFrame>,
  options: { readonly acceptAnyJson?: boolean; readonly tokenInTransaction?: boolean } = {},
): RouteHandler {
  return async (event, context) => {
    const log = logContext(action ?? event.requestContext?.routeKey, event);
    const parsed = parseJsonFrame(event, action);
    // Every frame counts against the limits, a malformed one too; its requestId is echoed when it has a valid one.
    const echoed = parsed.ok && isObject(parsed.value) ? validateRequestId(parsed.value, action) : undefined;
    const echoedId = echoed?.ok ? echoed.value : undefined;
    let charge: FrameCharge;
    try {
      const admitted = await admitFrame(event, action, echoedId, options.tokenInTransaction);
      // Closed: the frame went out as a post before the close, so the route answers nothing more.
      if (admitted === "closed") return { statusCode: 401 };
      if (!(admitted instanceof FrameCharge)) return reply(admitted, echoedId);
      charge = admitted;
    } catch (error) {
      logError(log, error);
      return reply(internalErrorFrame(action), echoedId);
    }
    const answer = await answerFrame(action, handle, options, { event, context, log, parsed, charge });
    try {
      const limited = await charge.settle();
      return limited ? reply(limited, echoedId) : answer;
    } catch (error) {
      logError(log, error);
      return reply(internalErrorFrame(action), echoedId);
    }
  };
}

/** The route's answer to an admitted frame (parsed, its requestId validated), echoing its requestId. */
async function answerFrame(
  action: string | undefined,
  handle: (request: ClientRequest) => Promise<ReplyFrame>,
  options: { readonly acceptAnyJson?: boolean },
  { event, context, log, parsed, charge }: { event: APIGatewayProxyWebsocketEventV2; context?: LambdaContext; log: LogContext; parsed: Validated<unknown>; charge: FrameCharge },
): Promise<RouteResult> {
  if (!parsed.ok) return reply(parsed.error);
  if (!isObject(parsed.value) && !options.acceptAnyJson) {
    return reply(errorFrame("INVALID_JSON", "The frame must be a JSON object.", action));
  }
  const frame = isObject(parsed.value) ? parsed.value : {};
  const requestId = validateRequestId(frame, action);
  if (!requestId.ok) return reply(requestId.error);
  try {
    const answer = await handle({
      event,
      connectionId: event.requestContext.connectionId,
      frame,
      requestId: requestId.value,
      log,
      awsRequestId: context?.awsRequestId,
      remainingTimeMs: () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY,
      charge,
    });
    return reply(answer, requestId.value);
  } catch (error) {
    logError(log, error);
    return reply(internalErrorFrame(action), requestId.value);
  }
}

/**
 * $connect and $disconnect, which answer API Gateway rather than a client: the same error policy, and a
 * 500 that (on $connect) makes API Gateway refuse the handshake.
 */
export function lifecycleRoute(
  route: string,
  handle: (event: APIGatewayProxyWebsocketEventV2, log: LogContext, remainingTimeMs: () => number) => Promise<RouteResult>,
): RouteHandler {
  return async (event, context) => {
    const log = logContext(route, event);
    try {
      return await handle(event, log, () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY);
    } catch (error) {
      logError(log, error);
      return { statusCode: 500 };
    }
  };
}

function logContext(route: string, event: APIGatewayProxyWebsocketEventV2): LogContext {
  return { route, connectionId: event.requestContext?.connectionId, apiRequestId: event.requestContext?.requestId };
}
