/**
 * The rooms panel's forms: join a room by name, and create one (public, or private with the checkbox). A
 * refusal (a private room, a name taken) is said under them, until the next try.
 */
import { syncTarget } from "./composer.js";
import { createRoom, joinRoom } from "./rooms.js";
import { isOpen, state } from "./state.js";
import { ui } from "./ui.js";

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.roomInput.value.trim();
  if (!name || !isOpen()) return;
  ui.roomsError.textContent = "";
  if (state.rooms.get(name)?.status === "joined") {
    ui.target.value = `room:${name}`;
    syncTarget();
  } else {
    state.selectOnJoin = name;
    joinRoom(name);
  }
  ui.roomInput.value = "";
});

ui.createForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.createInput.value.trim();
  if (!name || !isOpen()) return;
  if (state.rooms.has(name)) {
    ui.roomsError.textContent = `You are in #${name} already.`;
    return;
  }
  ui.roomsError.textContent = "";
  state.selectOnJoin = name;
  createRoom(name, ui.createPrivate.checked);
  ui.createInput.value = "";
  ui.createPrivate.checked = false;
});
