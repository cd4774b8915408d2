import { connectionStore } from "./lib/store/connection-store";
import { errorFrame, notConnected } from "./lib/frames/frames";
import { maxRoomsPerConnection, tableSettings } from "./lib/env/contract";
import { clientRoute } from "./lib/frames/route-result";
import { validateCreateRoom } from "./lib/frames/room-frames";
import { counterAbsent, recordPut } from "./lib/store/room-store";
import { logInfo } from "./lib/observability/log";
import { isTransactionConflict } from "./lib/aws/aws-errors";

const ACTION = "create-room";

/**
 * create-room: makes a room with the sender's user as its owner, and the connection its first member, in
 * one transaction with the room's record (written only if there is none) and a check that the room has
 * never had a message. So of a create-room and a first join racing, or two create-rooms, exactly one
 * makes the room: the others find its record (docs/moderation.md).
 */
export const handler = clientRoute(
  ACTION,
  async ({ frame, connectionId, log, charge }) => {
    const request = validateCreateRoom(frame, ACTION);
    if (!request.ok) return request.error;
    const { room, private: isPrivate } = request.value;
    const store = connectionStore();
    const me = await store.connection(connectionId);
    if (!me) return notConnected(ACTION);
    const exists = () => errorFrame("ROOM_EXISTS", `Room "${room}" already exists; join it, or choose another name.`, ACTION);
    // A room from before rooms had records has members and no record.
    if (await store.hasMembers(room)) return exists();
    const table = tableSettings().tableName;
    const maxRooms = maxRoomsPerConnection();
    let outcome;
    try {
      outcome = await store.join(me, room, {
        maxRooms,
        notMember: true,
        // The frame's token rides in the same transaction (docs/limits.md).
        rider: charge.rider,
        guards: [
          {
            item: recordPut(table, room, {
              private: isPrivate,
              owner: me.user,
              createdAt: Date.now(),
            }),
            refusal: "room-taken",
          },
          { item: counterAbsent(table, room), refusal: "room-taken" },
        ],
      });
    } catch (error) {
      // Still cancelled by other transactions after join's retries: when several create the room at once, one
      // of them has made it meanwhile, and the rest lost the race rather than failed.
      if (isTransactionConflict(error) && (await store.connectionAndRoom(connectionId, room)).room) return exists();
      throw error;
    }
    if (outcome === "refused") return charge.refusal();
    if (outcome === "room-taken" || outcome === "already-member") return exists();
    if (outcome === "not-connected" || outcome === "forbidden") return notConnected(ACTION);
    if (outcome === "too-many-rooms") return errorFrame("TOO_MANY_ROOMS", `A connection may be in at most ${maxRooms} rooms; leave one first.`, ACTION);
    logInfo(log, {
      moderation: "create-room",
      by: me.user.id,
      room,
      private: isPrivate,
    });
    return {
      type: "created",
      room,
      private: isPrivate,
      owner: me.user,
      seq: 0,
    };
  },
  { tokenInTransaction: true }
);
