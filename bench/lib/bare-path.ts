import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { WebSocket } from "ws";
import { readBody } from "../../local/http/request-body";
import { closeServer, listen } from "../../local/http/servers";
import { type DirectMessageServer, startDirectMessageServer } from "./direct-message-server";

/** How the worker's calls reach the main thread: loopback HTTP as the handlers' do, or its message port. */
export type BarePathTransport = "http" | "port";

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
 * (direct-message-server.ts). With `transport` "port" the two calls are messages on the worker's port
 * instead of HTTP: what the runtime's loopback HTTP between its threads costs.
 */
export async function startBarePath(host: string, transport: BarePathTransport = "http"): Promise<BarePath> {
  const awaitingReply = new Map<number, WebSocket>();
  let nextInvocation = 0;
  const gateway: DirectMessageServer = await startDirectMessageServer(host, "bare", (connectionId, _frame, body, sender) => {
    const id = nextInvocation++;
    awaitingReply.set(id, sender);
    worker.postMessage({ id, connectionId, body });
  });

  /** One call: a read is answered with both records; a post sends the recipient its frame. */
  function answer(path: string | undefined, body: Uint8Array): Buffer {
    const request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")) as { keys?: string[]; to?: string; frame?: unknown };
    let answer: unknown = {};
    if (path === "/read") answer = { Responses: { connections: (request.keys ?? []).map((id) => ({ connectionId: id })) } };
    else gateway.connection(String(request.to))?.send(JSON.stringify(request.frame));
    return Buffer.from(JSON.stringify(answer));
  }

  // Over HTTP the calls come to a server of their own; over the port, to the worker's message handler below.
  const services = transport === "http" ? createServer((req, res) => void serve(req, res)) : undefined;
  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = answer(req.url, (await readBody(req))!);
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
  }
  const servicesPort = services && (await listen(services, host));

  // Created before any client connects: the figure's clients connect once this server is ready.
  const worker = new Worker(join(__dirname, "bare-path-worker.cjs"), { workerData: { port: servicesPort, transport } });
  worker.on("message", (message: { id: number; reply: string } | { call: number; path: string; body: Uint8Array }) => {
    if ("call" in message) {
      worker.postMessage({ call: message.call, answer: answer(message.path, message.body) });
      return;
    }
    awaitingReply.get(message.id)?.send(message.reply);
    awaitingReply.delete(message.id);
  });

  return {
    wsUrl: gateway.wsUrl,
    async stop() {
      await gateway.stop();
      await worker.terminate();
      if (services) await closeServer(services);
    },
  };
}
