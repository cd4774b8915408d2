import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { connectionStore } from "./lib/store/connection-store";
import { lifecycleRoute } from "./lib/frames/route-result";
import { authMode, maxConnectionsPerUser } from "./lib/env/contract";
import { evictDeadSeats } from "./lib/limits/evict-seats";
import { anonymousUser, AuthorizerContext, tokenExpiresAt, User, verifiedUser } from "./lib/auth/user";
import { checkName } from "./lib/auth/names";

/** The parts of a $connect event beyond what @types/aws-lambda declares for WebSocket events. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  readonly requestContext: { readonly authorizer?: AuthorizerContext };
};

/**
 * $connect: records the connection and its user. A non-2xx answer makes API Gateway refuse the handshake
 * with that status, so nothing invalid is ever stored and no client is left connected without a record.
 * In jwt mode a user holds at most MAX_CONNECTIONS_PER_USER connections: one more is refused with 429,
 * after seats of connections found gone are given back (docs/limits.md). A banned user is refused with 403
 * by the same transaction, even when the authorizer ran before the ban (docs/moderation.md).
 */
export const handler = lifecycleRoute("$connect", async (rawEvent) => {
  const event = rawEvent as ConnectEvent;
  const { connectionId, connectedAt } = event.requestContext;
  const user = userOf(event);
  if ("statusCode" in user) return user;
  const store = connectionStore();
  const expires = tokenExpiresAt(event.requestContext.authorizer);
  const record = { connectionId, connectedAt: Number.isFinite(connectedAt) ? connectedAt : Date.now(), user, ...(expires !== undefined && { tokenExpiresAt: expires }) };
  // In none mode every connection is its own user: no cap to keep.
  const jwt = authMode() === "jwt";
  const max = jwt ? maxConnectionsPerUser() : undefined;
  // Only verified users can be banned: in none mode there are no admins to ban anyone.
  const options = { checkBan: jwt };
  let outcome = await store.addConnection(record, max, options);
  if (!outcome.added && "seats" in outcome && (await evictDeadSeats(store, user.id, outcome.seats, event.requestContext)) > 0) {
    outcome = await store.addConnection(record, max, options);
  }
  if (!outcome.added && "bannedUntil" in outcome) {
    return { statusCode: 403, body: JSON.stringify({ message: `Banned until ${new Date(outcome.bannedUntil * 1000).toISOString()}` }) };
  }
  if (!outcome.added) {
    return { statusCode: 429, body: JSON.stringify({ message: `Too many connections: a user may hold at most ${max} at once` }) };
  }
  return { statusCode: 200 };
});

function userOf(event: ConnectEvent): User | { statusCode: number; body: string } {
  const verified = verifiedUser(event.requestContext.authorizer);
  if (verified) return verified;
  // Behind a JWT authorizer every connection carries its context; one without must not get in as a guest.
  if (authMode() === "jwt") return { statusCode: 401, body: JSON.stringify({ message: "Unauthorized" }) };
  const name = event.queryStringParameters?.name;
  if (name === undefined) return anonymousUser(event.requestContext.connectionId, undefined);
  // Refused before the connection opens, naming the rule: the client can fix the name and retry.
  const checked = checkName(name);
  if (!checked.ok) return { statusCode: 400, body: JSON.stringify({ message: `"name" is refused: ${checked.message}`, rule: checked.rule }) };
  return anonymousUser(event.requestContext.connectionId, checked.name);
}
