import type { ConnectionStore } from "../store/connection-store";
import { NEW_CONNECTION_GRACE_MS, Recipient } from "./fan-out";
import type { Key } from "../store/table-schema";

/**
 * Removes a recipient that answered 410 and is old enough to be really gone, with what lists it. A record
 * younger than NEW_CONNECTION_GRACE_MS is left alone (its handshake may still be completing) and counted
 * failed by the caller, which this rejection tells.
 */
export async function removeGoneRecipient(
  store: ConnectionStore,
  recipient: Recipient & { readonly key?: Key; readonly userId?: string },
): Promise<void> {
  const { outcome } = await store.removeConnection(recipient.connectionId, {
    connectedBefore: Date.now() - NEW_CONNECTION_GRACE_MS,
    ...(recipient.key && { listedAs: recipient.key }),
    ...(recipient.userId !== undefined && { userId: recipient.userId }),
  });
  if (outcome === "too-new") throw new Error("the connection's record is too new to remove: its handshake may still be completing");
}
