import { membershipRoute } from "./lib/membership-route";

/** leave: ends the connection's membership of a room (idempotent). */
export const handler = membershipRoute("leave", "left", (store, connectionId, room) =>
  store.deleteMembership(connectionId, room)
);
