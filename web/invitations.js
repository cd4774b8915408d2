/**
 * Invitations to private rooms (`invitation` frames): listed above the rooms, each with Join (a `join`,
 * which the invitation now allows) and Dismiss, until joined or dismissed.
 */
import { notice } from "./log.js";
import { displayName, element, userFrom, userName } from "./render.js";
import { state } from "./state.js";
import { ui } from "./ui.js";

export function addInvitation(frame) {
  if (typeof frame.room !== "string") return;
  const by = userFrom(frame.by, "");
  // Already in the room (an admin, say): nothing to accept.
  if (state.rooms.get(frame.room)?.status !== "joined") state.invitations.set(frame.room, by);
  notice(`${displayName(by)} invited you to the private room #${frame.room}.`, "invitation");
}

/** Renders the invitations; `onJoin(room)` is what a Join button does. */
export function renderInvitations(onJoin) {
  const rooms = [...state.invitations.keys()].sort();
  ui.invitationsList.replaceChildren(...rooms.map((room) => invitationItem(room, /** @type {import("./state.js").User} */ (state.invitations.get(room)), onJoin)));
  ui.invitations.hidden = rooms.length === 0;
}

function invitationItem(room, by, onJoin) {
  const item = element("li", "invitation");
  item.dataset.testid = "invitation";
  item.dataset.room = room;
  const text = element("span", "invitation-text");
  text.append(element("strong", "", `#${room}`), " from ", userName(by));
  const join = element("button", "invitation-join", "Join");
  join.type = "button";
  join.dataset.testid = "invitation-join";
  join.setAttribute("aria-label", `Join #${room}`);
  join.addEventListener("click", () => onJoin(room));
  const dismiss = element("button", "invitation-dismiss quiet", "Dismiss");
  dismiss.type = "button";
  dismiss.dataset.testid = "invitation-dismiss";
  dismiss.setAttribute("aria-label", `Dismiss the invitation to #${room}`);
  dismiss.addEventListener("click", () => {
    state.invitations.delete(room);
    renderInvitations(onJoin);
  });
  item.append(text, join, dismiss);
  return item;
}
