import { connectionStore } from "./lib/store/connection-store";
import { announcePresence } from "./lib/fan-out/presence";
import { lifecycleRoute } from "./lib/frames/route-result";
import { anonymousUser } from "./lib/auth/user";

/**
 * $disconnect: removes the connection and everything that lists it, then tells the members of each room
 * it was in. API Gateway delivers this event on a best-effort basis; items of connections it misses are
 * treated as gone once past their TTL, and are removed by the first post that finds them gone.
 */
export const handler = lifecycleRoute("$disconnect", async (event, log, remainingTimeMs) => {
  const { connectionId } = event.requestContext;
  const store = connectionStore();
  const { rooms, user = anonymousUser(connectionId, undefined) } = await store.removeConnection(connectionId);
  for (const room of rooms) {
    await announcePresence(store, { room, event: "left", connectionId, user }, { requestContext: event.requestContext, log, remainingTimeMs });
  }
  return { statusCode: 200 };
});
