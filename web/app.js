/**
 * The chat page: signs in (a display name, a token from the local issuer, or a token in the page's
 * address), then speaks protocol v3 (docs/protocol.md) over one WebSocket that reconnects after a drop.
 * Every frame it sends carries a fresh requestId and replies are matched by it; messages already shown
 * (by `id`) are dropped; rooms show their members, kept current by `presence` frames.
 * Everything the server or another user sends is rendered with textContent, never as HTML.
 *
 * The parts, each a module: session.js (signing in), connection.js, frames.js (what the server sends),
 * rooms.js, room-list.js and room-forms.js, moderation.js, member-actions.js and invitations.js (private
 * rooms, owners and admins), composer.js (sending), log.js; state.js holds what they share.
 */
import "./room-forms.js";
import { start } from "./session.js";

void start();
