/**
 * What every client route checks before it reads the frame (docs/limits.md): the connection's token
 * has not expired, and the user's frame bucket holds a frame. A route that makes a transaction anyway
 * (join, leave) takes the frame's token in it instead: admission then leaves the token to the route.
 */
import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { isGone } from "../aws/aws-errors";
import { managementApi } from "../aws/clients";
import { tableSettings, userRateLimit } from "../env/contract";
import { type AuthorizerContext, tokenExpiresAt, verifiedUser } from "../auth/user";
import { errorFrame, type ErrorFrame, rateLimited } from "../frames/frames";
import { dynamoDbJson } from "../store/dynamodb-json";
import type { TransactionRider } from "../store/transaction-rider";
import { FrameBucket } from "./rate-limiter";

type RoutedEvent = APIGatewayProxyWebsocketEventV2 & { readonly requestContext: { readonly authorizer?: AuthorizerContext } };

/**
 * The frame's token in its user's bucket once admission has let the frame in: already taken, or (for a
 * route that takes it in its own transaction) still to be taken, by that transaction or by `settle`.
 */
export class FrameCharge {
  constructor(
    private readonly bucket: FrameBucket | undefined,
    private readonly action: string | undefined,
  ) {}

  /** The bucket's write for the route's transaction; undefined when the limiter is off or the token is taken. */
  get rider(): TransactionRider | undefined {
    return this.bucket && !this.bucket.decision ? this.bucket.rider() : undefined;
  }

  /** RATE_LIMITED for a frame whose token the route's transaction refused (the store answered "refused"). */
  refusal(): ErrorFrame {
    const decision = this.bucket?.decision;
    if (!decision || decision.allowed) throw new Error("The frame's token was not refused.");
    return rateLimited(decision.retryAfterMs, this.action);
  }

  /**
   * The frame counts exactly once: unless a transaction took the token (or refused it), takes it now with
   * its own write. RATE_LIMITED when the frame is over the limit, undefined when it was allowed.
   */
  async settle(): Promise<ErrorFrame | undefined> {
    if (!this.bucket) return undefined;
    const decision = this.bucket.decision ?? (await this.bucket.take());
    return decision.allowed ? undefined : rateLimited(decision.retryAfterMs, this.action);
  }
}

/**
 * "closed" when the token had expired and the connection has been told and closed; a RATE_LIMITED frame
 * to answer; or the frame's charge when it may go on. With `deferToken`, the bucket is not written here:
 * the route takes the token in its own transaction (FrameCharge.rider), and clientRoute settles it after.
 */
export async function admitFrame(
  rawEvent: APIGatewayProxyWebsocketEventV2,
  action: string | undefined,
  requestId: string | undefined,
  deferToken = false,
): Promise<ErrorFrame | "closed" | FrameCharge> {
  const event = rawEvent as RoutedEvent;
  const { authorizer, connectionId } = event.requestContext;
  const expiresAt = tokenExpiresAt(authorizer);
  if (expiresAt !== undefined && expiresAt * 1000 <= Date.now()) {
    await closeExpired(event, action, requestId);
    return "closed";
  }
  const limit = userRateLimit();
  if (!limit) return new FrameCharge(undefined, action);
  // In none mode each connection is its own user.
  const userId = verifiedUser(authorizer)?.id ?? connectionId;
  const charge = new FrameCharge(new FrameBucket(dynamoDbJson(), tableSettings().tableName, userId, limit, Date.now()), action);
  if (deferToken) return charge;
  return (await charge.settle()) ?? charge;
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
