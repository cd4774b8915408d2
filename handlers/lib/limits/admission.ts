/**
 * What every client route checks before it reads the frame (docs/limits.md): the connection's token
 * has not expired, and the user's frame bucket holds a frame.
 */
import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { isGone } from "../aws/aws-errors";
import { managementApi } from "../aws/clients";
import { tableSettings, userRateLimit } from "../env/contract";
import { type AuthorizerContext, tokenExpiresAt, verifiedUser } from "../auth/user";
import { errorFrame, type ErrorFrame, rateLimited } from "../frames/frames";
import { dynamoDbJson } from "../store/dynamodb-json";
import { takeFrame } from "./rate-limiter";

type RoutedEvent = APIGatewayProxyWebsocketEventV2 & { readonly requestContext: { readonly authorizer?: AuthorizerContext } };

/**
 * Undefined when the frame may go on; a RATE_LIMITED frame to answer with; or "closed" when the token
 * had expired and the connection has been told and closed.
 */
export async function admitFrame(rawEvent: APIGatewayProxyWebsocketEventV2, action: string | undefined, requestId: string | undefined): Promise<ErrorFrame | "closed" | undefined> {
  const event = rawEvent as RoutedEvent;
  const { authorizer, connectionId } = event.requestContext;
  const expiresAt = tokenExpiresAt(authorizer);
  if (expiresAt !== undefined && expiresAt * 1000 <= Date.now()) {
    await closeExpired(event, action, requestId);
    return "closed";
  }
  const limit = userRateLimit();
  if (!limit) return undefined;
  // In none mode each connection is its own user.
  const userId = verifiedUser(authorizer)?.id ?? connectionId;
  const decision = await takeFrame(dynamoDbJson(), tableSettings().tableName, userId, limit, Date.now());
  return decision.allowed ? undefined : rateLimited(decision.retryAfterMs, action);
}

/**
 * TOKEN_EXPIRED as a post, then DELETE on @connections. Not as the route's reply: API Gateway sends that
 * only after the function returns, and the DELETE made inside the function would close the connection
 * first. The post is answered once API Gateway has taken the frame, so the frame precedes the close.
 */
async function closeExpired(event: RoutedEvent, action: string | undefined, requestId: string | undefined): Promise<void> {
  const { connectionId } = event.requestContext;
  const frame = errorFrame("TOKEN_EXPIRED", "Your token has expired; reconnect with a fresh one.", action);
  const api = managementApi(event.requestContext);
  try {
    await api.post(connectionId, Buffer.from(JSON.stringify(requestId === undefined ? frame : { ...frame, requestId })));
    await api.disconnect(connectionId);
  } catch (error) {
    // Already closed: nothing left to tell or close.
    if (!isGone(error)) throw error;
  }
}
