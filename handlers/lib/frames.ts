/** The frames the server sends (protocol.md, "Server → client"); every one is a JSON object with a `type`. */

export type ErrorCode =
  | "INVALID_JSON"
  | "INVALID_MESSAGE"
  | "MESSAGE_TOO_LARGE"
  | "INVALID_ROOM"
  | "NOT_A_MEMBER"
  | "UNKNOWN_RECIPIENT"
  | "INVALID_TARGET"
  | "INTERNAL";

export interface MessageFrame {
  readonly type: "message";
  readonly message: string;
  readonly from: string;
  readonly sentAt: string;
  readonly room?: string;
  readonly to?: string;
}

export interface SentFrame {
  readonly type: "sent";
  readonly delivered: number;
  readonly stale: number;
  /** Recipients whose post failed for another reason; beyond the protocol's fields, which allows it. */
  readonly failed: number;
}

export interface RoomFrame {
  readonly type: "joined" | "left";
  readonly room: string;
}

export interface InfoFrame {
  readonly type: "info";
  readonly connectionId: string;
  readonly routes: readonly string[];
  readonly message: string;
}

export interface ErrorFrame {
  readonly type: "error";
  readonly code: ErrorCode;
  readonly message: string;
  readonly action?: string;
}

export type ServerFrame = MessageFrame | SentFrame | RoomFrame | InfoFrame | ErrorFrame;

/** The only thing a client learns about a server fault: internals stay in the logs. */
export const INTERNAL_ERROR_MESSAGE = "Internal error, please retry";

export function errorFrame(code: ErrorCode, message: string, action?: string): ErrorFrame {
  return action === undefined ? { type: "error", code, message } : { type: "error", code, message, action };
}

export function internalErrorFrame(action?: string): ErrorFrame {
  return errorFrame("INTERNAL", INTERNAL_ERROR_MESSAGE, action);
}
