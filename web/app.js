/**
 * The chat page: speaks the chat's JSON protocol (send-message, join, leave; message, sent, joined, left, info,
 * error frames) over one WebSocket that reconnects after a drop.
 * Everything the server or another user sends is rendered with textContent, never as HTML.
 */
import { ReconnectingSocket } from "./reconnecting-socket.js";

/** Entries kept in the log; older ones are dropped so a long session does not grow without bound. */
const MAX_LOG_ENTRIES = 500;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  status: $("status"),
  statusText: $("status-text"),
  myId: $("my-id"),
  joinForm: /** @type {HTMLFormElement} */ ($("join-form")),
  roomInput: /** @type {HTMLInputElement} */ ($("room-input")),
  roomsList: $("rooms-list"),
  roomsEmpty: $("rooms-empty"),
  log: $("log"),
  sendForm: /** @type {HTMLFormElement} */ ($("send-form")),
  target: /** @type {HTMLSelectElement} */ ($("target")),
  toInput: /** @type {HTMLInputElement} */ ($("to-input")),
  messageInput: /** @type {HTMLTextAreaElement} */ ($("message-input")),
  sendButton: /** @type {HTMLButtonElement} */ ($("send-button")),
  joinButton: /** @type {HTMLButtonElement} */ ($("join-button")),
};

const state = {
  /** This connection's id, learned from an `info` frame; it changes on every reconnect. */
  myId: "",
  /**
   * Room → "joined" | "joining": the rooms this page is in. Membership belongs to a connection, so after a
   * reconnect each is joined again, and is "joining" until the server confirms.
   */
  rooms: new Map(),
  /**
   * Acks of own messages awaiting their `sent` (or `error`) frame. Frames carry no request id, so they are
   * matched first in, first out.
   */
  pendingSends: [],
  /** `whoami` frames sent whose `info` answer has not arrived: those answers are not shown as notices. */
  pendingWhoami: 0,
  /** A room joined from the form becomes the send target once the server confirms it. */
  selectOnJoin: "",
};

/** @type {ReconnectingSocket | undefined} */
let socket;

/**
 * The WebSocket URL: `?ws=` (a full ws:// or wss:// URL, e.g. a deployed API), else this page's host and
 * the stage from `?stage=`, `<meta name="chat-stage">` or "prod".
 */
function chatUrl() {
  const params = new URLSearchParams(location.search);
  const explicit = params.get("ws");
  if (explicit) {
    try {
      const url = new URL(explicit);
      if (url.protocol === "ws:" || url.protocol === "wss:") return url.href;
    } catch {
      // Falls through to the error below.
    }
    throw new Error(`?ws= must be a ws:// or wss:// URL, got ${JSON.stringify(explicit)}`);
  }
  if (!location.host) throw new Error("Open this page from the chat server, or give ?ws=wss://<api>/<stage>");
  const stage =
    params.get("stage") || document.querySelector('meta[name="chat-stage"]')?.getAttribute("content") || "prod";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/${encodeURIComponent(stage)}`;
}

// ---------------------------------------------------------------------------------------------------
// Connection

function handleOpen() {
  sendFrame({ action: "whoami" });
  state.pendingWhoami += 1;
  for (const room of state.rooms.keys()) {
    state.rooms.set(room, "joining");
    sendFrame({ action: "join", room });
  }
  renderRooms();
}

let previousConnection = "connecting";

function showConnectionState(connection, detail) {
  const text = {
    connecting: "Connecting…",
    open: "Connected",
    reconnecting: detail.delayMs === undefined ? "Reconnecting…" : `Reconnecting in ${seconds(detail.delayMs)}…`,
    closed: "Disconnected",
  }[connection];
  ui.status.dataset.state = connection;
  ui.statusText.textContent = text;
  const open = connection === "open";
  ui.sendButton.disabled = !open;
  ui.joinButton.disabled = !open;
  if (connection === "reconnecting") {
    // The old connection's id and pending sends died with it.
    state.myId = "";
    state.pendingWhoami = 0;
    ui.myId.textContent = "…";
    for (const pending of state.pendingSends.splice(0)) settleSend(pending, "failed", "connection lost");
    if (previousConnection === "open") notice(`Connection lost; reconnecting in ${seconds(detail.delayMs)}.`);
  }
  previousConnection = connection;
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sendFrame(frame) {
  return socket?.send(JSON.stringify(frame)) ?? false;
}

// ---------------------------------------------------------------------------------------------------
// Frames from the server

function handleFrame(data) {
  let frame;
  try {
    frame = JSON.parse(data);
  } catch {
    notice(`Unreadable frame from the server: ${data.slice(0, 200)}`);
    return;
  }
  if (typeof frame !== "object" || frame === null) return;
  switch (frame.type) {
    case "message":
      return showMessage(frame);
    case "sent":
      return settleSend(state.pendingSends.shift(), "sent", deliveredText(frame));
    case "joined":
      return roomJoined(String(frame.room));
    case "left":
      return roomLeft(String(frame.room));
    case "info":
      return showInfo(frame);
    case "error":
      return showError(frame);
    default:
      // Fields and frame types may be added to the protocol; an unknown one is not an error.
      return undefined;
  }
}

function deliveredText(frame) {
  const delivered = Number(frame.delivered) || 0;
  let text = `delivered to ${delivered}`;
  if (Number(frame.stale) > 0) text += ` · ${Number(frame.stale)} gone`;
  if (Number(frame.failed) > 0) text += ` · ${Number(frame.failed)} failed`;
  return text;
}

function showInfo(frame) {
  const id = typeof frame.connectionId === "string" ? frame.connectionId : "";
  if (id && id !== state.myId) {
    state.myId = id;
    ui.myId.textContent = id;
    ui.myId.title = "Your connection id";
    notice(`Connected as ${id}.`);
  }
  if (state.pendingWhoami > 0) {
    state.pendingWhoami -= 1;
    return;
  }
  if (typeof frame.message === "string") notice(frame.message);
}

function showError(frame) {
  const code = typeof frame.code === "string" ? frame.code : "ERROR";
  const message = typeof frame.message === "string" ? frame.message : "";
  if (frame.action === "send-message") settleSend(state.pendingSends.shift(), "failed", `not sent: ${code}`);

  const entry = logEntry("error", "error");
  entry.dataset.code = code;
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
  const from = typeof frame.from === "string" ? frame.from : "";
  const entry = logEntry("message", "message");
  entry.dataset.from = from;
  if (typeof frame.room === "string") entry.dataset.room = frame.room;
  if (typeof frame.to === "string") entry.dataset.direct = "true";

  const head = element("div", "meta");
  const sender = element("button", "sender", shortId(from));
  sender.type = "button";
  sender.dataset.testid = "sender";
  sender.title = `${from} — click to send a direct message`;
  sender.setAttribute("aria-label", `From ${from}; send a direct message`);
  sender.addEventListener("click", () => directTo(from));
  head.append(sender);
  if (typeof frame.room === "string") head.append(badge(`#${frame.room}`, "room"));
  else if (typeof frame.to === "string") head.append(badge("direct", "direct"));
  head.append(timeElement(typeof frame.sentAt === "string" ? frame.sentAt : ""));
  entry.append(head, element("p", "text", String(frame.message ?? "")));
  appendToLog(entry);
}

// ---------------------------------------------------------------------------------------------------
// Rooms

function roomJoined(room) {
  state.rooms.set(room, "joined");
  renderRooms();
  if (state.selectOnJoin === room) {
    state.selectOnJoin = "";
    ui.target.value = `room:${room}`;
    syncTarget();
  }
}

function roomLeft(room) {
  state.rooms.delete(room);
  renderRooms();
}

function renderRooms() {
  const rooms = [...state.rooms.keys()].sort();
  ui.roomsList.replaceChildren(
    ...rooms.map((room) => {
      const item = element("li", "room");
      item.dataset.room = room;
      item.dataset.state = state.rooms.get(room);
      item.dataset.testid = "room";
      const leave = element("button", "leave", "Leave");
      leave.type = "button";
      leave.dataset.testid = "leave-button";
      leave.setAttribute("aria-label", `Leave ${room}`);
      leave.addEventListener("click", () => leaveRoom(room));
      item.append(element("span", "room-name", `#${room}`));
      if (state.rooms.get(room) === "joining") item.append(element("span", "room-state", "rejoining…"));
      item.append(leave);
      return item;
    }),
  );
  ui.roomsEmpty.hidden = rooms.length > 0;

  // Keep the target list in step: Everyone, each joined room, Direct.
  const selected = ui.target.value;
  for (const option of [...ui.target.options]) if (option.value.startsWith("room:")) option.remove();
  const direct = ui.target.querySelector('option[value="direct"]');
  for (const room of rooms) {
    const option = element("option", "", `Room #${room}`);
    option.value = `room:${room}`;
    ui.target.insertBefore(option, direct);
  }
  ui.target.value = [...ui.target.options].some((option) => option.value === selected) ? selected : "everyone";
  syncTarget();
}

function leaveRoom(room) {
  // While disconnected there is no membership to end: forgetting it is enough to skip the re-join.
  if (!sendFrame({ action: "leave", room })) roomLeft(room);
}

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const room = ui.roomInput.value.trim();
  if (!room) return;
  if (sendFrame({ action: "join", room })) {
    state.selectOnJoin = room;
    ui.roomInput.value = "";
  }
});

// ---------------------------------------------------------------------------------------------------
// Sending

function directTo(connectionId) {
  ui.target.value = "direct";
  ui.toInput.value = connectionId;
  syncTarget();
  ui.messageInput.focus();
}

/** Shows the recipient box only for direct messages, and makes it required then. */
function syncTarget() {
  const direct = ui.target.value === "direct";
  ui.toInput.hidden = !direct;
  ui.toInput.required = direct;
}

ui.target.addEventListener("change", () => {
  syncTarget();
  (ui.target.value === "direct" && !ui.toInput.value ? ui.toInput : ui.messageInput).focus();
});

ui.sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = ui.messageInput.value;
  if (!message.trim() || !socket?.isOpen) return;
  const frame = { action: "send-message", message };
  const target = ui.target.value;
  let label = "everyone";
  if (target.startsWith("room:")) {
    frame.room = target.slice("room:".length);
    label = `#${frame.room}`;
  } else if (target === "direct") {
    frame.to = ui.toInput.value.trim();
    if (!frame.to) return void ui.toInput.reportValidity();
    label = `→ ${shortId(frame.to)}`;
  }
  if (!sendFrame(frame)) return;
  state.pendingSends.push(showOwnMessage(message, label, frame.room));
  ui.messageInput.value = "";
  fitMessageInput();
});

function showOwnMessage(message, label, room) {
  const entry = logEntry("message own", "own-message");
  if (room) entry.dataset.room = room;
  const head = element("div", "meta");
  head.append(element("span", "sender self", "You"), badge(label, room ? "room" : "target"));
  head.append(timeElement(new Date().toISOString()));
  const ack = element("span", "ack", "sending…");
  ack.dataset.testid = "ack";
  ack.dataset.state = "pending";
  head.append(ack);
  entry.append(head, element("p", "text", message));
  appendToLog(entry);
  return ack;
}

function settleSend(ack, outcome, text) {
  if (!ack) return;
  ack.dataset.state = outcome;
  ack.textContent = text;
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

// ---------------------------------------------------------------------------------------------------
// Log rendering: text only, through textContent

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function badge(text, kind) {
  const node = element("span", `badge ${kind}`, text);
  node.dataset.testid = `badge-${kind}`;
  return node;
}

function logEntry(className, testid) {
  const entry = element("li", `entry ${className}`);
  entry.dataset.testid = testid;
  return entry;
}

/** A <time> in local time; the full date and time zone are in its tooltip. */
function timeElement(iso) {
  const date = new Date(iso);
  const node = element("time", "time");
  if (Number.isNaN(date.getTime())) {
    node.textContent = iso;
    return node;
  }
  node.dateTime = date.toISOString();
  node.dataset.testid = "time";
  node.textContent = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  node.title = date.toString();
  return node;
}

/** Connection ids are long and random; the first characters tell senders apart well enough. */
function shortId(id) {
  return id.length > 8 ? `${id.slice(0, 8)}…` : id || "unknown";
}

function notice(text) {
  const entry = logEntry("notice", "notice");
  entry.textContent = text;
  appendToLog(entry);
}

function appendToLog(entry) {
  const log = ui.log;
  // Follow new entries only when the reader is already at the bottom, not while they scroll back.
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(entry);
  while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild?.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

// ---------------------------------------------------------------------------------------------------

function start() {
  syncTarget();
  renderRooms();
  let url;
  try {
    url = chatUrl();
  } catch (error) {
    showConnectionState("closed", {});
    ui.statusText.textContent = "Not connected";
    notice(error instanceof Error ? error.message : String(error));
    return;
  }
  socket = new ReconnectingSocket(url, { onOpen: handleOpen, onMessage: handleFrame, onState: showConnectionState });
  socket.start();
}

start();
