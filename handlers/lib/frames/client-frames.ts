import { errorFrame, ErrorFrame } from "./frames";

/** Limits of docs/protocol.md: what a client may send. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/**
 * The most API Gateway delivers as one message, an @connections post included ("Message payload size
 * 128 KB" in its WebSocket quotas). JSON writes a control character as six bytes, so a message within
 * MAX_MESSAGE_BYTES can still make a frame over it.
 */
export const MAX_DELIVERED_BYTES = 128 * 1024;
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/**
 * Connection ids are short (API Gateway's are 16 characters) and user ids are a token's `sub`; anything
 * much longer cannot be connected, and looking it up would only fail on DynamoDB's key size limit.
 */
const MAX_RECIPIENT_LENGTH = 256;

export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ErrorFrame };

export type ClientFrame = Readonly<Record<string, unknown>>;

/** Who a send-message goes to. */
export type Target =
  | { readonly kind: "everyone" }
  | { readonly kind: "room"; readonly room: string }
  | { readonly kind: "connection"; readonly to: string }
  | { readonly kind: "user"; readonly toUser: string };

export interface SendMessageRequest {
  readonly message: string;
  readonly target: Target;
}

interface RawBody {
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

/** The frame's JSON value, or INVALID_JSON; API Gateway base64-encodes binary frames. */
export function parseJsonFrame(event: RawBody, action?: string): Validated<unknown> {
  const text = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64").toString("utf8") : event.body ?? "";
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return rejected(errorFrame("INVALID_JSON", "The frame is not valid JSON.", action));
  }
}

export function isObject(value: unknown): value is ClientFrame {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The frame's requestId, undefined when absent, or INVALID_REQUEST_ID. */
export function validateRequestId(frame: ClientFrame, action?: string): Validated<string | undefined> {
  if (!("requestId" in frame)) return { ok: true, value: undefined };
  const { requestId } = frame;
  if (typeof requestId === "string" && REQUEST_ID_PATTERN.test(requestId)) return { ok: true, value: requestId };
  return rejected(
    errorFrame("INVALID_REQUEST_ID", '"requestId" must be 1 to 64 characters from A-Z, a-z, 0-9, "_", ".", ":" and "-".', action),
  );
}

export function validateRoom(frame: ClientFrame, action: string): Validated<string> {
  const room = frame.room;
  if (typeof room === "string" && ROOM_PATTERN.test(room)) return { ok: true, value: room };
  return rejected(
    errorFrame("INVALID_ROOM", '"room" must be 1 to 64 characters from A-Z, a-z, 0-9, "_", "." and "-".', action),
  );
}

/**
 * Everything that can be checked without reading the table, in protocol order. Whether the sender is a
 * member of the room and whether the recipient is connected are left to the handler.
 */
export function validateSendMessage(frame: ClientFrame, action: string): Validated<SendMessageRequest> {
  const { message } = frame;
  if (typeof message !== "string" || message.length === 0) {
    return rejected(errorFrame("INVALID_MESSAGE", '"message" must be a non-empty string.', action));
  }
  const bytes = Buffer.byteLength(message, "utf8");
  if (bytes > MAX_MESSAGE_BYTES) {
    return rejected(
      errorFrame("MESSAGE_TOO_LARGE", `"message" is ${bytes} bytes of UTF-8; the limit is ${MAX_MESSAGE_BYTES} bytes (32 KiB).`, action),
    );
  }
  // A present key counts even when null: "room": null names no valid room rather than "everyone".
  const given = (["room", "to", "toUser"] as const).filter((field) => field in frame);
  if (given.includes("room")) {
    const validated = validateRoom(frame, action);
    if (!validated.ok) return validated;
  }
  if (given.length > 1) {
    return rejected(errorFrame("INVALID_TARGET", 'Give at most one of "room", "to" and "toUser".', action));
  }
  switch (given[0]) {
    case "room":
      return { ok: true, value: { message, target: { kind: "room", room: frame.room as string } } };
    case "to": {
      const to = recipientId(frame.to);
      return to === undefined ? rejected(unknownRecipient(action, "to")) : { ok: true, value: { message, target: { kind: "connection", to } } };
    }
    case "toUser": {
      const toUser = recipientId(frame.toUser);
      return toUser === undefined ? rejected(unknownRecipient(action, "toUser")) : { ok: true, value: { message, target: { kind: "user", toUser } } };
    }
    default:
      return { ok: true, value: { message, target: { kind: "everyone" } } };
  }
}

function recipientId(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_RECIPIENT_LENGTH ? value : undefined;
}

/** The frame a valid message makes is more than API Gateway delivers: refused before anything is sent. */
export function frameTooLarge(bytes: number, action: string, limit: number = MAX_DELIVERED_BYTES): ErrorFrame {
  return errorFrame(
    "MESSAGE_TOO_LARGE",
    `"message" makes a ${bytes}-byte frame once written as JSON (control characters take six bytes each); the limit is ${limit} bytes.`,
    action,
  );
}

export function unknownRecipient(action: string, field: "to" | "toUser"): ErrorFrame {
  const message = field === "to" ? 'No open connection has the id given in "to".' : 'The user given in "toUser" has no open connection.';
  return errorFrame("UNKNOWN_RECIPIENT", message, action);
}

/** INVALID_REQUEST naming the field that broke its rule. */
export function invalidField(field: string, message: string, action: string): { readonly ok: false; readonly error: ErrorFrame } {
  return rejected({ ...errorFrame("INVALID_REQUEST", message, action), field });
}

/** FORBIDDEN for a private room: the same whether the room exists, and whether the user was kicked or never invited. */
export function privateRoomFrame(room: string, action: string): ErrorFrame {
  return errorFrame("FORBIDDEN", `Room "${room}" is private, or you were removed from it: ask its owner for an invitation.`, action);
}

export function notAMember(room: string, action: string): ErrorFrame {
  return errorFrame("NOT_A_MEMBER", `Join room "${room}" first.`, action);
}

function rejected(error: ErrorFrame): { readonly ok: false; readonly error: ErrorFrame } {
  return { ok: false, error };
}
