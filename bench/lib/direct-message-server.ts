import type { AddressInfo } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

export interface DirectMessageServer {
  readonly wsUrl: string;
  /** The open connection with this id, if there is one. */
  connection(id: string): WebSocket | undefined;
  stop(): Promise<void>;
}

export interface SendMessageFrame {
  readonly to: string;
  readonly message?: unknown;
}

/**
 * The `ws` side shared by the capacity figure's two baselines (ws-relay.ts, bare-path.ts). It gives each
 * connection an id and speaks just enough of the chat protocol for the figure's clients. A frame
 * `{"action":"send-message","to":<id>,...}` goes to `onSendMessage` with the sender's id, the frame and its
 * text. Any other frame is answered with an `info` frame carrying the sender's id.
 */
export async function startDirectMessageServer(
  host: string,
  idPrefix: string,
  onSendMessage: (from: string, frame: SendMessageFrame, text: string, sender: WebSocket) => void,
): Promise<DirectMessageServer> {
  const sockets = new Map<string, WebSocket>();
  let nextId = 0;
  const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false });
  wss.on("connection", (socket) => {
    const id = `${idPrefix}-${(nextId++).toString(36)}`;
    sockets.set(id, socket);
    socket.on("close", () => sockets.delete(id));
    socket.on("message", (data) => {
      const text = data.toString();
      const frame = parse(text);
      if (frame?.action === "send-message" && typeof frame.to === "string") onSendMessage(id, { to: frame.to, message: frame.message }, text, socket);
      else socket.send(JSON.stringify({ type: "info", connectionId: id }));
    });
  });
  await new Promise<void>((resolve, reject) => wss.once("listening", resolve).once("error", reject));
  return {
    wsUrl: `ws://${host}:${(wss.address() as AddressInfo).port}`,
    connection: (id) => sockets.get(id),
    stop: () =>
      new Promise<void>((done) => {
        for (const socket of sockets.values()) socket.terminate();
        wss.close(() => done());
      }),
  };
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
