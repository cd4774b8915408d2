import { managementApi, type CallbackContext } from "../aws/clients";
import type { ConnectionStore } from "../store/connection-store";
import { type Seat, seatsToCheck } from "./connection-seats";

/**
 * Gives back the seats of connections that are gone although no $disconnect said so: those past the
 * connections' TTL, and those older than the grace period that @connections answers 410 for. A probe
 * that fails otherwise (throttled, timed out) keeps its seat: only a certain 410 evicts. Returns how many
 * seats were freed.
 */
export async function evictDeadSeats(store: ConnectionStore, userId: string, seats: readonly Seat[], context: CallbackContext, nowMs = Date.now()): Promise<number> {
  const { expired, probe } = seatsToCheck(seats, nowMs);
  const api = probe.length > 0 ? managementApi(context) : undefined;
  const probed = await Promise.all(probe.map(async (seat) => ((await api!.isOpen(seat.connectionId).catch(() => true)) ? [] : [seat])));
  const dead = [...expired, ...probed.flat()];
  await store.releaseSeats(userId, dead);
  return dead.length;
}
