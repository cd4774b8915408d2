import { notAMember, privateRoomFrame } from "./lib/frames/client-frames";
import { connectionStore } from "./lib/store/connection-store";
import { HistoryFrame, MessageFrame, notConnected } from "./lib/frames/frames";
import { clientRoute } from "./lib/frames/route-result";
import { MAX_HISTORY_PAGE_BYTES, validateHistory } from "./lib/frames/history-frames";
import { historyStore } from "./lib/store/history-store";

const ACTION = "history";

/**
 * history: a page of a room's stored messages for a connection that is a member, read strongly
 * consistently, so every seq a client has seen (in `joined`, `sent` or a message) is in it while kept.
 */
export const handler = clientRoute(ACTION, async ({ frame, connectionId }) => {
  const request = validateHistory(frame, ACTION);
  if (!request.ok) return request.error;
  const { room, limit, after, before } = request.value;
  // The connection and its membership in one strongly consistent BatchGetItem, as members does.
  const { connection, member, room: record } = await connectionStore().connectionMembershipAndRoom(connectionId, room);
  if (!connection) return notConnected(ACTION);
  // A private room's outsiders learn nothing about it, not even that joining first would help.
  if (!member) return record?.private ? privateRoomFrame(room, ACTION) : notAMember(room, ACTION);

  const page = await historyStore().page(
    room,
    after !== undefined ? { after, limit, maxBytes: MAX_HISTORY_PAGE_BYTES } : { ...(before !== undefined && { before }), limit, maxBytes: MAX_HISTORY_PAGE_BYTES },
  );
  const reply: HistoryFrame = {
    type: "history",
    room,
    messages: page.messages.map((stored) => JSON.parse(stored.frame) as MessageFrame),
    hasMore: page.hasMore,
  };
  return reply;
});
