import { createHash, randomBytes } from "node:crypto";

/**
 * The id a message carries to every recipient. With a requestId it is derived from the sending
 * connection, the requestId and what is sent, so a retry of the same frame carries the same id and a
 * recipient that already showed it drops the duplicate. Without one, every frame is a new message.
 * 22 base64url characters: 132 bits, as unique as a UUID.
 */
export function messageId(parts: {
  readonly connectionId: string;
  readonly requestId?: string;
  readonly target: string;
  readonly message: string;
}): string {
  if (parts.requestId === undefined) return randomId();
  return createHash("sha256")
    .update([parts.connectionId, parts.requestId, parts.target, parts.message].join("\0"))
    .digest("base64url")
    .slice(0, 22);
}

/**
 * Random bytes drawn for many ids at once, as Node's randomUUID does: a synchronous randomBytes call per id
 * showed up in the local runtime's capacity profile (bench/results.md, figure 10 "capacity"); a slice of a
 * pool costs next to nothing.
 */
const ID_BYTES = 17;
const POOLED_IDS = 128;
let pool = Buffer.alloc(0);
let offset = 0;

function randomId(): string {
  if (offset >= pool.length) {
    pool = randomBytes(ID_BYTES * POOLED_IDS);
    offset = 0;
  }
  const id = pool.toString("base64url", offset, offset + ID_BYTES).slice(0, 22);
  offset += ID_BYTES;
  return id;
}
