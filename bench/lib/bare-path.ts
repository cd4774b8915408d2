import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { WebSocket } from "ws";
import { readBody } from "../../local/http/request-body";
import { closeServer, listen } from "../../local/http/servers";
import { type DirectMessageServer, startDirectMessageServer } from "./direct-message-server";

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
 * DynamoDB, Lambda event, metrics or logs. The clients' other frames are answered as the relay's are
 * (direct-message-server.ts).
 */
export async function startBarePath(host: string): Promise<BarePath> {
  const awaitingReply = new Map<number, WebSocket>();
  let nextInvocation = 0;
  const gateway: DirectMessageServer = await startDirectMessageServer(host, "bare", (connectionId, _frame, body, sender) => {
    const id = nextInvocation++;
    awaitingReply.set(id, sender);
    worker.postMessage({ id, connectionId, body });
  });

  const services = createServer((req, res) => void serve(req, res));
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = JSON.parse((await readBody(req))!.toString("utf8")) as { keys?: string[]; to?: string; frame?: unknown };
    let answer: unknown = {};
    if (req.url === "/read") answer = { Responses: { connections: (request.keys ?? []).map((id) => ({ connectionId: id })) } };
    else gateway.connection(String(request.to))?.send(JSON.stringify(request.frame));
    const body = JSON.stringify(answer);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }
  const servicesPort = await listen(services, host);

  // Created before any client connects: the figure's clients connect once this server is ready.
  const worker = new Worker(join(__dirname, "bare-path-worker.cjs"), { workerData: { port: servicesPort } });
  worker.on("message", ({ id, reply }: { id: number; reply: string }) => {
    awaitingReply.get(id)?.send(reply);
    awaitingReply.delete(id);
  });

  return {
    wsUrl: gateway.wsUrl,
    async stop() {
      await gateway.stop();
      await worker.terminate();
      await closeServer(services);
    },
  };
}
