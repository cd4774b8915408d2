/**
 * Owners and admins at work (docs/protocol.md, "Rooms"): who may moderate a room, the `invite` and `kick`
 * requests, what their replies say, and the words for a `removed` frame. The server decides: the page only
 * offers what the server would allow, and shows its refusal (FORBIDDEN) like any error.
 */
import { notice } from "./log.js";
import { displayName, userFrom } from "./render.js";
import { sendRequest, state } from "./state.js";

/** @typedef {import("./state.js").Room} Room */
/** @typedef {import("./state.js").User} User */

/** Durations "Kick + ban" may ban for, offered by each room's moderation bar. */
export const BAN_CHOICES = [
  { seconds: 600, label: "10 minutes" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 604_800, label: "7 days" },
];
export const DEFAULT_BAN_SECONDS = 3600;

/** Whether this user may invite to and kick from `room`: its owner (from `created` or `joined`), or an admin. */
export function canModerate(room) {
  const me = state.me?.user;
  if (!me) return false;
  return me.admin === true || (room.owner !== undefined && room.owner.id === me.id);
}

/** Whether this user may kick `user` from `room`: not themselves, and the owner only when an admin. */
export function canKick(room, user) {
  const me = state.me?.user;
  if (!me || user.id === me.id || !canModerate(room)) return false;
  return room.owner?.id !== user.id || me.admin === true;
}

/** Every other user in the rooms this page is in, by id: whom the invite fields offer. */
export function knownUsers() {
  /** @type {Map<string, User>} */
  const users = new Map();
  for (const room of state.rooms.values()) {
    for (const user of room.members?.values() ?? []) if (user.id !== state.me?.user?.id) users.set(user.id, user);
  }
  return users;
}

/** A user id as the page can name it: the user's name when it is in a members list, else the id. */
function nameOf(userId) {
  const user = knownUsers().get(userId);
  return user ? displayName(user) : userId;
}

export function invite(room, userId) {
  return sendRequest({ action: "invite", room, user: userId }, { kind: "invite", room, user: userId }) !== undefined;
}

export function kick(room, userId, banSeconds) {
  const frame = { action: "kick", room, user: userId, ...(banSeconds > 0 && { banSeconds }) };
  return sendRequest(frame, { kind: "kick", room, user: userId }) !== undefined;
}

export function invited(frame) {
  notice(`Invited ${nameOf(String(frame.user ?? ""))} to #${frame.room}: they can join it now.`, "invited");
}

export function kicked(frame) {
  const until = untilText(frame.until);
  notice(`Removed ${nameOf(String(frame.user ?? ""))} from #${frame.room}${until ? ` (banned from it until ${until})` : ""}.`, "kicked");
}

/** What a removed user reads: which room, who removed them, and until when they may not come back. */
export function removalText(frame) {
  const by = frame.by ? displayName(userFrom(frame.by, "")) : "a moderator";
  const until = untilText(frame.until);
  return `You were removed from #${frame.room} by ${by}${until ? ` (until ${until})` : ""}.`;
}

/** `until` as local time: ISO-8601 as the protocol says, or epoch seconds, tolerated all the same. */
function untilText(until) {
  if (typeof until !== "string" && typeof until !== "number") return "";
  const date = new Date(typeof until === "number" ? until * 1000 : until);
  return Number.isNaN(date.getTime()) ? String(until) : date.toLocaleString();
}

/** Why a `join` or `create-room` of `room` was refused, in words, by its error code ("" when it says nothing new). */
export function joinRefusal(code, room, creating) {
  if (code === "FORBIDDEN") return `#${room} is a private room: ask the owner for an invitation. (Or you were banned from it for a while.)`;
  if (code === "ROOM_EXISTS") return `#${room} exists already: join it instead (a private room needs an invitation).`;
  if (code === "UNKNOWN_ROUTE") return `This server cannot create rooms: join #${room} instead.`;
  if (code === "TOO_MANY_ROOMS") return `You are in as many rooms as one connection may be: leave one to ${creating ? "create" : "join"} #${room}.`;
  return "";
}
