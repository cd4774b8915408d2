/**
 * Sending: the composer (target, recipient, message box), the sender's own copy of each message in the
 * log, and how its send ended, with a Retry where sending the same frame again can help.
 */
import { appendToLog, logEntry } from "./log.js";
import { count, messageSize, sizeProblem } from "./message-size.js";
import { badge, displayName, element, shortId, timeElement } from "./render.js";
import { placeBySeq, seqShown } from "./room-history.js";
import { isOpen, seenMessages, sendRequest, state } from "./state.js";
import { ui } from "./ui.js";

/**
 * Makes the next message a direct one to `user`: all their connections but this one (`toUser`). The
 * recipient field shows their name; the id it stands for goes in the frame.
 */
export function directTo(user) {
  state.direct = { userId: user.id, name: displayName(user) };
  ui.toInput.value = state.direct.name;
  ui.target.value = "direct";
  syncTarget();
  ui.messageInput.focus();
}

/** The user the recipient field names: the one picked by a click while it shows their name, else a typed id. */
function recipient() {
  const typed = ui.toInput.value.trim();
  return state.direct && state.direct.name === typed ? state.direct : { userId: typed, name: "" };
}

/** Shows the recipient box only for direct messages, required then, and names the recipient. */
/**
 * Whether the server lets this user send to everyone: the `info` frame's broadcast policy and user.admin
 * (docs/protocol.md). Until the page knows, it offers it; the server refuses with FORBIDDEN either way.
 */
export function mayBroadcast() {
  const policy = state.broadcast;
  return policy === undefined || policy === "everyone" || (policy === "admins" && state.me?.user?.admin === true);
}

export function syncTarget() {
  const everyone = /** @type {HTMLOptionElement | null} */ (ui.target.querySelector('option[value="everyone"]'));
  if (everyone) {
    everyone.hidden = everyone.disabled = !mayBroadcast();
    if (everyone.disabled && ui.target.value === "everyone") {
      ui.target.value = [...ui.target.options].find((option) => !option.disabled)?.value ?? "direct";
    }
  }
  const direct = ui.target.value === "direct";
  ui.toInput.hidden = !direct;
  ui.toInput.required = direct;
  const option = ui.target.querySelector('option[value="direct"]');
  const { name } = recipient();
  if (option) option.textContent = name ? `Direct to ${name}` : "Direct message…";
  showSize();
}

/** The frame the composer would send now, and how its target is labelled in the log. */
function composedFrame() {
  const frame = { action: "send-message", message: ui.messageInput.value };
  const target = ui.target.value;
  let label = "everyone";
  if (target.startsWith("room:")) {
    frame.room = target.slice("room:".length);
    label = `#${frame.room}`;
  } else if (target === "direct") {
    const to = recipient();
    frame.toUser = to.userId;
    label = `→ ${to.name || shortId(to.userId)}`;
  }
  return { frame, label };
}

/** Counts the message's bytes as the user types, against what fits in the frame it would go in. */
function showSize() {
  const { frame } = composedFrame();
  const size = messageSize(frame);
  ui.messageCount.textContent = frame.message ? `${count(size.bytes)} / ${count(size.limit)} bytes` : "";
  ui.messageCount.dataset.state = size.over ? "over" : "";
  ui.messageError.textContent = sizeProblem(size);
  if (size.over) ui.messageInput.setAttribute("aria-invalid", "true");
  else ui.messageInput.removeAttribute("aria-invalid");
  // Greyed out while the message cannot be sent; connection.js reads the same state when the socket opens.
  ui.sendButton.disabled = size.over || !isOpen();
  return size;
}

ui.target.addEventListener("change", () => {
  syncTarget();
  (ui.target.value === "direct" && !ui.toInput.value ? ui.toInput : ui.messageInput).focus();
});
ui.toInput.addEventListener("input", syncTarget);

ui.sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const { frame, label } = composedFrame();
  if (!frame.message.trim() || !isOpen()) return;
  if (frame.toUser === "") return void ui.toInput.reportValidity();
  // Refused here, with the reason on screen: past the frame limit the server would close the connection.
  const size = showSize();
  if (size.over) return void ui.messageInput.focus();
  const request = { kind: "send", frame, frameBytes: size.frameBytes, entry: showOwnMessage(frame.message, label, frame) };
  const requestId = sendRequest(frame, request);
  if (requestId) request.entry.dataset.requestId = requestId;
  else settleSend(request, { state: "failed", text: "not sent: not connected", retry: true });
  ui.messageInput.value = "";
  fitMessageInput();
  showSize();
});

function showOwnMessage(message, label, frame) {
  const entry = logEntry("message own", "own-message");
  if (frame.room) entry.dataset.room = frame.room;
  if (frame.toUser) entry.dataset.direct = "true";
  const head = element("div", "meta");
  head.append(element("span", "sender self", "You"), badge(label, frame.room ? "room" : frame.toUser ? "direct" : "target"));
  // The sender's clock until the server's `sent` says when it sent the message (its sentAt).
  const time = timeElement(new Date().toISOString());
  time.dataset.clock = "local";
  head.append(time);
  const ack = element("span", "ack", "sending…");
  ack.dataset.testid = "ack";
  ack.dataset.state = "pending";
  head.append(ack);
  entry.append(head, element("p", "text", message));
  appendToLog(entry);
  return entry;
}

/**
 * Shows how a send ended. A failed or incomplete one gets a Retry button that sends the same frame with
 * the same requestId: on the same connection the server gives the retry the same message id, so whoever
 * already has it drops the copy.
 */
export function settleSend(request, outcome) {
  const entry = request.entry;
  const ack = entry.querySelector('[data-testid="ack"]');
  ack.dataset.state = outcome.state;
  ack.textContent = outcome.text;
  if (outcome.messageId) {
    entry.dataset.messageId = outcome.messageId;
    seenMessages.add(outcome.messageId);
  }
  // One time for a message, the server's, as its recipients see it.
  if (outcome.sentAt) entry.querySelector('[data-clock="local"]')?.replaceWith(timeElement(outcome.sentAt));
  // Once the room has given it its seq, the own copy takes its place in the room's order.
  if (request.frame.room && outcome.seq !== undefined && entry.dataset.seq === undefined) {
    placeBySeq(entry, request.frame.room, outcome.seq);
    seqShown(request.frame.room, outcome.seq);
  }
  for (const [field, value] of Object.entries(outcome.counts ?? {})) ack.dataset[field] = String(value);
  entry.querySelector('[data-testid="retry-button"]')?.remove();
  if (!outcome.retry) return;
  const retry = element("button", "retry quiet", "Retry");
  retry.type = "button";
  retry.dataset.testid = "retry-button";
  retry.disabled = !isOpen();
  retry.addEventListener("click", () => retrySend(request));
  ack.after(retry);
}

function retrySend(request) {
  if (!isOpen()) return;
  const requestId = sendRequest(request.frame, request, request.entry.dataset.requestId);
  if (!requestId) return;
  request.entry.dataset.requestId = requestId;
  const ack = request.entry.querySelector('[data-testid="ack"]');
  ack.dataset.state = "pending";
  ack.textContent = "sending again…";
  request.entry.querySelector('[data-testid="retry-button"]')?.remove();
}

// Enter sends; Shift+Enter (or an IME composition) inserts a newline as usual.
ui.messageInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.sendForm.requestSubmit();
  }
});
ui.messageInput.addEventListener("input", () => {
  fitMessageInput();
  showSize();
});

/** Grows the message box with its content, up to the CSS max-height. */
function fitMessageInput() {
  ui.messageInput.style.height = "auto";
  ui.messageInput.style.height = `${ui.messageInput.scrollHeight}px`;
}
