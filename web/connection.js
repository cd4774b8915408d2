/**
 * The connection's life as the page shows it: what to do when it opens (whoami, re-join the rooms), the
 * status in the header, and what dies with a connection when it drops.
 */
import { settleSend } from "./composer.js";
import { notice } from "./log.js";
import { renderMe } from "./me.js";
import { joinRoom, renderRooms } from "./rooms.js";
import { rememberedName } from "./sign-in.js";
import { pending, sendRequest, state } from "./state.js";
import { ui } from "./ui.js";

export function handleOpen() {
  if (state.credentials?.name) rememberedName.set(state.credentials.name);
  // Focus was on the sign-in form, now hidden: put it where the next thing to do is.
  if (document.activeElement === document.body || ui.signIn.contains(document.activeElement)) ui.messageInput.focus();
  sendRequest({ action: "whoami" }, { kind: "whoami" });
  for (const room of state.rooms.keys()) joinRoom(room);
  renderRooms();
}

let previousConnection = "connecting";

export function showConnectionState(connection, detail) {
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
}

/** What belonged to the connection died with it: its id, its pending requests, its memberships. */
export function connectionLost() {
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
