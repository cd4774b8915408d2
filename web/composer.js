/**
 * Sending: the composer (target, recipient, message box), the sender's own copy of each message in the
 * log, and how its send ended, with a Retry where sending the same frame again can help.
 */
import { appendToLog, logEntry } from "./log.js";
import { badge, element, shortId, timeElement } from "./render.js";
import { isOpen, seenMessages, sendRequest, state } from "./state.js";
import { ui } from "./ui.js";

/** Makes the next message a direct one to `user`: all their connections but this one (`toUser`). */
export function directTo(user) {
  state.direct = { userId: user.id, name: user.name };
  ui.toInput.value = user.id;
  ui.target.value = "direct";
  syncTarget();
  ui.messageInput.focus();
}

/** Shows the recipient box only for direct messages, required then, and names the recipient. */
export function syncTarget() {
  const direct = ui.target.value === "direct";
  ui.toInput.hidden = !direct;
  ui.toInput.required = direct;
  const option = ui.target.querySelector('option[value="direct"]');
  const known = state.direct && state.direct.userId === ui.toInput.value.trim();
  if (option) option.textContent = known ? `Direct to ${state.direct?.name}` : "Direct message…";
}

ui.target.addEventListener("change", () => {
  syncTarget();
  (ui.target.value === "direct" && !ui.toInput.value ? ui.toInput : ui.messageInput).focus();
});
ui.toInput.addEventListener("input", syncTarget);

ui.sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = ui.messageInput.value;
  if (!message.trim() || !isOpen()) return;
  const frame = { action: "send-message", message };
  const target = ui.target.value;
  let label = "everyone";
  if (target.startsWith("room:")) {
    frame.room = target.slice("room:".length);
    label = `#${frame.room}`;
  } else if (target === "direct") {
    frame.toUser = ui.toInput.value.trim();
    if (!frame.toUser) return void ui.toInput.reportValidity();
    label = `→ ${state.direct?.userId === frame.toUser ? state.direct.name : shortId(frame.toUser)}`;
  }
  const request = { kind: "send", frame, entry: showOwnMessage(message, label, frame) };
  const requestId = sendRequest(frame, request);
  if (requestId) request.entry.dataset.requestId = requestId;
  else settleSend(request, { state: "failed", text: "not sent: not connected", retry: true });
  ui.messageInput.value = "";
  fitMessageInput();
});

function showOwnMessage(message, label, frame) {
  const entry = logEntry("message own", "own-message");
  if (frame.room) entry.dataset.room = frame.room;
  if (frame.toUser) entry.dataset.direct = "true";
  const head = element("div", "meta");
  head.append(element("span", "sender self", "You"), badge(label, frame.room ? "room" : frame.toUser ? "direct" : "target"));
  head.append(timeElement(new Date().toISOString()));
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
ui.messageInput.addEventListener("input", fitMessageInput);

/** Grows the message box with its content, up to the CSS max-height. */
function fitMessageInput() {
  ui.messageInput.style.height = "auto";
  ui.messageInput.style.height = `${ui.messageInput.scrollHeight}px`;
}
