import { validateRoom } from "./lib/frames/client-frames";
import { connectionStore } from "./lib/store/connection-store";
import { announcePresence } from "./lib/fan-out/presence";
import { clientRoute } from "./lib/frames/route-result";

const ACTION = "leave";

/** leave: ends the connection's membership of a room (idempotent) and tells the room's other members. */
export const handler = clientRoute(
  ACTION,
  async ({ event, frame, connectionId, log, remainingTimeMs, charge }) => {
    const room = validateRoom(frame, ACTION);
    if (!room.ok) return room.error;
    const store = connectionStore();
    // The frame's token rides in the leave's transaction (docs/limits.md).
    const user = await store.leave(connectionId, room.value, charge.rider);
    if (user === "refused") return charge.refusal();
    if (user) {
      await announcePresence(store, { room: room.value, event: "left", connectionId, user }, { requestContext: event.requestContext, log, remainingTimeMs });
    }
    return { type: "left", room: room.value };
  },
  { tokenInTransaction: true },
);
