import { parseJsonFrame } from "./lib/client-frames";
import { reply, routeHandler } from "./lib/route-result";
import { CLIENT_ROUTES } from "./lib/routes";

const USAGE =
  'Send a JSON frame whose "action" is one of: ' +
  `${CLIENT_ROUTES.join(", ")}. For example {"action":"send-message","message":"hello!"}.`;

/**
 * $default: frames API Gateway could not route (no known `action`) get a short usage note; frames that are
 * not JSON at all, an INVALID_JSON error.
 */
export const handler = routeHandler("$default", async (event) => {
  const frame = parseJsonFrame(event);
  if (!frame.ok) return reply(frame.error);
  const { value } = frame;
  const action = typeof value === "object" && value !== null ? (value as Record<string, unknown>).action : undefined;
  const message = typeof action === "string" ? `Unknown action ${JSON.stringify(action)}. ${USAGE}` : USAGE;
  return reply({ type: "info", connectionId: event.requestContext.connectionId, routes: CLIENT_ROUTES, message });
});
