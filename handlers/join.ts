import { validateRoom } from "./lib/frames/client-frames";
import { connectionStore } from "./lib/store/connection-store";
import { errorFrame, notConnected } from "./lib/frames/frames";
import { maxRoomsPerConnection } from "./lib/env/contract";
import { announcePresence } from "./lib/fan-out/presence";
import { clientRoute } from "./lib/frames/route-result";
import { historyStore } from "./lib/store/history-store";

const ACTION = "join";

/**
 * join: makes the connection a member of a room (idempotent) and tells the room's other members. `joined`
 * carries the room's latest seq, read strongly consistently AFTER the membership is written: every room
 * message with a greater seq then reaches this member live, every other one is in history (docs/history.md).
 */
export const handler = clientRoute(
  ACTION,
  async ({ event, frame, connectionId, log, remainingTimeMs, charge }) => {
    const room = validateRoom(frame, ACTION);
    if (!room.ok) return room.error;
    const store = connectionStore();
    const me = await store.connection(connectionId);
    if (!me) return notConnected(ACTION);
    const maxRooms = maxRoomsPerConnection();
    // The frame's token rides in the join's transaction (docs/limits.md).
    const outcome = await store.join(me, room.value, maxRooms, charge.rider);
    if (outcome === "refused") return charge.refusal();
    if (outcome === "not-connected") return notConnected(ACTION);
    if (outcome === "too-many-rooms") return errorFrame("TOO_MANY_ROOMS", `A connection may be in at most ${maxRooms} rooms; leave one first.`, ACTION);
    // Only once the membership is written (docs/history.md).
    const seq = await historyStore().latestSeq(room.value);
    if (outcome === "joined") {
      await announcePresence(store, { room: room.value, event: "joined", connectionId, user: me.user }, { requestContext: event.requestContext, log, remainingTimeMs });
    }
    return { type: "joined", room: room.value, seq, private: false };
  },
  { tokenInTransaction: true },
);

