import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { privateRoomFrame, validateRoom } from "./lib/frames/client-frames";
import { connectionStore, type JoinGuard } from "./lib/store/connection-store";
import { errorFrame, forbidden, notConnected, type ReplyFrame } from "./lib/frames/frames";
import { maxRoomsPerConnection, tableSettings } from "./lib/env/contract";
import { announcePresence } from "./lib/fan-out/presence";
import { clientRoute } from "./lib/frames/route-result";
import { historyStore } from "./lib/store/history-store";
import { mayEnter, moderates, recordPut, standingCheck } from "./lib/store/room-store";
import { type AuthorizerContext, verifiedUser } from "./lib/auth/user";

const ACTION = "join";
/** A join that finds no record and loses the record's race to a create-room reads again, once or twice. */
const MAX_ATTEMPTS = 3;

/**
 * join: makes the connection a member of a room (idempotent) and tells the room's other members. A room
 * with no record gets a public one in the membership's own transaction; a private room lets in only its
 * owner, admins and invited users, and no room lets in a user banned from it or kicked after this frame was
 * received (docs/moderation.md). `joined` carries the room's latest seq, read strongly consistently AFTER the
 * membership is written: every room message with a greater seq then reaches this member live, every other
 * one is in history (docs/history.md).
 */
export const handler = clientRoute(
  ACTION,
  async ({ event, frame, connectionId, log, remainingTimeMs, charge }) => {
    const room = validateRoom(frame, ACTION);
    if (!room.ok) return room.error;
    const store = connectionStore();
    const table = tableSettings().tableName;
    const maxRooms = maxRoomsPerConnection();
    for (let attempt = 1; ; attempt += 1) {
      const state = await store.entryState(connectionId, room.value, userIdOf(event, connectionId));
      const me = state.connection;
      if (!me) return notConnected(ACTION);
      const joined = async (): Promise<ReplyFrame> => ({
        type: "joined",
        room: room.value,
        // Only once the membership is written (docs/history.md).
        seq: await historyStore().latestSeq(room.value),
        private: state.room?.private ?? false,
        ...(state.room?.owner && { owner: state.room.owner }),
      });
      if (state.member) return joined();
      const now = Date.now();
      const entry = mayEnter(state.room, state.standing, me.user, now);
      if (entry === "banned")
        return forbidden(`You are banned from room "${room.value}" until ${new Date(state.standing!.bannedUntil! * 1000).toISOString()}.`, ACTION);
      if (entry === "not-invited") return privateRoom(room.value);
      const guards: JoinGuard[] = [
        {
          item: standingCheck(table, room.value, me.user.id, {
            nowMs: now,
            receivedAtMs: receivedAt(event, now),
            invited: state.room?.private === true && !moderates(state.room, me.user),
          }),
          refusal: "forbidden",
        },
        ...(state.room
          ? []
          : [
              {
                item: recordPut(table, room.value, {
                  private: false,
                  createdAt: now,
                }),
                refusal: "room-taken" as const,
              },
            ]),
      ];
      // The frame's token rides in the join's transaction (docs/limits.md).
      const outcome = await store.join(me, room.value, {
        maxRooms,
        guards,
        notMember: true,
        rider: charge.rider,
      });
      if (outcome === "refused") return charge.refusal();
      // A create-room made the room meanwhile: read its record and decide again.
      if (outcome === "room-taken" && attempt < MAX_ATTEMPTS) continue;
      if (outcome === "room-taken" || outcome === "forbidden") return privateRoom(room.value);
      if (outcome === "not-connected") return notConnected(ACTION);
      if (outcome === "too-many-rooms") return errorFrame("TOO_MANY_ROOMS", `A connection may be in at most ${maxRooms} rooms; leave one first.`, ACTION);
      const reply = await joined();
      if (outcome === "joined") {
        await announcePresence(
          store,
          { room: room.value, event: "joined", connectionId, user: me.user },
          { requestContext: event.requestContext, log, remainingTimeMs }
        );
      }
      return reply;
    }
  },
  { tokenInTransaction: true }
);

function privateRoom(room: string): ReplyFrame {
  return privateRoomFrame(room, ACTION);
}

/** The user the standing is kept for: the token's subject, or in none mode the connection itself. */
function userIdOf(event: APIGatewayProxyWebsocketEventV2, connectionId: string): string {
  return verifiedUser((event.requestContext as { authorizer?: AuthorizerContext }).authorizer)?.id ?? connectionId;
}

/** When API Gateway received the frame: a kick after it refuses this join even while it is in flight. */
function receivedAt(event: APIGatewayProxyWebsocketEventV2, now: number): number {
  const epoch = (event.requestContext as { requestTimeEpoch?: number }).requestTimeEpoch;
  return typeof epoch === "number" && Number.isFinite(epoch) ? epoch : now;
}
