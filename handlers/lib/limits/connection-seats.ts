/**
 * Connections per user (docs/limits.md): the user's open connections are one item,
 * `limits#<userId>`/`connections`, holding a string set of seats `<connectedAt>|<connectionId>`. $connect
 * takes a seat in the same transaction that records the connection, conditional on the set being smaller
 * than the cap: two handshakes racing for the last seat write the same item, so one of them fails.
 * $disconnect (any removal of the connection) gives the seat back.
 *
 * API Gateway delivers $disconnect on a best-effort basis, so a seat can outlive its connection. A
 * refused handshake therefore probes the seats (GET @connections/{id}; 410 means gone) and evicts the dead
 * ones before trying once more. A 410 also answers a connection whose $connect is still running, so only
 * seats older than SEAT_GRACE_MS are probed. Seats past the connections' TTL are dead without a probe.
 */
import { ITEM_TTL_SECONDS, keys, TTL_ATTRIBUTE } from "../store/table-schema";

/** One connection holding a seat. */
export interface Seat {
  readonly connectionId: string;
  /** Epoch ms of its $connect. */
  readonly connectedAt: number;
}

/**
 * Longer than any $connect can take: API Gateway gives an integration at most 29 s, so a connection whose
 * seat is older than this and that answers 410 is closed, not still opening.
 */
export const SEAT_GRACE_MS = 30_000;

const SEATS = "seats";

export function seatOf(seat: Seat): string {
  return `${seat.connectedAt}|${seat.connectionId}`;
}

/** The seats in a set's values; malformed entries are skipped (and never evicted). */
export function parseSeats(values: Iterable<string>): Seat[] {
  const seats: Seat[] = [];
  for (const value of values) {
    const bar = value.indexOf("|");
    const connectedAt = Number(value.slice(0, bar));
    if (bar > 0 && Number.isFinite(connectedAt)) seats.push({ connectionId: value.slice(bar + 1), connectedAt });
  }
  return seats;
}

/** Which seats may be dead: older than the grace period. Past the TTL they are dead without a probe. */
export function seatsToCheck(seats: readonly Seat[], nowMs: number): { expired: Seat[]; probe: Seat[] } {
  const expired = seats.filter((seat) => seat.connectedAt + ITEM_TTL_SECONDS * 1000 <= nowMs);
  const probe = seats.filter((seat) => !expired.includes(seat) && seat.connectedAt < nowMs - SEAT_GRACE_MS);
  return { expired, probe };
}

/** The transaction item taking a seat (document-client form), or refusing when all `max` are taken. */
export function takeSeat(tableName: string, userId: string, seat: Seat, max: number, ttl: number) {
  return {
    Update: {
      TableName: tableName,
      Key: keys.userConnections(userId),
      // The item lives as long as its newest seat's connection can.
      UpdateExpression: `ADD #seats :seat SET #ttl = :ttl`,
      ConditionExpression: "attribute_not_exists(#seats) OR size(#seats) < :max",
      ExpressionAttributeNames: { "#seats": SEATS, "#ttl": TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ":seat": new Set([seatOf(seat)]), ":max": max, ":ttl": ttl },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
    },
  };
}

/** The update giving seats back (document-client form); conditional, so it never creates an empty item. */
export function releaseSeats(tableName: string, userId: string, seats: readonly Seat[]) {
  return {
    TableName: tableName,
    Key: keys.userConnections(userId),
    UpdateExpression: "DELETE #seats :gone",
    ConditionExpression: "attribute_exists(#seats)",
    ExpressionAttributeNames: { "#seats": SEATS },
    ExpressionAttributeValues: { ":gone": new Set(seats.map(seatOf)) },
  };
}

/** The seats in a seats item (unmarshalled: the set as a Set, or a list from a raw image). */
export function seatsOfItem(item: Record<string, unknown> | undefined): Seat[] {
  const value = item?.[SEATS];
  if (value instanceof Set) return parseSeats([...value].map(String));
  if (Array.isArray(value)) return parseSeats(value.map(String));
  return [];
}
