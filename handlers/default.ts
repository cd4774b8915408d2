import { connectionStore } from "./lib/store/connection-store";
import { clientRoute } from "./lib/frames/route-result";
import { CLIENT_ROUTES } from "./lib/frames/routes";
import { broadcastPolicy } from "./lib/env/contract";

const USAGE =
  'Send a JSON frame whose "action" is one of: ' +
  `${CLIENT_ROUTES.join(", ")}. For example {"action":"send-message","message":"hello!"}.`;

/**
 * $default: frames API Gateway could not route (no known `action`) get an info frame with who you are and
 * a short usage note and the broadcast policy; frames that are not JSON at all, an INVALID_JSON error.
 */
export const handler = clientRoute(
  undefined,
  async ({ frame, connectionId }) => {
    const { action } = frame;
    const message = typeof action === "string" ? `Unknown action ${JSON.stringify(action)}. ${USAGE}` : USAGE;
    const record = await connectionStore().connection(connectionId);
    return { type: "info", connectionId, ...(record && { user: record.user }), routes: CLIENT_ROUTES, broadcast: broadcastPolicy(), message };
  },
  { acceptAnyJson: true },
);
