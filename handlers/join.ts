import { membershipRoute } from "./lib/membership-route";

/** join: makes the connection a member of a room (idempotent). */
export const handler = membershipRoute("join", "joined", (store, connectionId, room) =>
  store.putMembership(connectionId, room)
);
