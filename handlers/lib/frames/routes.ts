/**
 * The route keys a client selects with the frame's `action` (`$request.body.action`). The `$default`
 * route's info frame lists them.
 */
export const CLIENT_ROUTES = ["send-message", "join", "leave", "members", "history", "create-room", "invite", "kick", "ban"] as const;
