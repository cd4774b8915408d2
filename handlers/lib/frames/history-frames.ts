import { invalidField as invalid, MAX_DELIVERED_BYTES, validateRoom, type ClientFrame, type Validated } from "./client-frames";

/**
 * Room of a history reply beyond its messages: `{"type":"history","room":…,"messages":[…],"hasMore":false}`
 * with the longest room and requestId is under 250 bytes; the rest is margin.
 */
export const HISTORY_ENVELOPE_BYTES = 512;
/** The messages of one history page, commas included, so the whole reply fits what API Gateway delivers. */
export const MAX_HISTORY_PAGE_BYTES = MAX_DELIVERED_BYTES - HISTORY_ENVELOPE_BYTES;
/** A room message's frame: one alone must fit a history page, or it could never be read back. */
export const MAX_ROOM_MESSAGE_BYTES = MAX_HISTORY_PAGE_BYTES;

export const DEFAULT_HISTORY_LIMIT = 50;
export const MAX_HISTORY_LIMIT = 100;

export interface HistoryRequest {
  readonly room: string;
  readonly limit: number;
  /** At most one of them; neither asks for the newest messages. */
  readonly after?: number;
  readonly before?: number;
}

/** docs/protocol.md's field rules for `history`, in order: room, after/before, limit. */
export function validateHistory(frame: ClientFrame, action: string): Validated<HistoryRequest> {
  const room = validateRoom(frame, action);
  if (!room.ok) return room;
  for (const field of ["after", "before"] as const) {
    if (field in frame && !isSeq(frame[field])) return invalid(field, `"${field}" must be an integer of at least 0.`, action);
  }
  if ("after" in frame && "before" in frame) return invalid("before", 'Give at most one of "after" and "before".', action);
  const limit = "limit" in frame ? frame.limit : DEFAULT_HISTORY_LIMIT;
  if (!(Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= MAX_HISTORY_LIMIT)) {
    return invalid("limit", `"limit" must be an integer from 1 to ${MAX_HISTORY_LIMIT}.`, action);
  }
  return {
    ok: true,
    value: {
      room: room.value,
      limit: limit as number,
      ...("after" in frame && { after: frame.after as number }),
      ...("before" in frame && { before: frame.before as number }),
    },
  };
}

/** A seq as a client may name one: a safe integer ≥ 0 (no seq is larger). */
function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
