import { connectionStore } from "./lib/store/connection-store";
import { forbidden, notConnected } from "./lib/frames/frames";
import { clientRoute } from "./lib/frames/route-result";
import { validateInvite } from "./lib/frames/room-frames";
import { notify } from "./lib/fan-out/notify";
import { moderates, roomStore } from "./lib/store/room-store";
import { logInfo } from "./lib/observability/log";

const ACTION = "invite";

/**
 * invite: lets a user into a room its owner or an admin moderates (docs/moderation.md), then tells the
 * user's online connections. The invitation is one write on the user's standing, which join checks inside
 * its own transaction; a connection that opens later finds it when it joins.
 */
export const handler = clientRoute(ACTION, async ({ event, frame, connectionId, log, remainingTimeMs }) => {
  const request = validateInvite(frame, ACTION);
  if (!request.ok) return request.error;
  const { room, user } = request.value;
  const store = connectionStore();
  const { connection: me, room: record } = await store.connectionAndRoom(connectionId, room);
  if (!me) return notConnected(ACTION);
  // The same answer whether the room exists or not: an outsider learns nothing about private rooms.
  if (!record || !moderates(record, me.user)) return forbidden(`Only the owner of room "${room}" or an admin may invite to it.`, ACTION);
  await roomStore().invite(room, user, me.user);
  logInfo(log, { moderation: "invite", by: me.user.id, room, user });
  await notify(store.userConnections(user), { type: "invitation", room, by: me.user }, { requestContext: event.requestContext, log, remainingTimeMs });
  return { type: "invited", room, user };
});
