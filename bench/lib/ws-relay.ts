import { WebSocket, WebSocketServer } from "ws";

export interface WsRelay {
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/**
 * The floor our runtime sits on: a bare `ws` server that forwards direct messages by connection id and
 * does nothing else (no routes, functions, DynamoDB or IAM). It speaks just enough of the chat protocol for
 * the capacity figure's clients: `{"action":"send-message","to":<id>,"message":...}` is forwarded as a
 * `message` frame; any other frame is answered with an `info` frame carrying the sender's id.
 */
export function startWsRelay(host: string): Promise<WsRelay> {
  const sockets = new Map<string, WebSocket>();
  let nextId = 0;
  const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false });
  wss.on("connection", (socket) => {
    const id = `relay-${(nextId++).toString(36)}`;
    sockets.set(id, socket);
    socket.on("close", () => sockets.delete(id));
    socket.on("message", (data) => {
      const frame = parse(data.toString());
      if (frame?.action === "send-message" && typeof frame.to === "string") {
        sockets.get(frame.to)?.send(JSON.stringify({ type: "message", message: frame.message, from: id, to: frame.to }));
      } else {
        socket.send(JSON.stringify({ type: "info", connectionId: id }));
      }
    });
  });
  return new Promise((resolve, reject) => {
    wss.once("error", reject);
    wss.once("listening", () => {
      const { port } = wss.address() as { port: number };
      resolve({
        wsUrl: `ws://${host}:${port}`,
        stop: () =>
          new Promise<void>((done) => {
            for (const socket of sockets.values()) socket.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
