/**
 * A room's messages in `seq` order, and reading what the page has not shown from `history`
 * (docs/protocol.md, "Order, history and catch-up"; docs/web-page.md):
 * - after each `join` (reply seq J), the page reads `history` after the last seq it showed until J, while
 *   live messages above J are shown as they come;
 * - a live message above a gap reads the missing range, once the frames still on their way had a moment;
 * - "Load earlier" reads the page before the oldest message shown.
 * Every message goes through the same `show`, which drops an id already shown.
 *
 * Per room: `upTo`, every seq up to it is shown (or gone from history); `above`, seqs shown above it;
 * `oldest`, the smallest seq shown; `reading` (the seq a read after `upTo` must reach) and its request.
 */
import { insertIntoLog } from "./log.js";
import { rememberRooms } from "./remembered-rooms.js";
import { sendRequest, state } from "./state.js";
import { ui } from "./ui.js";

/** The protocol's largest page: catching up takes as few round trips as it can. */
const PAGE = 100;
/** "Load earlier" reads this many at a time. */
const EARLIER_PAGE = 30;
/** Live messages of one room may arrive out of order: a gap is read only if it is still open after this. */
const GAP_WAIT_MS = 300;

/** Puts a room message's entry in the log before the room's first entry with a greater seq. */
export function placeBySeq(entry, roomName, seq) {
  entry.dataset.seq = String(seq);
  const room = [...ui.log.querySelectorAll("[data-seq]")].filter((other) => other !== entry && other.dataset.room === roomName);
  const later = room.find((other) => Number(other.dataset.seq) > seq);
  if (later || !entry.isConnected) return insertIntoLog(entry, later);
  // Already in the log (the sender's own copy, shown when sent): it moves only if an earlier seq follows it.
  const last = room[room.length - 1];
  if (last && last.compareDocumentPosition(entry) & Node.DOCUMENT_POSITION_PRECEDING) last.after(entry);
}

/** Notes that `seq` of a room is on screen, and reads any gap below it that stays open. */
export function seqShown(roomName, seq) {
  const room = state.rooms.get(roomName);
  if (!room || !Number.isSafeInteger(seq)) return;
  if (room.oldest === undefined || seq < room.oldest) room.oldest = seq;
  if (room.upTo !== undefined && seq <= room.upTo) return;
  (room.above ??= new Set()).add(seq);
  advance(room);
  if (room.upTo !== undefined && room.above.size > 0 && !room.readRequest && !room.gapTimer) {
    room.gapTimer = setTimeout(() => {
      room.gapTimer = undefined;
      fillGap(roomName, room);
    }, GAP_WAIT_MS);
  }
}

/** After `joined` (seq J): reads history from the last seq shown up to J; a room new to the tab starts at J. */
export function catchUp(roomName, room, joinedSeq, show) {
  room.show = show;
  if (!Number.isSafeInteger(joinedSeq)) return;
  if (room.upTo === undefined || room.upTo > joinedSeq) {
    // New to this tab (older messages are a "Load earlier" away), or a numbering that started over.
    room.upTo = joinedSeq;
    advance(room);
    if (room.above?.size) fillGap(roomName, room);
    return;
  }
  readAfter(roomName, room, joinedSeq);
}

/** What a connection's reads were: their replies died with it, and the next join starts them again. */
export function forgetReads(room) {
  room.readRequest = undefined;
  room.earlierRequest = undefined;
  clearTimeout(room.gapTimer);
  room.gapTimer = undefined;
}

/** "Load earlier": the page of history just before the oldest message shown. */
export function loadEarlier(roomName) {
  const room = state.rooms.get(roomName);
  if (!room || room.status !== "joined" || room.earlierRequest || room.upTo === undefined) return;
  const before = room.oldest ?? room.upTo + 1;
  room.earlierRequest = sendRequest({ action: "history", room: roomName, before, limit: EARLIER_PAGE }, { kind: "history", room: roomName, earlier: true });
}

/** Whether "Load earlier" has something to read. */
export function hasEarlier(room) {
  return room.status === "joined" && room.upTo !== undefined && room.noEarlier !== true && (room.oldest ?? room.upTo + 1) > 1;
}

/** A `history` reply: its messages shown, then the next page of a catch-up, or the read ended. */
export function historyPage(request, frame) {
  const room = state.rooms.get(request.room);
  if (!room) return;
  const messages = Array.isArray(frame.messages) ? frame.messages.filter((message) => Number.isSafeInteger(message?.seq)) : [];
  if (request.earlier) {
    if (room.earlierRequest !== request.requestId) return;
    room.earlierRequest = undefined;
    for (const message of messages) room.show?.(message);
    if (frame.hasMore !== true) room.noEarlier = true;
    return;
  }
  if (room.readRequest !== request.requestId) return;
  room.readRequest = undefined;
  for (const message of messages) room.show?.(message);
  const last = messages.length > 0 ? messages[messages.length - 1].seq : room.reading;
  // History holds every seq up to one seen (while kept): a seq a page skipped is gone, not late.
  if (messages.length > 0 && frame.hasMore === true && last < room.reading) {
    room.upTo = Math.max(room.upTo, last);
    advance(room);
    return readAfter(request.room, room, room.reading);
  }
  room.upTo = Math.max(room.upTo, room.reading);
  advance(room);
  if (room.above?.size) fillGap(request.room, room);
}

/** A `history` request refused: the read ends; the next gap or join reads again. */
export function historyFailed(request) {
  const room = state.rooms.get(request.room);
  if (room?.readRequest === request.requestId) room.readRequest = undefined;
  if (room?.earlierRequest === request.requestId) room.earlierRequest = undefined;
}

function readAfter(roomName, room, until) {
  if (until <= room.upTo) return;
  room.reading = until;
  room.readRequest = sendRequest({ action: "history", room: roomName, after: room.upTo, limit: PAGE }, { kind: "history", room: roomName });
}

/** Reads the seqs missing below the highest one shown, if any are still missing. */
function fillGap(roomName, room) {
  if (room.readRequest || room.upTo === undefined || !room.above?.size || room.status !== "joined") return;
  readAfter(roomName, room, Math.max(...room.above) - 1);
}

/** Moves `upTo` over the seqs shown just above it, and stores it for a reload. */
function advance(room) {
  if (room.upTo === undefined) return;
  for (const seq of [...(room.above ?? [])]) if (seq <= room.upTo) room.above.delete(seq);
  while (room.above?.has(room.upTo + 1)) room.above.delete(++room.upTo);
  rememberRooms();
}
