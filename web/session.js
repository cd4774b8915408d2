/**
 * Signing in and the session it starts: a display name, a token from the local issuer, or a token in the
 * page's address; the connection made with it; and the way back to the form when the chat refuses it.
 */
import { connectionLost, handleOpen, showConnectionState } from "./connection.js";
import { syncTarget } from "./composer.js";
import { handleFrame } from "./frames.js";
import { notice } from "./log.js";
import { renderMe } from "./me.js";
import { ReconnectingSocket } from "./reconnecting-socket.js";
import { rememberedRooms } from "./remembered-rooms.js";
import { rejoinOnOpen, renderRooms } from "./rooms.js";
import {
  chatUrl,
  findLocalIssuer,
  nameProblem,
  rememberedName,
  SignInError,
  takeAddressToken,
  tokenExpiry,
  tokenFromIssuer,
  withQuery,
} from "./sign-in.js";
import { state } from "./state.js";
import { ui } from "./ui.js";

/** Handshakes that may fail before the first connection opens before the page calls it refused. */
const ATTEMPTS_BEFORE_REFUSED = 3;

export async function start() {
  // Read before anything renders the (still empty) room list, which would overwrite them.
  const rooms = rememberedRooms.get();
  syncTarget();
  renderRooms();
  const params = new URLSearchParams(location.search);
  // Out of the address before anything else can fail and leave it there.
  const addressToken = takeAddressToken();
  try {
    state.baseUrl = chatUrl(params);
  } catch (error) {
    showView("chat");
    showConnectionState("closed", {});
    ui.statusText.textContent = "Not connected";
    notice(error instanceof Error ? error.message : String(error));
    return;
  }
  state.addressToken = addressToken;
  state.issuer = await findLocalIssuer();
  ui.signInHint.textContent = state.issuer
    ? "Signs in with this server's identity provider. 1 to 64 letters, digits, spaces, _ . -"
    : "Others see this name; it is not verified. 1 to 64 letters, digits, spaces, _ . -";

  // A reload goes straight back in, and into the rooms this tab was in.
  if (state.addressToken) return resume({ kind: "token" }, rooms);
  const name = rememberedName.get();
  if (name && !nameProblem(name)) return resume(credentialsFor(name), rooms);
  showSignIn(name, "");
}

function resume(credentials, rooms) {
  connect(credentials);
  rejoinOnOpen(rooms);
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
          throw new SignInError(`The sign-in token in the page's address expired at ${expiry.toLocaleTimeString()}; open the page with a new #token=.`);
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
  const socket = new ReconnectingSocket(urlFactory(credentials), {
    onOpen: handleOpen,
    onMessage: handleFrame,
    onState: (connection, detail) => {
      showConnectionState(connection, detail);
      if (connection === "closed" && (detail.error || detail.gaveUp) && state.socket) sessionRefused(detail);
    },
    maxAttemptsBeforeFirstOpen: ATTEMPTS_BEFORE_REFUSED,
  });
  state.socket = socket;
  socket.start();
}

/** Closes the connection and forgets everything that belonged to it and to its user. */
function endSession() {
  const old = state.socket;
  state.socket = undefined;
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
      (state.issuer ? "Sign in with a name instead." : "Open the page with a new #token=.");
  } else if (credentials.kind === "issuer") {
    reason = `Could not connect as "${credentials.name}": the chat refused the token or could not be reached.`;
  } else {
    reason =
      `Could not connect as "${credentials.name}": the chat refused the connection or could not be reached. ` +
      "If it requires sign-in, open the page with #token=<your ID token>.";
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
