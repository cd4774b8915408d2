import { notAMember, privateRoomFrame, validateRoom } from "./lib/frames/client-frames";
import { connectionStore } from "./lib/store/connection-store";
import { MembersFrame, notConnected } from "./lib/frames/frames";
import { clientRoute } from "./lib/frames/route-result";

const ACTION = "members";
/** docs/protocol.md: `truncated` past 1,000 members. */
export const MAX_MEMBERS = 1000;
/**
 * API Gateway refuses a reply over 128 KB; stop listing well before, whatever the names and ids weigh.
 * The entries listed stay exact; `truncated` says there were more.
 */
const MAX_REPLY_BYTES = 120 * 1024;

/** members: the room's members with their users, for a connection that is a member itself. */
export const handler = clientRoute(ACTION, async ({ frame, connectionId }) => {
  const room = validateRoom(frame, ACTION);
  if (!room.ok) return room.error;
  const store = connectionStore();
  // The connection and its membership in one strongly consistent BatchGetItem, as send-message reads them.
  const { connection, member, room: record } = await store.connectionMembershipAndRoom(connectionId, room.value);
  if (!connection) return notConnected(ACTION);
  // A private room's outsiders learn nothing about it, not even that joining first would help.
  if (!member) return record?.private ? privateRoomFrame(room.value, ACTION) : notAMember(room.value, ACTION);

  const members: MembersFrame["members"][number][] = [];
  let bytes = 200;
  let truncated = false;
  for await (const { connectionId: id, user } of store.roomMembers(room.value)) {
    const entry = { connectionId: id, user };
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (members.length >= MAX_MEMBERS || bytes + size > MAX_REPLY_BYTES) {
      truncated = true;
      break;
    }
    members.push(entry);
    bytes += size;
  }
  return { type: "members", room: room.value, members, truncated };
});
