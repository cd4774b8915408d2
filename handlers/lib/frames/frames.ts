/** The frames the server sends (docs/protocol.md v2, "Server → client"); every one is a JSON object with a `type`. */
import type { User } from "../auth/user";
import type { BroadcastPolicy } from "../env/contract";

export type ErrorCode =
  | "INVALID_JSON"
  | "INVALID_MESSAGE"
  | "MESSAGE_TOO_LARGE"
  | "INVALID_ROOM"
  | "NOT_A_MEMBER"
  | "UNKNOWN_RECIPIENT"
  | "INVALID_TARGET"
  | "INVALID_REQUEST_ID"
  | "NOT_CONNECTED"
  | "FORBIDDEN"
  | "INVALID_REQUEST"
  | "ROOM_EXISTS"
  | "TOO_MANY_ROOMS"
  | "RATE_LIMITED"
  | "TOKEN_EXPIRED"
  | "INTERNAL";

export interface MessageFrame {
  readonly type: "message";
  /** The same for every recipient, and for every retry of the frame with the same requestId. */
  readonly id: string;
  readonly message: string;
  readonly from: string;
  readonly sender: User;
  readonly sentAt: string;
  readonly room?: string;
  /** The message's place in its room (room messages only). */
  readonly seq?: number;
  readonly to?: string;
  readonly toUser?: string;
}

export interface SentFrame {
  readonly type: "sent";
  readonly id: string;
  /** The recipients' `sentAt`, so the sender shows the same time as they do. */
  readonly sentAt: string;
  /** The room message's seq (room messages only). */
  readonly seq?: number;
  readonly delivered: number;
  readonly stale: number;
  readonly failed: number;
  readonly incomplete: boolean;
  /** Recipients handed to asynchronous fan-out, when used. */
  readonly queued?: number;
}

export interface RoomFrame {
  readonly type: "joined" | "left";
  readonly room: string;
  /** joined: the room's latest seq once the membership took effect (docs/history.md). */
  readonly seq?: number;
  /** joined: whether the room is private. */
  readonly private?: boolean;
  /** joined: the room's owner, when it has one (a room made by create-room). */
  readonly owner?: User;
}

/** Your create-room took effect: the room exists with you as its owner, and this connection is a member. */
export interface CreatedFrame {
  readonly type: "created";
  readonly room: string;
  readonly private: boolean;
  readonly owner: User;
  readonly seq: number;
}

/** Your invite, kick or ban took effect. */
export interface ModeratedFrame {
  readonly type: "invited" | "kicked" | "banned";
  /** invite, kick. */
  readonly room?: string;
  /** The id of the user acted on. */
  readonly user: string;
  /** kick with banSeconds, ban: when the ban ends (ISO-8601). */
  readonly until?: string;
}

/** Sent to each online connection of a user invited to a private room. */
export interface InvitationFrame {
  readonly type: "invitation";
  readonly room: string;
  readonly by: User;
}

/** Sent to each connection removed from a room by a kick. */
export interface RemovedFrame {
  readonly type: "removed";
  readonly room: string;
  readonly by: User;
  /** When the ban from the room ends (ISO-8601), for a kick with banSeconds. */
  readonly until?: string;
}

export interface HistoryFrame {
  readonly type: "history";
  readonly room: string;
  /** `message` frames as delivered, ascending seq. */
  readonly messages: readonly MessageFrame[];
  readonly hasMore: boolean;
}

export interface PresenceFrame {
  readonly type: "presence";
  readonly room: string;
  readonly event: "joined" | "left";
  readonly connectionId: string;
  readonly user: User;
}

export interface MembersFrame {
  readonly type: "members";
  readonly room: string;
  readonly members: ReadonlyArray<{ readonly connectionId: string; readonly user: User }>;
  readonly truncated: boolean;
}

export interface InfoFrame {
  readonly type: "info";
  readonly connectionId: string;
  readonly user?: User;
  readonly routes: readonly string[];
  /** Who may send to everyone (the stack's CHAT_BROADCAST), so a page offers it only to those allowed. */
  readonly broadcast: BroadcastPolicy;
  readonly message: string;
}

export interface ErrorFrame {
  readonly type: "error";
  readonly code: ErrorCode;
  readonly message: string;
  readonly action?: string;
  /** INVALID_REQUEST: the field that broke its rule. */
  readonly field?: string;
  /** RATE_LIMITED: milliseconds until trying again may succeed (the user's next frame, or a busy room). */
  readonly retryAfterMs?: number;
}

/** Frames that answer a client's frame; they echo its requestId. */
export type ReplyFrame = SentFrame | RoomFrame | CreatedFrame | ModeratedFrame | MembersFrame | HistoryFrame | InfoFrame | ErrorFrame;

/** The only thing a client learns about a server fault: internals stay in the logs. */
export const INTERNAL_ERROR_MESSAGE = "Internal error, please retry";

export function errorFrame(code: ErrorCode, message: string, action?: string): ErrorFrame {
  return action === undefined ? { type: "error", code, message } : { type: "error", code, message, action };
}

export function internalErrorFrame(action?: string): ErrorFrame {
  return errorFrame("INTERNAL", INTERNAL_ERROR_MESSAGE, action);
}

export function notConnected(action?: string): ErrorFrame {
  return errorFrame("NOT_CONNECTED", "This connection is closing or closed; reconnect and try again.", action);
}

export function forbidden(message: string, action?: string): ErrorFrame {
  return errorFrame("FORBIDDEN", message, action);
}

export function rateLimited(retryAfterMs: number, action?: string): ErrorFrame {
  return { ...errorFrame("RATE_LIMITED", `Too many frames; wait ${retryAfterMs} ms before sending again.`, action), retryAfterMs };
}
