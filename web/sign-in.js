/**
 * How the page gets onto the chat (docs/protocol.md, "Connecting and identity"): the WebSocket URL, the display
 * name rule, a token from the local issuer or from the page's address, and the remembered name.
 */

import { checkName } from "./names.js";

/** An error the next attempt cannot fix (a refused name, an expired token): the page stops and says so. */
export class SignInError extends Error {
  constructor(message) {
    super(message);
    this.name = "SignInError";
    this.fatal = true;
  }
}

/** Why the server would refuse `name`, in words (the rule it breaks, as web/names.js says); "" when it is fine. */
export function nameProblem(name) {
  if (name.trim() === "") return "Enter a display name.";
  const check = checkName(name);
  return check.ok ? "" : `${check.message[0].toUpperCase()}${check.message.slice(1)}.`;
}

/**
 * The WebSocket URL without credentials: `?ws=` (a ws:// or wss:// URL of an allowed origin, e.g. a deployed
 * API), else this page's host and the stage from `?stage=`, `<meta name="chat-stage">` or "prod".
 */
export function chatUrl(params) {
  const explicit = params.get("ws");
  if (explicit) {
    let url;
    try {
      url = new URL(explicit);
    } catch {
      // Falls through to the error below.
    }
    if (!url || (url.protocol !== "ws:" && url.protocol !== "wss:")) throw new Error(`?ws= must be a ws:// or wss:// URL, got ${JSON.stringify(explicit)}`);
    if (!allowedSocketOrigins().includes(url.origin)) {
      throw new Error(`?ws= may only point at this page's own host or an origin the page's Content-Security-Policy lists in connect-src; ${url.origin} is not one (docs/web-page.md)`);
    }
    return url.href;
  }
  if (!location.host) throw new Error("Open this page from the chat server, or give ?ws=wss://<api>/<stage>");
  const stage =
    params.get("stage") || document.querySelector('meta[name="chat-stage"]')?.getAttribute("content") || "prod";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/${encodeURIComponent(stage)}`;
}

/**
 * The origins a WebSocket may be opened to: this page's host (ws: and wss:), and each ws:// or wss:// origin
 * the page's CSP lists in connect-src. The CSP is the one allow-list: the browser enforces it, and reading
 * it here turns a blocked connection into a message that says what to change.
 */
export function allowedSocketOrigins() {
  const own = location.host ? [`ws://${location.host}`, `wss://${location.host}`] : [];
  const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute("content") ?? "";
  const connectSrc = /(?:^|;)\s*connect-src\s+([^;]*)/.exec(csp)?.[1] ?? "";
  const listed = connectSrc.split(/\s+/).flatMap((source) => {
    try {
      const url = new URL(source);
      return url.protocol === "ws:" || url.protocol === "wss:" ? [url.origin] : [];
    } catch {
      return [];
    }
  });
  return [...own, ...listed];
}

/**
 * A token handed to the page in its address: `#token=` (a fragment never reaches a server or its logs), or
 * `?token=`. It is removed from the address and the history at once, so it is not left in the history,
 * a bookmark or a copied link.
 */
export function takeAddressToken() {
  const url = new URL(location.href);
  const fragment = new URLSearchParams(url.hash.slice(1));
  const token = fragment.get("token") || url.searchParams.get("token") || "";
  if (fragment.has("token") || url.searchParams.has("token")) {
    fragment.delete("token");
    url.searchParams.delete("token");
    url.hash = fragment.toString();
    history.replaceState(history.state, "", url.href);
  }
  return token;
}

/** `base` with one query parameter set (a `?ws=` URL may carry a query of its own). */
export function withQuery(base, name, value) {
  const url = new URL(base);
  url.searchParams.set(name, value);
  return url.href;
}

/**
 * The token endpoint of a local issuer at this page's origin (what `CHAT_AUTH=jwt npm start` runs), or
 * undefined when the origin publishes no OIDC discovery document with one: then the chat is anonymous, or
 * needs a token from a real identity provider in the page's address (`?token=`).
 */
export async function findLocalIssuer() {
  if (location.protocol !== "http:" && location.protocol !== "https:") return undefined;
  let discovery;
  try {
    const response = await fetch("/.well-known/openid-configuration", { headers: { Accept: "application/json" }, cache: "no-store" });
    // 204: the local runtime's answer when it runs no issuer (a 404 would be a console error on every load).
    if (!response.ok || response.status === 204) return undefined;
    discovery = await response.json();
  } catch {
    return undefined;
  }
  if (typeof discovery?.token_endpoint !== "string") return undefined;
  try {
    // The discovery document came from this origin, so its issuer is this server; it names itself by the
    // host it was started with (127.0.0.1), which may not be the one the page was opened with (localhost),
    // and the page's CSP only allows fetches to its own origin.
    const endpoint = new URL(discovery.token_endpoint, location.href);
    return { tokenEndpoint: new URL(endpoint.pathname, location.origin).href };
  } catch {
    return undefined;
  }
}

/**
 * A token for `name` from the local issuer: `{ token, userId, name, expiresAt }`. A 4xx (a name it refuses)
 * is a SignInError with the issuer's message; a network failure or a 5xx is an ordinary error, retried.
 */
export async function tokenFromIssuer(tokenEndpoint, name) {
  let response;
  try {
    response = await fetch(tokenEndpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name }),
      cache: "no-store",
    });
  } catch (error) {
    throw new Error(`The sign-in service could not be reached (${error instanceof Error ? error.message : error}).`);
  }
  const body = await response.json().catch(() => ({}));
  if (response.ok && typeof body?.token === "string") return body;
  const reason = typeof body?.message === "string" ? body.message : `HTTP ${response.status}`;
  if (response.status >= 400 && response.status < 500) throw new SignInError(`Sign-in refused: ${reason}`);
  throw new Error(`Sign-in failed: ${reason}`);
}

/**
 * When a JWT expires, read from its payload without verifying it (the server verifies; the page only
 * wants to avoid a connection it knows will be refused). Undefined when it is not a readable JWT.
 */
export function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1] ?? "";
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const { exp } = JSON.parse(json);
    return typeof exp === "number" ? new Date(exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

const NAME_KEY = "chat.name";

/** The name of the last successful sign-in, so a reload goes straight in; storage may be unavailable. */
export const rememberedName = {
  get() {
    try {
      return localStorage.getItem(NAME_KEY) ?? "";
    } catch {
      return "";
    }
  },
  set(name) {
    try {
      localStorage.setItem(NAME_KEY, name);
    } catch {
      // Private mode or storage disabled: the page asks again next time.
    }
  },
  forget() {
    try {
      localStorage.removeItem(NAME_KEY);
    } catch {
      // As above.
    }
  },
};
