import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { type WebSocket, WebSocketServer } from "ws";
import { readBody } from "../../local/http/request-body";
import { closeServer, listen } from "../../local/http/servers";

export interface BarePath {
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/**
 * The local runtime's path for a direct message with nothing on it: what its architecture costs before any
 * of the AWS it emulates. A `ws` server hands each `send-message` frame to a worker thread (as the gateway
 * invokes a function there), which makes two keep-alive HTTP calls back to the main thread (as the handler
 * reads DynamoDB and posts to @connections): a read answered with two records, then the post, which sends
 * the recipient its `message` frame. The worker's reply is the sender's `sent` frame. No SigV4, IAM,
 * DynamoDB, Lambda event, metrics or logs. Any other frame is answered with the sender's id, as the relay does.
 */
export async function startBarePath(host: string): Promise<BarePath> {
  const sockets = new Map<string, WebSocket>();
  const awaitingReply = new Map<number, WebSocket>();
  let nextConnection = 0;
  let nextInvocation = 0;

  const services = createServer((req, res) => void serve(req, res));
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = JSON.parse((await readBody(req))!.toString("utf8")) as { keys?: string[]; to?: string; frame?: unknown };
    let answer: unknown = {};
    if (req.url === "/read") answer = { Responses: { connections: (request.keys ?? []).map((id) => ({ connectionId: id })) } };
    else sockets.get(String(request.to))?.send(JSON.stringify(request.frame));
    const body = JSON.stringify(answer);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }
  const servicesPort = await listen(services, host);

  const worker = new Worker(join(__dirname, "bare-path-worker.cjs"), { workerData: { port: servicesPort } });
  worker.on("message", ({ id, reply }: { id: number; reply: string }) => {
    awaitingReply.get(id)?.send(reply);
    awaitingReply.delete(id);
  });

  const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false });
  wss.on("connection", (socket) => {
    const connectionId = `bare-${(nextConnection++).toString(36)}`;
    sockets.set(connectionId, socket);
    socket.on("close", () => sockets.delete(connectionId));
    socket.on("message", (data) => {
      const body = data.toString();
      if (!body.includes('"send-message"')) return socket.send(JSON.stringify({ type: "info", connectionId }));
      const id = nextInvocation++;
      awaitingReply.set(id, socket);
      worker.postMessage({ id, connectionId, body });
    });
  });
  await new Promise<void>((resolve, reject) => wss.once("listening", resolve).once("error", reject));

  return {
    wsUrl: `ws://${host}:${(wss.address() as AddressInfo).port}`,
    async stop() {
      for (const socket of sockets.values()) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await worker.terminate();
      await closeServer(services);
    },
  };
}
