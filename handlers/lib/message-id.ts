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
  if (parts.requestId === undefined) return randomBytes(17).toString("base64url").slice(0, 22);
  return createHash("sha256")
    .update([parts.connectionId, parts.requestId, parts.target, parts.message].join("\0"))
    .digest("base64url")
    .slice(0, 22);
}
