/**
 * Frames from the server: replies matched to their requests by requestId, messages (each shown once, by
 * `id`), presence, invitations and removals, the `info` about this connection, and errors, each shown in
 * the log.
 */
import { directTo, settleSend } from "./composer.js";
import { appendToLog, logEntry, notice } from "./log.js";
import { renderMe } from "./me.js";
import { badge, element, shortId, timeElement, userFrom, userName } from "./render.js";
import { invited, kicked } from "./moderation.js";
import { applyPresence, invitation, joinFailed, leaveFailed, membersFailed, renderRooms, roomJoined, roomLeft, roomRemoved, showMembers } from "./rooms.js";
import { historyFailed, historyPage, placeBySeq, seqShown } from "./room-history.js";
import { pending, seenMessages, state } from "./state.js";

/** Error codes after which sending the same frame again can succeed. */
const RETRYABLE_CODES = new Set(["INTERNAL", "NOT_CONNECTED", "NOT_A_MEMBER"]);

export function handleFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    notice(`Unreadable frame from the server: ${data.slice(0, 200)}`);
    return;
  }
  if (typeof frame !== "object" || frame === null) return;
  if (frame.type === "message") return showMessage(frame);
  if (frame.type === "presence") return applyPresence(frame);
  if (frame.type === "invitation") return invitation(frame);
  if (frame.type === "removed") return roomRemoved(frame);

  // Replies: matched by requestId. One that matches nothing pending (late, duplicated, or for a connection
  // that has since dropped) changes nothing; an error is shown all the same.
  const request = pending.take(frame.requestId);
  switch (frame.type) {
    case "sent":
      if (request?.kind === "send") settleSend(request, sentOutcome(frame));
      return;
    case "joined":
      if (request?.kind === "join") roomJoined(request, frame, showMessage);
      return;
    case "created":
      if (request?.kind === "create") roomJoined(request, frame, showMessage);
      return;
    case "invited":
      if (request?.kind === "invite") invited(frame);
      return;
    case "kicked":
      if (request?.kind === "kick") kicked(frame);
      return;
    case "left":
      if (request?.kind === "leave") roomLeft(request);
      return;
    case "history":
      if (request?.kind === "history") historyPage(request, frame);
      renderRooms();
      return;
    case "members":
      if (request?.kind === "members") showMembers(request, frame);
      return;
    case "info":
      // An `info` answering a create-room means the server has no such route (an older stack); an invite
      // or kick is then told by the info's own message.
      if (request?.kind === "create") joinFailed(request, "UNKNOWN_ROUTE");
      return showInfo(frame, request);
    case "error":
      return showError(frame, request);
    default:
      // Fields and frame types may be added to the protocol; an unknown one is not an error.
      return undefined;
  }
}

/** The ack of a `sent` frame: delivered, queued (asynchronous fan-out) or incomplete, each said in words. */
function sentOutcome(frame) {
  const count = (field) => (Number.isFinite(Number(frame[field])) ? Number(frame[field]) : 0);
  const delivered = count("delivered");
  const stale = count("stale");
  const failed = count("failed");
  const queued = count("queued");
  const incomplete = frame.incomplete === true;
  const parts = [`delivered to ${delivered}`];
  if (queued > 0) parts.push(`${queued} queued`);
  if (stale > 0) parts.push(`${stale} gone`);
  if (failed > 0) parts.push(`${failed} failed`);
  if (incomplete) parts.push("not every recipient reached");
  const outcome = failed > 0 || incomplete ? "incomplete" : queued > 0 ? "queued" : "delivered";
  return {
    state: outcome,
    text: parts.join(" · "),
    retry: outcome === "incomplete",
    messageId: typeof frame.id === "string" ? frame.id : "",
    ...(Number.isSafeInteger(frame.seq) && { seq: frame.seq }),
    sentAt: typeof frame.sentAt === "string" ? frame.sentAt : "",
    counts: { delivered, stale, failed, queued },
  };
}

function showInfo(frame, request) {
  const connectionId = typeof frame.connectionId === "string" ? frame.connectionId : "";
  if (typeof frame.broadcast === "string") state.broadcast = frame.broadcast;
  if (connectionId) {
    const known = state.me?.connectionId === connectionId;
    state.me = { connectionId, user: frame.user ? userFrom(frame.user, connectionId) : state.me?.user };
    renderMe();
    renderRooms();
    if (!known) notice(`Connected as ${state.me.user?.name ?? shortId(connectionId)}.`);
  }
  // The answer to the page's own whoami is shown in the header, not in the log.
  if (request?.kind !== "whoami" && typeof frame.message === "string") notice(frame.message);
}

function showError(frame, request) {
  const code = typeof frame.code === "string" ? frame.code : "ERROR";
  const message = typeof frame.message === "string" ? frame.message : "";
  if (request?.kind === "send") settleSend(request, { state: "failed", text: `not sent: ${code}`, retry: RETRYABLE_CODES.has(code) });
  if (request?.kind === "join" || request?.kind === "create") joinFailed(request, code);
  if (request?.kind === "history") historyFailed(request);
  if (request?.kind === "leave") leaveFailed(request);
  if (request?.kind === "members") membersFailed(request, code);

  const entry = logEntry("error", "error");
  entry.dataset.code = code;
  if (typeof frame.requestId === "string") entry.dataset.requestId = frame.requestId;
  // Announced at once, unlike the rest of the log; the role goes on a child to keep the list item a list item.
  const alert = element("div");
  alert.setAttribute("role", "alert");
  const head = element("div", "meta");
  head.append(element("strong", "code", code));
  if (frame.action) head.append(element("span", "badge", String(frame.action)));
  head.append(timeElement(new Date().toISOString()));
  alert.append(head, element("p", "text", message));
  entry.append(alert);
  appendToLog(entry);
}

function showMessage(frame) {
  // Delivery is at least once: a retried send carries the same id, and it is shown once.
  const id = typeof frame.id === "string" ? frame.id : "";
  if (id) {
    if (seenMessages.has(id)) return;
    seenMessages.add(id);
  }
  const from = typeof frame.from === "string" ? frame.from : "";
  const sender = userFrom(frame.sender, from);
  const direct = typeof frame.toUser === "string" || typeof frame.to === "string";
  const entry = logEntry("message", "message");
  entry.dataset.from = from;
  entry.dataset.userId = sender.id;
  if (id) entry.dataset.messageId = id;
  if (typeof frame.room === "string") entry.dataset.room = frame.room;
  if (direct) entry.dataset.direct = "true";

  const head = element("div", "meta");
  const button = element("button", "sender");
  button.type = "button";
  button.dataset.testid = "sender";
  button.append(userName(sender));
  if (sender.id === state.me?.user?.id) button.append(element("span", "you", " (you)"));
  button.title = `${sender.name}${sender.verified ? " (verified)" : ""} · user ${sender.id} · connection ${from}\nClick to send a direct message`;
  button.setAttribute("aria-label", `From ${sender.name}${sender.verified ? ", verified" : ""}; send a direct message`);
  button.addEventListener("click", () => directTo(sender));
  head.append(button);
  if (typeof frame.room === "string") head.append(badge(`#${frame.room}`, "room"));
  else if (direct) head.append(badge("direct", "direct"));
  head.append(timeElement(typeof frame.sentAt === "string" ? frame.sentAt : ""));
  entry.append(head, element("p", "text", String(frame.message ?? "")));
  // A room's messages in seq order, whenever each arrives (live, caught up, or loaded earlier).
  if (typeof frame.room === "string" && Number.isSafeInteger(frame.seq)) {
    placeBySeq(entry, frame.room, frame.seq);
    seqShown(frame.room, frame.seq);
  } else appendToLog(entry);
}
