/**
 * The chat page: signs in (a display name, a token from the local issuer, or a token in the page's
 * address), then speaks protocol v2 (shared/protocol.md) over one WebSocket that reconnects after a drop.
 * Every frame it sends carries a fresh requestId and replies are matched by it; messages already shown
 * (by `id`) are dropped; rooms show their members, kept current by `presence` frames.
 * Everything the server or another user sends is rendered with textContent, never as HTML.
 */
import { ReconnectingSocket } from "./reconnecting-socket.js";
import { badge, element, shortId, timeElement, userFrom, userName } from "./render.js";
import { PendingRequests, RecentIds } from "./requests.js";
import {
  chatUrl,
  findLocalIssuer,
  nameProblem,
  rememberedName,
  SignInError,
  tokenExpiry,
  tokenFromIssuer,
  withQuery,
} from "./sign-in.js";

/** Entries kept in the log; older ones are dropped so a long session does not grow without bound. */
const MAX_LOG_ENTRIES = 500;
/** Message ids remembered to drop redelivered messages: more than the log holds, bounded all the same. */
const MAX_SEEN_MESSAGES = 1000;
/** Handshakes that may fail before the first connection opens before the page calls it refused. */
const ATTEMPTS_BEFORE_REFUSED = 3;
/** Error codes after which sending the same frame again can succeed. */
const RETRYABLE_CODES = new Set(["INTERNAL", "NOT_CONNECTED", "NOT_A_MEMBER"]);

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  status: $("status"),
  statusText: $("status-text"),
  whoami: $("whoami"),
  me: $("me"),
  signOut: /** @type {HTMLButtonElement} */ ($("sign-out")),
  signIn: $("sign-in"),
  signInForm: /** @type {HTMLFormElement} */ ($("sign-in-form")),
  nameInput: /** @type {HTMLInputElement} */ ($("name-input")),
  signInHint: $("sign-in-hint"),
  signInError: $("sign-in-error"),
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

/**
 * @typedef {{ id: string, name: string, verified: boolean }} User
 * @typedef {{
 *   status: "joining" | "joined" | "leaving",
 *   request?: string,
 *   members?: Map<string, User>,
 *   membersRequest?: string,
 *   membersError?: string,
 *   truncated: boolean,
 * }} Room
 */
const state = {
  /** Where the page connects, without credentials; set once at start. */
  baseUrl: "",
  /** The local issuer's token endpoint, when this page's origin runs one. */
  issuer: /** @type {{ tokenEndpoint: string } | undefined} */ (undefined),
  /** A token from the page's address (`?token=`), until the server refuses it. */
  addressToken: "",
  /** How the current session signs in: { kind: "anonymous" | "issuer", name } or { kind: "token" }. */
  credentials: /** @type {{ kind: string, name?: string } | undefined} */ (undefined),
  /** This connection and its user, from the `info` answer to whoami; the connection changes on reconnect. */
  me: /** @type {{ connectionId: string, user?: User } | undefined} */ (undefined),
  /**
   * Room → its state. Membership belongs to a connection, so after a reconnect each is joined again and
   * its members fetched again. `request` is the latest join or leave: only its reply changes the room.
   * @type {Map<string, Room>}
   */
  rooms: new Map(),
  /** A room joined from the form becomes the send target once the server confirms it. */
  selectOnJoin: "",
  /** The user a direct message goes to, when chosen by clicking a name (the name labels the target). */
  direct: /** @type {{ userId: string, name: string } | undefined} */ (undefined),
};

const pending = new PendingRequests();
const seenMessages = new RecentIds(MAX_SEEN_MESSAGES);

/** @type {ReconnectingSocket | undefined} */
let socket;

// ---------------------------------------------------------------------------------------------------
// Signing in

async function start() {
  syncTarget();
  renderRooms();
  const params = new URLSearchParams(location.search);
  try {
    state.baseUrl = chatUrl(params);
  } catch (error) {
    showView("chat");
    showConnectionState("closed", {});
    ui.statusText.textContent = "Not connected";
    notice(error instanceof Error ? error.message : String(error));
    return;
  }
  state.addressToken = params.get("token") ?? "";
  state.issuer = await findLocalIssuer();
  ui.signInHint.textContent = state.issuer
    ? "Signs in with this server's identity provider. 1 to 64 letters, digits, spaces, _ . -"
    : "Others see this name; it is not verified. 1 to 64 letters, digits, spaces, _ . -";

  if (state.addressToken) return connect({ kind: "token" });
  const name = rememberedName.get();
  if (name && !nameProblem(name)) return connect(credentialsFor(name));
  showSignIn(name, "");
}

function credentialsFor(name) {
  return { kind: state.issuer ? "issuer" : "anonymous", name };
}

function showSignIn(name, error) {
  showView("sign-in");
  showConnectionState("closed", {});
  ui.statusText.textContent = "Not connected";
  ui.nameInput.value = name;
  showSignInError(error);
  ui.nameInput.focus();
}

function showSignInError(text) {
  ui.signInError.textContent = text;
  if (text) ui.nameInput.setAttribute("aria-invalid", "true");
  else ui.nameInput.removeAttribute("aria-invalid");
}

ui.signInForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.nameInput.value.trim();
  const problem = nameProblem(name);
  if (problem) {
    showSignInError(problem);
    ui.nameInput.focus();
    return;
  }
  showSignInError("");
  connect(credentialsFor(name));
});

ui.signOut.addEventListener("click", () => {
  const name = state.credentials?.name ?? state.me?.user?.name ?? "";
  endSession();
  rememberedName.forget();
  state.addressToken = "";
  notice("Signed out.");
  showSignIn(name, "");
});

/** The URL of the next connection attempt: fresh credentials each time (tokens expire after minutes). */
function urlFactory(credentials) {
  switch (credentials.kind) {
    case "issuer":
      return async () => withQuery(state.baseUrl, "token", (await tokenFromIssuer(state.issuer.tokenEndpoint, credentials.name)).token);
    case "token":
      return () => {
        const expiry = tokenExpiry(state.addressToken);
        if (expiry && expiry.getTime() <= Date.now()) {
          throw new SignInError(`The sign-in token in the page's address expired at ${expiry.toLocaleTimeString()}; open the page with a new ?token=.`);
        }
        return withQuery(state.baseUrl, "token", state.addressToken);
      };
    default:
      return () => withQuery(state.baseUrl, "name", credentials.name);
  }
}

function connect(credentials) {
  endSession();
  state.credentials = credentials;
  showView("chat");
  socket = new ReconnectingSocket(urlFactory(credentials), {
    onOpen: handleOpen,
    onMessage: handleFrame,
    onState: showConnectionState,
    maxAttemptsBeforeFirstOpen: ATTEMPTS_BEFORE_REFUSED,
  });
  socket.start();
}

/** Closes the connection and forgets everything that belonged to it and to its user. */
function endSession() {
  const old = socket;
  socket = undefined;
  old?.close();
  connectionLost();
  state.rooms.clear();
  state.me = undefined;
  state.credentials = undefined;
  state.direct = undefined;
  ui.toInput.value = "";
  renderRooms();
  renderMe();
}

/**
 * A session that stopped by itself: a token refused or expired, or handshakes that kept failing before
 * any opened. Browsers hide a refused handshake's status (400, 401, 403 and "unreachable" all look like
 * close code 1006), so the page says what it knows and goes back to the sign-in form.
 */
function sessionRefused(detail) {
  const credentials = state.credentials ?? { kind: "anonymous" };
  let reason;
  if (detail.error instanceof Error) reason = detail.error.message;
  else if (credentials.kind === "token") {
    reason =
      "The chat refused the token in the page's address (expired, or not for this chat), or could not be reached. " +
      (state.issuer ? "Sign in with a name instead." : "Open the page with a new ?token=.");
  } else if (credentials.kind === "issuer") {
    reason = `Could not connect as "${credentials.name}": the chat refused the token or could not be reached.`;
  } else {
    reason =
      `Could not connect as "${credentials.name}": the chat refused the connection or could not be reached. ` +
      "If it requires sign-in, open the page with ?token=<your ID token>.";
  }
  // Whatever was refused is not tried again by itself: not on a reload either.
  if (credentials.kind === "token") state.addressToken = "";
  rememberedName.forget();
  const name = credentials.name ?? "";
  endSession();
  notice(reason);
  showSignIn(name, reason);
}

function showView(view) {
  document.body.dataset.view = view;
  ui.signIn.hidden = view !== "sign-in";
  ui.whoami.hidden = view !== "chat";
}

// ---------------------------------------------------------------------------------------------------
// Connection

function handleOpen() {
  if (state.credentials?.name) rememberedName.set(state.credentials.name);
  // Focus was on the sign-in form, now hidden: put it where the next thing to do is.
  if (document.activeElement === document.body || ui.signIn.contains(document.activeElement)) ui.messageInput.focus();
  sendRequest({ action: "whoami" }, { kind: "whoami" });
  for (const room of state.rooms.keys()) joinRoom(room);
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
  for (const retry of ui.log.querySelectorAll('[data-testid="retry-button"]')) retry.disabled = !open;
  if (connection !== "open") connectionLost();
  if (connection === "reconnecting" && previousConnection === "open") notice(`Connection lost; reconnecting in ${seconds(detail.delayMs ?? 0)}.`);
  if (connection === "reconnecting" && detail.error instanceof Error) notice(detail.error.message);
  previousConnection = connection;
  if (connection === "closed" && (detail.error || detail.gaveUp) && socket) sessionRefused(detail);
}

/** What belonged to the connection died with it: its id, its pending requests, its memberships. */
function connectionLost() {
  for (const request of pending.takeAll()) {
    if (request.kind === "send") settleSend(request, { state: "failed", text: "not confirmed: connection lost", retry: true });
  }
  if (state.me) state.me = { ...state.me, connectionId: "" };
  for (const [name, room] of state.rooms) {
    if (room.status === "leaving") state.rooms.delete(name);
    else Object.assign(room, { status: "joining", request: undefined, members: undefined, membersRequest: undefined, membersError: undefined, truncated: false });
  }
  renderRooms();
  renderMe();
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Sends a frame with a fresh requestId (or `requestId`, to retry one) and registers what its reply settles. */
function sendRequest(frame, request, requestId) {
  const id = pending.add(request, requestId);
  if (socket?.send(JSON.stringify({ ...frame, requestId: id }))) return id;
  pending.take(id);
  return undefined;
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
  if (frame.type === "message") return showMessage(frame);
  if (frame.type === "presence") return applyPresence(frame);

  // Replies: matched by requestId. One that matches nothing pending (late, duplicated, or for a connection
  // that has since dropped) changes nothing; an error is shown all the same.
  const request = pending.take(frame.requestId);
  switch (frame.type) {
    case "sent":
      if (request?.kind === "send") settleSend(request, sentOutcome(frame));
      return;
    case "joined":
      if (request?.kind === "join") roomJoined(request);
      return;
    case "left":
      if (request?.kind === "leave") roomLeft(request);
      return;
    case "members":
      if (request?.kind === "members") showMembers(request, frame);
      return;
    case "info":
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
    counts: { delivered, stale, failed, queued },
  };
}

function showInfo(frame, request) {
  const connectionId = typeof frame.connectionId === "string" ? frame.connectionId : "";
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

function renderMe() {
  const me = state.me;
  ui.me.replaceChildren(me?.user ? userName(me.user) : "…");
  ui.me.dataset.connectionId = me?.connectionId ?? "";
  ui.me.dataset.userId = me?.user?.id ?? "";
  ui.me.dataset.verified = String(me?.user?.verified === true);
  const lines = [];
  if (me?.user) lines.push(me.user.verified ? `Signed in as ${me.user.name} (verified)` : `${me.user.name} (not verified: anyone may choose a name)`);
  if (me?.user?.verified) lines.push(`User id: ${me.user.id}`);
  lines.push(me?.connectionId ? `Connection id: ${me.connectionId}` : "Not connected");
  ui.me.title = lines.join("\n");
}

function showError(frame, request) {
  const code = typeof frame.code === "string" ? frame.code : "ERROR";
  const message = typeof frame.message === "string" ? frame.message : "";
  if (request?.kind === "send") settleSend(request, { state: "failed", text: `not sent: ${code}`, retry: RETRYABLE_CODES.has(code) });
  if (request?.kind === "join") joinFailed(request);
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
  appendToLog(entry);
}

// ---------------------------------------------------------------------------------------------------
// Rooms and their members

/** Joins `name` (again, after a reconnect): it shows as joining until its reply. */
function joinRoom(name) {
  const room = state.rooms.get(name) ?? { status: "joining", truncated: false };
  Object.assign(room, { status: "joining", members: undefined, membersRequest: undefined, membersError: undefined, truncated: false });
  state.rooms.set(name, room);
  room.request = sendRequest({ action: "join", room: name }, { kind: "join", room: name });
  if (!room.request) state.rooms.delete(name);
  renderRooms();
}

/** The room a join/leave reply is about, when that reply answers the room's latest join or leave. */
function currentRoom(request) {
  const room = state.rooms.get(request.room);
  return room && room.request === request.requestId ? room : undefined;
}

function roomJoined(request) {
  const room = currentRoom(request);
  if (!room) return;
  room.status = "joined";
  room.membersRequest = sendRequest({ action: "members", room: request.room }, { kind: "members", room: request.room, presence: [] });
  renderRooms();
  if (state.selectOnJoin === request.room) {
    state.selectOnJoin = "";
    ui.target.value = `room:${request.room}`;
    syncTarget();
  }
}

function joinFailed(request) {
  if (!currentRoom(request)) return;
  state.rooms.delete(request.room);
  if (state.selectOnJoin === request.room) state.selectOnJoin = "";
  renderRooms();
}

function leaveRoom(name) {
  const room = state.rooms.get(name);
  if (!room) return;
  room.request = sendRequest({ action: "leave", room: name }, { kind: "leave", room: name });
  // While disconnected there is no membership to end: forgetting it is enough to skip the re-join.
  if (!room.request) state.rooms.delete(name);
  else room.status = "leaving";
  renderRooms();
}

function roomLeft(request) {
  if (!currentRoom(request)) return;
  state.rooms.delete(request.room);
  renderRooms();
}

function leaveFailed(request) {
  const room = currentRoom(request);
  if (!room) return;
  room.status = "joined";
  renderRooms();
}

/**
 * The `members` answer, with the presence frames that arrived while it was on its way applied on top: the
 * list may have been read before or after each of them, and applying a join or leave twice is harmless.
 */
function showMembers(request, frame) {
  const room = state.rooms.get(request.room);
  if (!room || room.membersRequest !== request.requestId) return;
  room.membersRequest = undefined;
  room.members = new Map();
  for (const member of Array.isArray(frame.members) ? frame.members : []) {
    if (typeof member?.connectionId === "string") room.members.set(member.connectionId, userFrom(member.user, member.connectionId));
  }
  for (const presence of request.presence) applyPresenceTo(room, presence);
  room.truncated = frame.truncated === true;
  renderRooms();
}

function membersFailed(request, code) {
  const room = state.rooms.get(request.room);
  if (!room || room.membersRequest !== request.requestId) return;
  room.membersRequest = undefined;
  room.membersError = code;
  renderRooms();
}

function applyPresence(frame) {
  if (typeof frame.room !== "string" || typeof frame.connectionId !== "string") return;
  const room = state.rooms.get(frame.room);
  if (!room) return;
  const listing = room.membersRequest && pending.get(room.membersRequest);
  if (listing) listing.presence.push(frame);
  if (room.members) applyPresenceTo(room, frame);
  renderRooms();
}

function applyPresenceTo(room, frame) {
  if (frame.event === "joined") room.members?.set(frame.connectionId, userFrom(frame.user, frame.connectionId));
  else if (frame.event === "left") room.members?.delete(frame.connectionId);
}

function renderRooms() {
  const names = [...state.rooms.keys()].sort();
  // The list is rebuilt on every presence frame: keep keyboard focus on the same button across it.
  const focused = ui.roomsList.contains(document.activeElement) ? focusKey(document.activeElement) : "";
  ui.roomsList.replaceChildren(...names.map((name) => roomItem(name, /** @type {Room} */ (state.rooms.get(name)))));
  if (focused) [...ui.roomsList.querySelectorAll("button")].find((button) => focusKey(button) === focused)?.focus();
  ui.roomsEmpty.hidden = names.length > 0;

  // Keep the target list in step: Everyone, each joined room, Direct.
  const selected = ui.target.value;
  for (const option of [...ui.target.options]) if (option.value.startsWith("room:")) option.remove();
  const direct = /** @type {HTMLOptionElement} */ (ui.target.querySelector('option[value="direct"]'));
  for (const name of names) {
    const option = element("option", "", `Room #${name}`);
    option.value = `room:${name}`;
    ui.target.insertBefore(option, direct);
  }
  ui.target.value = [...ui.target.options].some((option) => option.value === selected) ? selected : "everyone";
  syncTarget();
}

function focusKey(node) {
  const room = node.closest?.("[data-room]")?.getAttribute("data-room") ?? "";
  const user = node.closest?.("[data-user-id]")?.getAttribute("data-user-id") ?? "";
  return `${room}\n${user}\n${node.className}`;
}

function roomItem(name, room) {
  const item = element("li", "room");
  item.dataset.room = name;
  item.dataset.state = room.status;
  item.dataset.testid = "room";
  const head = element("div", "room-head");
  head.append(element("span", "room-name", `#${name}`));
  if (room.status === "joining") head.append(element("span", "room-state", "joining…"));
  if (room.status === "leaving") head.append(element("span", "room-state", "leaving…"));
  const leave = element("button", "leave quiet", "Leave");
  leave.type = "button";
  leave.dataset.testid = "leave-button";
  leave.setAttribute("aria-label", `Leave ${name}`);
  leave.addEventListener("click", () => leaveRoom(name));
  head.append(leave);
  item.append(head);

  if (room.members) item.append(...memberList(name, room));
  else if (room.membersError) item.append(element("p", "hint", `Members unavailable (${room.membersError}).`));
  return item;
}

/** The room's members, one entry per user (a user may hold several connections); yours marked. */
function memberList(name, room) {
  /** @type {Map<string, { user: User, connections: string[] }>} */
  const users = new Map();
  for (const [connectionId, user] of room.members ?? []) {
    const entry = users.get(user.id) ?? { user, connections: [] };
    entry.connections.push(connectionId);
    users.set(user.id, entry);
  }
  const list = element("ul", "members");
  list.dataset.testid = "members";
  list.setAttribute("aria-label", `Members of #${name}`);
  const entries = [...users.values()].sort((a, b) => a.user.name.localeCompare(b.user.name));
  for (const { user, connections } of entries) {
    const mine = state.me?.connectionId !== undefined && connections.includes(state.me.connectionId);
    const item = element("li", "member");
    item.dataset.testid = "member";
    item.dataset.userId = user.id;
    item.dataset.connections = String(connections.length);
    if (mine) item.dataset.self = "true";
    const others = connections.length - (mine ? 1 : 0);
    const label = element("span", "member-label");
    label.append(userName(user));
    if (mine) label.append(element("span", "you", others > 0 ? ` (you, +${others} other)` : " (you)"));
    else if (connections.length > 1) label.append(element("span", "you", ` (${connections.length} connections)`));
    if (mine && others === 0) {
      // Nowhere to send a direct message: your own connection never receives what it sends.
      item.append(label);
    } else {
      const button = element("button", "member-button");
      button.type = "button";
      button.append(label);
      button.title = `${user.name} · user ${user.id}\nClick to send a direct message`;
      button.setAttribute("aria-label", `Send a direct message to ${user.name}${mine ? " (your other connections)" : ""}`);
      button.addEventListener("click", () => directTo(user));
      item.append(button);
    }
    list.append(item);
  }
  const parts = [list];
  if (room.truncated) {
    const note = element("p", "hint", `Only the first ${room.members?.size ?? 0} members are listed.`);
    note.dataset.testid = "members-truncated";
    parts.push(note);
  }
  return parts;
}

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.roomInput.value.trim();
  if (!name || !socket?.isOpen) return;
  if (state.rooms.get(name)?.status === "joined") {
    ui.target.value = `room:${name}`;
    syncTarget();
  } else {
    state.selectOnJoin = name;
    joinRoom(name);
  }
  ui.roomInput.value = "";
});

// ---------------------------------------------------------------------------------------------------
// Sending

/** Makes the next message a direct one to `user`: all their connections but this one (`toUser`). */
function directTo(user) {
  state.direct = { userId: user.id, name: user.name };
  ui.toInput.value = user.id;
  ui.target.value = "direct";
  syncTarget();
  ui.messageInput.focus();
}

/** Shows the recipient box only for direct messages, required then, and names the recipient. */
function syncTarget() {
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
  if (!message.trim() || !socket?.isOpen) return;
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
function settleSend(request, outcome) {
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
  retry.disabled = !socket?.isOpen;
  retry.addEventListener("click", () => retrySend(request));
  ack.after(retry);
}

function retrySend(request) {
  if (!socket?.isOpen) return;
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

// ---------------------------------------------------------------------------------------------------
// The log

function logEntry(className, testid) {
  const entry = element("li", `entry ${className}`);
  entry.dataset.testid = testid;
  return entry;
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

void start();
