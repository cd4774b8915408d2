import { parseClientFrame, validateRoom } from "./lib/client-frames";
import { connectionStore } from "./lib/connection-store";
import { reply, routeHandler } from "./lib/route-result";

const ACTION = "leave";

/** leave: ends the connection's membership of a room (idempotent). */
export const handler = routeHandler(
  ACTION,
  async (event) => {
    const frame = parseClientFrame(event, ACTION);
    if (!frame.ok) return reply(frame.error);
    const room = validateRoom(frame.value, ACTION);
    if (!room.ok) return reply(room.error);
    await connectionStore().deleteMembership(event.requestContext.connectionId, room.value);
    return reply({ type: "left", room: room.value });
  },
  ACTION
);
