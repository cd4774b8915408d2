/**
 * The rooms panel: each joined room with its members (one entry per user, yours and the owner marked; Kick
 * for those who may), and the send target list kept in step with it. Rebuilt whole on every change, keeping
 * keyboard focus in place.
 */
import { directTo, syncTarget } from "./composer.js";
import { memberControls, moderationBar, renderInviteCandidates } from "./member-actions.js";
import { canModerate } from "./moderation.js";
import { badge, element, userName } from "./render.js";
import { hasEarlier } from "./room-history.js";
import { state } from "./state.js";
import { ui } from "./ui.js";

/** @typedef {import("./state.js").Room} Room */
/** @typedef {import("./state.js").User} User */

/**
 * Renders the rooms panel and the target list; `onLeave(room)` is what a Leave button does, `onEarlier(room)`
 * what a Load earlier button does.
 */
export function renderRoomList(onLeave, onEarlier) {
  const names = [...state.rooms.keys()].sort();
  // The list is rebuilt on every presence frame: keep keyboard focus on the same button across it.
  const focused = ui.roomsList.contains(document.activeElement) ? focusKey(document.activeElement) : "";
  ui.roomsList.replaceChildren(...names.map((name) => roomItem(name, /** @type {Room} */ (state.rooms.get(name)), onLeave, onEarlier)));
  if (focused) [...ui.roomsList.querySelectorAll("button, input, select")].find((control) => focusKey(control) === focused)?.focus();
  ui.roomsEmpty.hidden = names.length > 0;
  renderInviteCandidates();

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

function roomItem(name, room, onLeave, onEarlier) {
  const item = element("li", "room");
  item.dataset.room = name;
  item.dataset.state = room.status;
  item.dataset.testid = "room";
  const head = element("div", "room-head");
  head.append(element("span", "room-name", `#${name}`));
  if (room.private) head.append(badge("private", "private"));
  if (room.status === "joining") head.append(element("span", "room-state", "joining…"));
  if (room.status === "leaving") head.append(element("span", "room-state", "leaving…"));
  const leave = element("button", "leave quiet", "Leave");
  leave.type = "button";
  leave.dataset.testid = "leave-button";
  leave.setAttribute("aria-label", `Leave ${name}`);
  leave.addEventListener("click", () => onLeave(name));
  head.append(leave);
  item.append(head);
  if (hasEarlier(room)) {
    const earlier = element("button", "earlier quiet", room.earlierRequest ? "Loading…" : "Load earlier");
    earlier.type = "button";
    earlier.dataset.testid = "load-earlier";
    earlier.disabled = room.earlierRequest !== undefined;
    earlier.setAttribute("aria-label", `Load earlier messages of ${name}`);
    earlier.addEventListener("click", () => onEarlier(name));
    item.append(earlier);
  }

  if (room.status === "joined" && canModerate(room)) item.append(moderationBar(name, room));
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
    if (room.owner?.id === user.id) label.append(" ", badge("owner", "owner"));
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
    item.append(...memberControls(name, room, user));
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
