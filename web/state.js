/**
 * What the page knows about its session, shared by every part of the page, and the one way to send a
 * request: with a fresh requestId, registered so that its reply can be matched to it.
 */
import { PendingRequests, RecentIds } from "./requests.js";

/** Message ids remembered to drop redelivered messages: more than the log holds, bounded all the same. */
const MAX_SEEN_MESSAGES = 1000;

/**
 * @typedef {{ id: string, name: string, verified: boolean, admin?: true }} User
 * @typedef {{
 *   status: "joining" | "joined" | "leaving",
 *   request?: string,
 *   members?: Map<string, User>,
 *   membersRequest?: string,
 *   membersError?: string,
 *   truncated: boolean,
 *   upTo?: number, above?: Set<number>, oldest?: number, noEarlier?: boolean,
 *   reading?: number, readRequest?: string, earlierRequest?: string, gapTimer?: ReturnType<typeof setTimeout>,
 *   show?: (frame: object) => void,
 *   private?: boolean, owner?: User, creating?: boolean, inviteDraft?: string, banSeconds?: number,
 * }} Room
 */
export const state = {
  /** Where the page connects, without credentials; set once at start. */
  baseUrl: "",
  /** The local issuer's token endpoint, when this page's origin runs one. */
  issuer: /** @type {{ tokenEndpoint: string } | undefined} */ (undefined),
  /** A token from the page's address (`?token=`), until the server refuses it. */
  addressToken: "",
  /** How the current session signs in: { kind: "anonymous" | "issuer", name } or { kind: "token" }. */
  credentials: /** @type {{ kind: string, name?: string } | undefined} */ (undefined),
  /** The session's connection; undefined once it has ended. */
  socket: /** @type {import("./reconnecting-socket.js").ReconnectingSocket | undefined} */ (undefined),
  /** Who may send to everyone ("everyone" | "admins" | "off"), from the `info` frame; undefined until it comes. */
  broadcast: /** @type {string | undefined} */ (undefined),
  /** This connection and its user, from the `info` answer to whoami; the connection changes on reconnect. */
  me: /** @type {{ connectionId: string, user?: User } | undefined} */ (undefined),
  /**
   * Room → its state. Membership belongs to a connection, so after a reconnect each is joined again and
   * its members fetched again. `request` is the latest join or leave: only its reply changes the room.
   * @type {Map<string, Room>}
   */
  rooms: new Map(),
  /** Invitations to private rooms not yet accepted or dismissed: room → who invited. */
  invitations: /** @type {Map<string, User>} */ (new Map()),
  /** A room joined from the form becomes the send target once the server confirms it. */
  selectOnJoin: "",
  /** The user a direct message goes to, when chosen by clicking a name (the name labels the target). */
  direct: /** @type {{ userId: string, name: string } | undefined} */ (undefined),
};

export const pending = new PendingRequests();
export const seenMessages = new RecentIds(MAX_SEEN_MESSAGES);

/** Whether the session's connection is open now. */
export function isOpen() {
  return state.socket?.isOpen === true;
}

/** Sends a frame with a fresh requestId (or `requestId`, to retry one) and registers what its reply settles. */
export function sendRequest(frame, request, requestId) {
  const id = pending.add(request, requestId);
  if (state.socket?.send(JSON.stringify({ ...frame, requestId: id }))) return id;
  pending.take(id);
  return undefined;
}
