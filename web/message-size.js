/**
 * How big a send-message frame is against what the server takes: a `message` of at most 32 KiB of UTF-8
 * (docs/protocol.md), in a frame of at most 32 KB, over which API Gateway closes the connection with 1009.
 * The whole JSON frame counts, so the room for the message shrinks with its target and with JSON escapes.
 */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_FRAME_BYTES = 32 * 1024;
/** The page's requestIds are shorter; counting the longest the protocol allows keeps the estimate safe. */
const LONGEST_REQUEST_ID = "x".repeat(64);

const encoder = new TextEncoder();

/**
 * `bytes`: the message's UTF-8 bytes; `limit`: the most it may have in this frame (the frame's other
 * bytes, escapes included, subtracted); `over`: whether the frame would be refused or close the connection.
 */
export function messageSize(frame) {
  const bytes = encoder.encode(frame.message).length;
  const frameBytes = encoder.encode(JSON.stringify({ ...frame, requestId: LONGEST_REQUEST_ID })).length;
  const limit = Math.min(MAX_MESSAGE_BYTES, MAX_FRAME_BYTES - (frameBytes - bytes));
  return { bytes, limit, frameBytes, over: bytes > limit };
}

/** Why a message of this size cannot be sent, in words; "" when it can. */
export function sizeProblem(size) {
  if (!size.over) return "";
  return (
    `Too long to send: ${count(size.bytes)} bytes of UTF-8; at most ${count(size.limit)} fit in one message ` +
    `(the server takes ${count(MAX_MESSAGE_BYTES)}-byte messages and closes the connection on a larger frame). ` +
    "Shorten it or send it in parts."
  );
}

export function count(n) {
  return n.toLocaleString("en-US");
}
