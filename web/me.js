/** The header's "You are …": this user's name, and in its tooltip the user and connection ids. */
import { userName } from "./render.js";
import { state } from "./state.js";
import { ui } from "./ui.js";

export function renderMe() {
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
