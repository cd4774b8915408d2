import type { IncomingMessage } from "node:http";

/**
 * A request's whole body, or undefined once it passes `limit` bytes: the rest is read and dropped, so the
 * answer (a 413 of the caller's choosing) still reaches the client instead of a reset connection.
 */
export function readBody(req: IncomingMessage, limit = Infinity): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
