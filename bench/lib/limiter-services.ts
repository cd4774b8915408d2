/**
 * Child-process entry for the limiter figure: everything send-message and join talk to, in a process of its own so
 * that only the handler's CPU is counted in the measured one. The local runtime's DynamoDB (dynalite with
 * what it adds, ALL_OLD on a failed condition included) behind a proxy that counts calls by operation; an
 * @connections stand-in answering every POST 200; the connections arranged as $connect makes them.
 *   node --import tsx limiter-services.ts '{"senders":300}'   → sends { dynamodb, connections } over IPC;
 *   answers "counts" with the calls counted since the last "counts".
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { anonymousUser } from "../../handlers/lib/auth/user";
import { ConnectionStore } from "../../handlers/lib/store/connection-store";
import { startLocalDynamoDb } from "../../local/services/dynamodb";
import { connectionsTableModel } from "../../__tests__/support/dynalite";

export const TABLE = "chat-connections";
export const RECIPIENT = "recipient";
export const senderId = (i: number) => `sender-${i}`;

async function main(): Promise<void> {
  const { senders } = JSON.parse(process.argv[2] ?? "{}") as { senders: number };
  process.env.AWS_REGION = "us-east-1";
  process.env.AWS_ACCESS_KEY_ID = "AKIDBENCH";
  process.env.AWS_SECRET_ACCESS_KEY = "bench";
  const dynamo = await startLocalDynamoDb({
    tables: [connectionsTableModel(TABLE)],
    region: "us-east-1",
    account: "000000000000",
    log: () => undefined,
  });
  const store = new ConnectionStore(DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint })), { tableName: TABLE });
  for (const id of [RECIPIENT, ...Array.from({ length: senders }, (_, i) => senderId(i))]) {
    await store.addConnection({ connectionId: id, connectedAt: Date.now() - 60_000, user: anonymousUser(id, id) });
  }

  const target = new URL(dynamo.endpoint);
  let counts: Record<string, number> = {};
  const proxy = createServer((req, res) => {
    const target_ = String(req.headers["x-amz-target"] ?? "");
    const operation = target_.slice(target_.lastIndexOf(".") + 1);
    counts[operation] = (counts[operation] ?? 0) + 1;
    const forwarded = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forwarded);
  });
  proxy.keepAliveTimeout = 60_000;
  const connections = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "Content-Length": 0, "x-amzn-RequestId": "stub" }).end());
  });
  connections.keepAliveTimeout = 60_000;
  const listen = (server: typeof proxy) => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  const [proxyPort, connectionsPort] = [await listen(proxy), await listen(connections)];
  process.on("message", (message) => {
    if (message === "counts") {
      process.send!({ counts });
      counts = {};
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send!({ dynamodb: `http://127.0.0.1:${proxyPort}`, connections: `http://127.0.0.1:${connectionsPort}/prod` });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
