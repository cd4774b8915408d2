import { connectionStore } from "./lib/connection-store";
import { routeHandler } from "./lib/route-result";

/**
 * $connect: records the connection. A non-2xx answer (the shared error policy's 500) makes API Gateway
 * reject the handshake, so no client is left connected without an item.
 */
export const handler = routeHandler("$connect", async (event) => {
  const { connectionId, connectedAt } = event.requestContext;
  await connectionStore().putConnection(connectionId, Number.isFinite(connectedAt) ? connectedAt : Date.now());
  return { statusCode: 200 };
});
