import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { connectionStore } from "./lib/store/connection-store";
import { lifecycleRoute } from "./lib/frames/route-result";
import { authMode } from "./lib/env/contract";
import { anonymousUser, AuthorizerContext, User, verifiedUser } from "./lib/auth/user";
import { checkName } from "./lib/auth/names";

/** The parts of a $connect event beyond what @types/aws-lambda declares for WebSocket events. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  readonly requestContext: { readonly authorizer?: AuthorizerContext };
};

/**
 * $connect: records the connection and its user. A non-2xx answer makes API Gateway refuse the handshake
 * with that status, so nothing invalid is ever stored and no client is left connected without a record.
 */
export const handler = lifecycleRoute("$connect", async (rawEvent) => {
  const event = rawEvent as ConnectEvent;
  const { connectionId, connectedAt } = event.requestContext;
  const user = userOf(event);
  if ("statusCode" in user) return user;
  await connectionStore().addConnection({ connectionId, connectedAt: Number.isFinite(connectedAt) ? connectedAt : Date.now(), user });
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
