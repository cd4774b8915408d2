import { parseClientFrame, validateRoom } from "./client-frames";
import { ConnectionStore, connectionStore } from "./connection-store";
import { reply, RouteHandler, routeHandler } from "./route-result";

/**
 * The join and leave routes differ only in the change they make and the frame they answer with:
 * both validate the room first, change nothing on a rejected frame, and are idempotent.
 */
export function membershipRoute(
  action: "join" | "leave",
  replyType: "joined" | "left",
  change: (store: ConnectionStore, connectionId: string, room: string) => Promise<void>
): RouteHandler {
  return routeHandler(
    action,
    async (event) => {
      const frame = parseClientFrame(event, action);
      if (!frame.ok) return reply(frame.error);
      const room = validateRoom(frame.value, action);
      if (!room.ok) return reply(room.error);
      await change(connectionStore(), event.requestContext.connectionId, room.value);
      return reply({ type: replyType, room: room.value });
    },
    action
  );
}
