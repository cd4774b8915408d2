import { errorFrame, ErrorFrame } from "./frames";

/** Limits of protocol.md: what a client may send. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/**
 * Connection ids are short (API Gateway's are 16 characters); anything much longer cannot be connected,
 * and looking it up would only fail on DynamoDB's key size limit.
 */
const MAX_CONNECTION_ID_LENGTH = 128;

export type Validated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ErrorFrame };

export type ClientFrame = Readonly<Record<string, unknown>>;

/** Who a send-message goes to. */
export type Target =
  | { readonly kind: "everyone" }
  | { readonly kind: "room"; readonly room: string }
  | { readonly kind: "direct"; readonly to: string };

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

/** The frame as a JSON object, or INVALID_JSON: a route's fields can only come from an object. */
export function parseClientFrame(event: RawBody, action?: string): Validated<ClientFrame> {
  const parsed = parseJsonFrame(event, action);
  if (!parsed.ok) return parsed;
  const { value } = parsed;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return rejected(errorFrame("INVALID_JSON", "The frame must be a JSON object.", action));
  }
  return { ok: true, value: value as ClientFrame };
}

export function validateRoom(frame: ClientFrame, action: string): Validated<string> {
  const room = frame.room;
  if (typeof room === "string" && ROOM_PATTERN.test(room)) return { ok: true, value: room };
  return rejected(
    errorFrame("INVALID_ROOM", '"room" must be 1 to 64 characters from A-Z, a-z, 0-9, "_", "." and "-".', action)
  );
}

/**
 * Everything that can be checked without reading the table, in protocol order. Whether the sender is a
 * member of the room and whether `to` is connected are left to the handler.
 */
export function validateSendMessage(frame: ClientFrame, action: string): Validated<SendMessageRequest> {
  const { message } = frame;
  if (typeof message !== "string" || message.length === 0) {
    return rejected(errorFrame("INVALID_MESSAGE", '"message" must be a non-empty string.', action));
  }
  const bytes = Buffer.byteLength(message, "utf8");
  if (bytes > MAX_MESSAGE_BYTES) {
    return rejected(
      errorFrame(
        "MESSAGE_TOO_LARGE",
        `"message" is ${bytes} bytes of UTF-8; the limit is ${MAX_MESSAGE_BYTES} bytes (32 KiB).`,
        action
      )
    );
  }
  // A present key counts even when null: "room": null names no valid room rather than "everyone".
  const hasRoom = "room" in frame;
  const hasTo = "to" in frame;
  let room: string | undefined;
  if (hasRoom) {
    const validated = validateRoom(frame, action);
    if (!validated.ok) return validated;
    room = validated.value;
  }
  if (hasRoom && hasTo) {
    return rejected(errorFrame("INVALID_TARGET", 'Give at most one of "room" and "to".', action));
  }
  if (room !== undefined) return { ok: true, value: { message, target: { kind: "room", room } } };
  if (hasTo) {
    const { to } = frame;
    if (typeof to !== "string" || to.length === 0 || to.length > MAX_CONNECTION_ID_LENGTH) {
      return rejected(unknownRecipient(action));
    }
    return { ok: true, value: { message, target: { kind: "direct", to } } };
  }
  return { ok: true, value: { message, target: { kind: "everyone" } } };
}

export function unknownRecipient(action: string): ErrorFrame {
  return errorFrame("UNKNOWN_RECIPIENT", 'No open connection has the id given in "to".', action);
}

export function notAMember(room: string, action: string): ErrorFrame {
  return errorFrame("NOT_A_MEMBER", `Join room "${room}" before sending to it.`, action);
}

function rejected(error: ErrorFrame): { readonly ok: false; readonly error: ErrorFrame } {
  return { ok: false, error };
}
