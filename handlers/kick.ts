import { connectionStore } from "./lib/store/connection-store";
import { forbidden, notConnected } from "./lib/frames/frames";
import { clientRoute } from "./lib/frames/route-result";
import { validateKick } from "./lib/frames/room-frames";
import { notify } from "./lib/fan-out/notify";
import { announcePresence } from "./lib/fan-out/presence";
import { moderates, roomStore } from "./lib/store/room-store";
import { logInfo } from "./lib/observability/log";
import type { User } from "./lib/auth/user";

const ACTION = "kick";

/**
 * kick: removes every connection of a user from a room (docs/moderation.md). It FIRST writes the user's
 * standing (the kick's mark, the invitation withdrawn, the room ban), THEN removes the memberships it finds
 * on the user's own list: a join racing it either committed before that list was read (and is removed) or
 * fails its check of the standing in its transaction. Only the user's connections are read, never the room's.
 */
export const handler = clientRoute(ACTION, async ({ event, frame, connectionId, log, remainingTimeMs }) => {
  const request = validateKick(frame, ACTION);
  if (!request.ok) return request.error;
  const { room, user, banSeconds } = request.value;
  const store = connectionStore();
  const { connection: me, room: record } = await store.connectionAndRoom(connectionId, room);
  if (!me) return notConnected(ACTION);
  if (!record || !moderates(record, me.user)) return forbidden(`Only the owner of room "${room}" or an admin may remove someone from it.`, ACTION);
  if (record.owner?.id === user && me.user.admin !== true) return forbidden(`Only an admin may remove the owner of room "${room}".`, ACTION);

  const bannedUntil = await roomStore().kick(room, user, banSeconds);
  logInfo(log, { moderation: "kick", by: me.user.id, room, user, ...(banSeconds !== undefined && { banSeconds }) });
  const until = bannedUntil === undefined ? undefined : new Date(bannedUntil * 1000).toISOString();

  // A user has a few connections (the per-user cap): take them all, then end their memberships together.
  const connections: string[] = [];
  for await (const connection of store.userConnections(user)) connections.push(connection.connectionId);
  const left = await Promise.all(connections.map(async (id) => ({ connectionId: id, user: await store.leave(id, room) })));
  // Only a connection whose membership this kick ended is told, and the room hears `left` once for it.
  const removed = left.filter((gone): gone is { connectionId: string; user: User } => gone.user !== undefined);

  const context = { requestContext: event.requestContext, log, remainingTimeMs };
  await Promise.all([
    notify(removed, { type: "removed", room, by: me.user, ...(until && { until }) }, context),
    ...removed.map((gone) => announcePresence(store, { room, event: "left", connectionId: gone.connectionId, user: gone.user }, context)),
  ]);
  return { type: "kicked", room, user, ...(until && { until }) };
});
