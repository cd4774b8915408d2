/**
 * What an owner or admin sees in a room's entry: a moderation bar (invite a user by id, picked from the
 * people of the page's rooms or typed; how long "Kick + ban" bans) and, per member, Kick and Kick + ban.
 * The panel is rebuilt on every presence frame: what is typed or chosen lives in the room's state.
 */
import { BAN_CHOICES, DEFAULT_BAN_SECONDS, canKick, invite, kick, knownUsers } from "./moderation.js";
import { displayName, element } from "./render.js";
import { ui } from "./ui.js";

/** @typedef {import("./state.js").Room} Room */
/** @typedef {import("./state.js").User} User */

/** The invite field's suggestions: every other user in the page's rooms (value: the id; label: the name). */
export function renderInviteCandidates() {
  const options = [...knownUsers().values()].map((user) => {
    const option = element("option");
    option.value = user.id;
    option.label = displayName(user);
    return option;
  });
  ui.inviteCandidates.replaceChildren(...options);
}

/** The moderation bar of a room this user may moderate. */
export function moderationBar(name, room) {
  const bar = element("div", "moderation");
  bar.dataset.testid = "moderation";
  const form = element("form", "invite-form");
  form.dataset.testid = "invite-form";
  const input = element("input", "invite-input");
  input.dataset.testid = "invite-input";
  input.setAttribute("list", ui.inviteCandidates.id);
  input.setAttribute("aria-label", `User id to invite to #${name}`);
  input.placeholder = "user id to invite";
  input.maxLength = 256;
  input.value = room.inviteDraft ?? "";
  input.addEventListener("input", () => (room.inviteDraft = input.value));
  const button = element("button", "invite-button quiet", "Invite");
  button.type = "submit";
  button.dataset.testid = "invite-button";
  form.append(input, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const userId = input.value.trim();
    if (userId && invite(name, userId)) room.inviteDraft = input.value = "";
  });

  const ban = element("label", "ban-label", "Kick + ban for ");
  const select = element("select", "ban-duration");
  select.dataset.testid = "ban-duration";
  for (const choice of BAN_CHOICES) {
    const option = element("option", "", choice.label);
    option.value = String(choice.seconds);
    select.append(option);
  }
  select.value = String(banSeconds(room));
  select.addEventListener("change", () => (room.banSeconds = Number(select.value)));
  ban.append(select);
  bar.append(form, ban);
  return bar;
}

/** A member's Kick and Kick + ban buttons, when this user may kick them; none otherwise. */
export function memberControls(name, room, /** @type {User} */ user) {
  if (!canKick(room, user)) return [];
  const seconds = banSeconds(room);
  const length = BAN_CHOICES.find((choice) => choice.seconds === seconds)?.label ?? `${seconds} s`;
  const who = displayName(user);
  const kickButton = button("kick", "Kick", `Remove ${who} from #${name}`, () => kick(name, user.id, 0));
  const banButton = button("kick-ban", "Kick + ban", `Remove ${who} from #${name} and keep them out for ${length}`, () => kick(name, user.id, seconds));
  return [kickButton, banButton];
}

function banSeconds(room) {
  return room.banSeconds ?? DEFAULT_BAN_SECONDS;
}

function button(kind, text, label, onClick) {
  const node = element("button", `${kind} quiet`, text);
  node.type = "button";
  node.dataset.testid = `${kind}-button`;
  node.title = label;
  node.setAttribute("aria-label", label);
  node.addEventListener("click", onClick);
  return node;
}
