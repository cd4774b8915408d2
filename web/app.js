/**
 * The chat page: signs in (a display name, a token from the local issuer, or a token in the page's
 * address), then speaks protocol v2 (docs/protocol.md) over one WebSocket that reconnects after a drop.
 * Every frame it sends carries a fresh requestId and replies are matched by it; messages already shown
 * (by `id`) are dropped; rooms show their members, kept current by `presence` frames.
 * Everything the server or another user sends is rendered with textContent, never as HTML.
 *
 * The parts, each a module: session.js (signing in), connection.js, frames.js (what the server sends),
 * rooms.js and room-list.js, composer.js (sending), log.js; state.js holds what they share.
 */
import { start } from "./session.js";

void start();
