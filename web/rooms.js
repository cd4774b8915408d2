/**
 * Rooms and their members: creating, joining and leaving (a reply changes a room only when it answers the
 * room's latest create, join or leave), the members list read after each join, `presence` frames keeping it
 * current, and a `removed` frame taking the room away.
 */
import { syncTarget } from "./composer.js";
import { addInvitation, renderInvitations } from "./invitations.js";
import { notice } from "./log.js";
import { joinRefusal, removalText } from "./moderation.js";
import { rememberRooms } from "./remembered-rooms.js";
import { catchUp, forgetReads, loadEarlier } from "./room-history.js";
import { renderRoomList } from "./room-list.js";
import { userFrom } from "./render.js";
import { isOpen, pending, sendRequest, state } from "./state.js";
import { ui } from "./ui.js";

export function renderRooms() {
  renderRoomList(leaveRoom, (name) => {
    loadEarlier(name);
    renderRooms();
  });
  renderInvitations(acceptInvitation);
  rememberRooms();
}

/** Joins the room an invitation is for, and sends to it once joined. */
function acceptInvitation(name) {
  if (!isOpen()) return;
  state.selectOnJoin = name;
  joinRoom(name);
}

export function invitation(frame) {
  addInvitation(frame);
  renderRooms();
}

/** Rooms to join as soon as the connection opens (the rooms of a tab before its reload). */
export function rejoinOnOpen(rooms) {
  for (const { name, seq } of rooms) if (!state.rooms.has(name)) state.rooms.set(name, { status: "joining", truncated: false, upTo: seq });
  renderRooms();
}

/** Joins `name` (again, after a reconnect): it shows as joining until its reply. */
export function joinRoom(name) {
  const room = state.rooms.get(name) ?? { status: "joining", truncated: false };
  Object.assign(room, { status: "joining", members: undefined, membersRequest: undefined, membersError: undefined, truncated: false });
  forgetReads(room);
  state.rooms.set(name, room);
  room.request = sendRequest({ action: "join", room: name }, { kind: "join", room: name });
  if (!room.request) state.rooms.delete(name);
  renderRooms();
}

/** Creates `name` (public or private), owned by this user; the connection joins it as `created` says. */
export function createRoom(name, isPrivate) {
  const room = { status: /** @type {const} */ ("joining"), truncated: false, creating: true };
  state.rooms.set(name, room);
  room.request = sendRequest({ action: "create-room", room: name, private: isPrivate }, { kind: "create", room: name });
  if (!room.request) state.rooms.delete(name);
  renderRooms();
}

/** The room a join/leave reply is about, when that reply answers the room's latest join or leave. */
function currentRoom(request) {
  const room = state.rooms.get(request.room);
  return room && room.request === request.requestId ? room : undefined;
}

/** A `joined` or `created` reply: the room's privacy and owner, when the frame says them, are kept. */
export function roomJoined(request, frame, show) {
  const room = currentRoom(request);
  if (!room) return;
  room.status = "joined";
  room.creating = false;
  if (typeof frame.private === "boolean") room.private = frame.private;
  if (frame.owner && typeof frame.owner === "object") room.owner = userFrom(frame.owner, "");
  if (frame.type === "created") notice(`You created ${room.private ? "the private room" : "the room"} #${request.room}${room.private ? ": invite people from its entry in the rooms panel" : ""}.`, "created");
  state.invitations.delete(request.room);
  catchUp(request.room, room, frame.seq, show);
  room.membersRequest = sendRequest({ action: "members", room: request.room }, { kind: "members", room: request.room, presence: [] });
  renderRooms();
  if (state.selectOnJoin === request.room) {
    state.selectOnJoin = "";
    ui.target.value = `room:${request.room}`;
    syncTarget();
  }
}

export function joinFailed(request, code) {
  if (!currentRoom(request)) return;
  ui.roomsError.textContent = joinRefusal(code, request.room, request.kind === "create");
  state.rooms.delete(request.room);
  if (state.selectOnJoin === request.room) state.selectOnJoin = "";
  renderRooms();
}

function leaveRoom(name) {
  const room = state.rooms.get(name);
  if (!room) return;
  room.request = sendRequest({ action: "leave", room: name }, { kind: "leave", room: name });
  // While disconnected there is no membership to end: forgetting it is enough to skip the re-join.
  if (!room.request) state.rooms.delete(name);
  else room.status = "leaving";
  renderRooms();
}

export function roomLeft(request) {
  if (!currentRoom(request)) return;
  state.rooms.delete(request.room);
  renderRooms();
}

export function leaveFailed(request) {
  const room = currentRoom(request);
  if (!room) return;
  room.status = "joined";
  renderRooms();
}

/**
 * The `members` answer, with the presence frames that arrived while it was on its way applied on top: the
 * list may have been read before or after each of them, and applying a join or leave twice is harmless.
 */
export function showMembers(request, frame) {
  const room = state.rooms.get(request.room);
  if (!room || room.membersRequest !== request.requestId) return;
  room.membersRequest = undefined;
  room.members = new Map();
  for (const member of Array.isArray(frame.members) ? frame.members : []) {
    if (typeof member?.connectionId === "string") room.members.set(member.connectionId, userFrom(member.user, member.connectionId));
  }
  for (const presence of request.presence) applyPresenceTo(room, presence);
  room.truncated = frame.truncated === true;
  renderRooms();
}

export function membersFailed(request, code) {
  const room = state.rooms.get(request.room);
  if (!room || room.membersRequest !== request.requestId) return;
  room.membersRequest = undefined;
  room.membersError = code;
  renderRooms();
}

/** This connection was kicked from a room: it says so, and the room leaves the list. */
export function roomRemoved(frame) {
  if (typeof frame.room !== "string") return;
  notice(removalText(frame), "removed");
  state.rooms.delete(frame.room);
  if (state.selectOnJoin === frame.room) state.selectOnJoin = "";
  renderRooms();
}

export function applyPresence(frame) {
  if (typeof frame.room !== "string" || typeof frame.connectionId !== "string") return;
  const room = state.rooms.get(frame.room);
  if (!room) return;
  const listing = room.membersRequest && pending.get(room.membersRequest);
  if (listing) listing.presence.push(frame);
  if (room.members) applyPresenceTo(room, frame);
  renderRooms();
}

function applyPresenceTo(room, frame) {
  if (frame.event === "joined") room.members?.set(frame.connectionId, userFrom(frame.user, frame.connectionId));
  else if (frame.event === "left") room.members?.delete(frame.connectionId);
}
