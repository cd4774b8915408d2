/**
 * Matching replies to requests (docs/protocol.md: frames of one connection are independent invocations and may
 * be answered in any order, so replies are matched by `requestId`, never by order), and remembering which
 * messages were already shown (delivery is at least once; a message's `id` makes it once on screen).
 */

/** A random prefix per page load, so ids never repeat across tabs or reloads of the same user. */
const PAGE_PREFIX = randomHex(8);
let counter = 0;

/** A fresh requestId: 1–64 characters from `A-Z a-z 0-9 _ . : -`. */
export function newRequestId() {
  counter += 1;
  return `${PAGE_PREFIX}:${counter.toString(36)}`;
}

function randomHex(bytes) {
  // getRandomValues, unlike randomUUID, works outside secure contexts (a page served over plain http).
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Requests sent on the current connection that await their reply, by requestId. */
export class PendingRequests {
  constructor() {
    /** @type {Map<string, object>} */
    this.byId = new Map();
  }

  /** Registers `request` (`kind` plus whatever its reply needs) under `requestId` or a fresh id; returns the id. */
  add(request, requestId = newRequestId()) {
    this.byId.set(requestId, { ...request, requestId });
    return requestId;
  }

  get(requestId) {
    return this.byId.get(requestId);
  }

  /** The request a reply answers, removed; undefined for a reply to nothing pending (late, or a duplicate). */
  take(requestId) {
    if (typeof requestId !== "string") return undefined;
    const request = this.byId.get(requestId);
    this.byId.delete(requestId);
    return request;
  }

  /** Every pending request, removed: their replies died with the connection. */
  takeAll() {
    const all = [...this.byId.values()];
    this.byId.clear();
    return all;
  }
}

/** The last `capacity` ids seen, in a Set for lookups and evicted oldest first, so memory stays bounded. */
export class RecentIds {
  constructor(capacity) {
    this.capacity = capacity;
    /** @type {Set<string>} insertion-ordered: the first is the oldest */
    this.ids = new Set();
  }

  has(id) {
    return this.ids.has(id);
  }

  add(id) {
    if (this.ids.has(id)) return;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value);
  }
}
