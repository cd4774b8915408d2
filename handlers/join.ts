import { parseClientFrame, validateRoom } from "./lib/client-frames";
import { connectionStore } from "./lib/connection-store";
import { reply, routeHandler } from "./lib/route-result";

const ACTION = "join";

/** join: makes the connection a member of a room (idempotent). */
export const handler = routeHandler(
  ACTION,
  async (event) => {
    const frame = parseClientFrame(event, ACTION);
    if (!frame.ok) return reply(frame.error);
    const room = validateRoom(frame.value, ACTION);
    if (!room.ok) return reply(room.error);
    await connectionStore().putMembership(event.requestContext.connectionId, room.value);
    return reply({ type: "joined", room: room.value });
  },
  ACTION
);
