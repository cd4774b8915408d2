/** The page's elements, looked up once: index.html holds every one of them. */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

export const ui = {
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
  messageCount: $("message-count"),
  messageError: $("message-error"),
  sendButton: /** @type {HTMLButtonElement} */ ($("send-button")),
  joinButton: /** @type {HTMLButtonElement} */ ($("join-button")),
};
