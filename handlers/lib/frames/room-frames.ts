/** docs/protocol.md's field rules for the room and moderation frames: create-room, invite, kick, ban. */
import { invalidField, validateRoom, type ClientFrame, type Validated } from "./client-frames";

/** A user id as tokens (`sub`) and anonymous connection ids come. */
export const MAX_USER_ID_LENGTH = 256;
/** The longest ban, room or account: a year. */
export const MAX_BAN_SECONDS = 31_536_000;

export interface CreateRoomRequest {
  readonly room: string;
  readonly private: boolean;
}

export interface InviteRequest {
  readonly room: string;
  readonly user: string;
}

export interface KickRequest extends InviteRequest {
  readonly banSeconds?: number;
}

export interface BanRequest {
  readonly user: string;
  /** 0 lifts the ban. */
  readonly seconds: number;
}

export function validateCreateRoom(frame: ClientFrame, action: string): Validated<CreateRoomRequest> {
  const room = validateRoom(frame, action);
  if (!room.ok) return room;
  const isPrivate = "private" in frame ? frame.private : false;
  if (typeof isPrivate !== "boolean") return invalidField("private", '"private" must be true or false.', action);
  return { ok: true, value: { room: room.value, private: isPrivate } };
}

export function validateInvite(frame: ClientFrame, action: string): Validated<InviteRequest> {
  const room = validateRoom(frame, action);
  if (!room.ok) return room;
  const user = validateUser(frame, action);
  if (!user.ok) return user;
  return { ok: true, value: { room: room.value, user: user.value } };
}

export function validateKick(frame: ClientFrame, action: string): Validated<KickRequest> {
  const invite = validateInvite(frame, action);
  if (!invite.ok) return invite;
  if (!("banSeconds" in frame)) return invite;
  const banSeconds = frame.banSeconds;
  if (!isSecondsIn(banSeconds, 1)) return invalidField("banSeconds", `"banSeconds" must be an integer from 1 to ${MAX_BAN_SECONDS.toLocaleString("en")}.`, action);
  return { ok: true, value: { ...invite.value, banSeconds } };
}

export function validateBan(frame: ClientFrame, action: string): Validated<BanRequest> {
  const user = validateUser(frame, action);
  if (!user.ok) return user;
  const seconds = frame.seconds;
  if (!isSecondsIn(seconds, 0)) return invalidField("seconds", `"seconds" must be an integer from 0 (lifts the ban) to ${MAX_BAN_SECONDS.toLocaleString("en")}.`, action);
  return { ok: true, value: { user: user.value, seconds } };
}

function validateUser(frame: ClientFrame, action: string): Validated<string> {
  const user = frame.user;
  if (typeof user === "string" && user.length >= 1 && user.length <= MAX_USER_ID_LENGTH) return { ok: true, value: user };
  return invalidField("user", `"user" must be a user id of 1 to ${MAX_USER_ID_LENGTH} characters.`, action);
}

function isSecondsIn(value: unknown, min: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= MAX_BAN_SECONDS;
}
