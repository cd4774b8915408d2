/**
 * The connection's life as the page shows it: what to do when it opens (whoami, re-join the rooms), the
 * status in the header, and what dies with a connection when it drops.
 */
import { settleSend } from "./composer.js";
import { notice } from "./log.js";
import { renderMe } from "./me.js";
import { count, MAX_FRAME_BYTES } from "./message-size.js";
import { joinRoom, renderRooms } from "./rooms.js";
import { rememberedName } from "./sign-in.js";
import { pending, sendRequest, state } from "./state.js";
import { ui } from "./ui.js";

/** The close code for a frame over the gateway's size limit: sending that frame again fails the same way. */
const MESSAGE_TOO_BIG = 1009;

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
  ui.sendButton.disabled = !open || ui.messageCount.dataset.state === "over";
  ui.joinButton.disabled = !open;
  ui.createButton.disabled = !open;
  for (const retry of ui.log.querySelectorAll('[data-testid="retry-button"]')) retry.disabled = !open;
  const tooBig = detail.code === MESSAGE_TOO_BIG;
  if (connection !== "open") connectionLost(tooBig);
  if (connection === "reconnecting" && previousConnection === "open") {
    const reconnecting = `reconnecting in ${seconds(detail.delayMs ?? 0)}.`;
    notice(
      tooBig
        ? `The server closed the connection (code 1009): a frame was too large (the limit is ${count(MAX_FRAME_BYTES)} bytes). ` +
            `The message was not sent; shorten it. Now ${reconnecting}`
        : `Connection lost; ${reconnecting}`,
    );
  }
  if (connection === "reconnecting" && detail.error instanceof Error) notice(detail.error.message);
  previousConnection = connection;
}

/**
 * What belonged to the connection died with it: its id, its pending requests, its memberships. When it was
 * closed for a frame too large (`tooBig`), that frame is the largest send still unanswered: it gets no Retry.
 */
export function connectionLost(tooBig = false) {
  const sends = pending.takeAll().filter((request) => request.kind === "send");
  const largest = tooBig ? Math.max(...sends.map((request) => request.frameBytes ?? 0)) : Number.POSITIVE_INFINITY;
  for (const request of sends) {
    if ((request.frameBytes ?? 0) >= largest) {
      settleSend(request, { state: "failed", text: "not sent: too large for the server (it closed the connection, code 1009)", retry: false });
    } else settleSend(request, { state: "failed", text: "not confirmed: connection lost", retry: true });
  }
  if (state.me) state.me = { ...state.me, connectionId: "" };
  for (const [name, room] of state.rooms) {
    // A create-room unanswered may not have happened: joining again would make the room public.
    if (room.creating) notice(`The connection dropped before #${name} was created: create it again, or join it if it was.`);
    if (room.status === "leaving" || room.creating) state.rooms.delete(name);
    else Object.assign(room, { status: "joining", request: undefined, members: undefined, membersRequest: undefined, membersError: undefined, truncated: false });
  }
  renderRooms();
  renderMe();
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}
