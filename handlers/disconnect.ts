import { connectionStore } from "./lib/connection-store";
import { routeHandler } from "./lib/route-result";

/**
 * $disconnect: removes the connection item and its room memberships. API Gateway delivers this event on
 * a best-effort basis; the items' TTL cleans up after the ones it misses.
 */
export const handler = routeHandler("$disconnect", async (event) => {
  await connectionStore().removeConnection(event.requestContext.connectionId);
  return { statusCode: 200 };
});
