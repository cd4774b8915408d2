import { type DirectMessageServer, startDirectMessageServer } from "./direct-message-server";

/**
 * The floor our runtime sits on: a bare `ws` server that forwards direct messages by connection id and
 * does nothing else (no routes, functions, DynamoDB or IAM). A `send-message` frame is forwarded as a
 * `message` frame (direct-message-server.ts answers the clients' other frames).
 */
export async function startWsRelay(host: string): Promise<DirectMessageServer> {
  const server: DirectMessageServer = await startDirectMessageServer(host, "relay", (from, { to, message }) =>
    server.connection(to)?.send(JSON.stringify({ type: "message", message, from, to })),
  );
  return server;
}
