/**
 * Child-process entry for the post-cpu figure, bundled like a handler (constructs/bundle.ts's options) so
 * the code measured is the code Lambda runs: posts to AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI, `concurrency`
 * at a time, one way per variant, and prints the CPU time the process spent on the measured posts.
 *   node <bundle>/index.js '{"variant":"fan-out","posts":20000,"concurrency":25}'
 * Variants: "fan-out" (handlers/lib/fan-out/fan-out.ts posting with the shipped @connections client), "fan-out-sdk"
 * (the same fan-out posting with the SDK's ApiGatewayManagementApiClient, as before), "floor" (no fan-out:
 * a loop signing each request with aws4, as the shipped client does, and sending it with node:https).
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { sign } from "aws4";
import { Agent, request } from "node:https";
import { managementApi, POST_TIMEOUT_MS } from "../../handlers/lib/aws/clients";
import { fanOut } from "../../handlers/lib/fan-out/fan-out";

interface LoopSpec {
  readonly variant: "fan-out" | "fan-out-sdk" | "floor";
  readonly posts: number;
  readonly concurrency: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as LoopSpec;
const endpoint = new URL(process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI!);
/** A chat message frame of the usual size. */
const data = Buffer.from(
  JSON.stringify({
    type: "message",
    id: "3q2+7wAAAAB4yW0Qb5vFzA",
    message: "Hello everyone, the build is green again and the release goes out at five.",
    from: "L0SM9cOFvHcCIhw=",
    sender: { id: "local-6f1c0e2a", name: "alice", verified: true },
    sentAt: new Date().toISOString(),
  }),
);
/** Connection ids shaped like API Gateway's. */
const connectionId = (i: number) => `L0SM${i.toString(36).padStart(10, "0")}w=`;

function fanOutWith(post: (id: string, signal: AbortSignal) => Promise<unknown>) {
  return async (posts: number) => {
    const recipients = Array.from({ length: posts }, (_, i) => ({ connectionId: connectionId(i), connectedAt: 0 }));
    const counts = await fanOut({ recipients, post: (r, signal) => post(r.connectionId, signal), concurrency: spec.concurrency, remainingTimeMs: () => 600_000 });
    if (counts.delivered !== posts) throw new Error(`${spec.variant}: delivered ${counts.delivered} of ${posts}`);
  };
}

function floor() {
  const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!, sessionToken: process.env.AWS_SESSION_TOKEN };
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  const port = Number(endpoint.port);
  const postOne = async (id: string) => {
    const path = `${endpoint.pathname}/@connections/${encodeURIComponent(id)}`;
    const signed = sign(
      { service: "execute-api", region: process.env.AWS_REGION!, method: "POST", host: endpoint.host, path, headers: { "content-type": "application/octet-stream", "content-length": String(data.length) }, body: data },
      credentials,
    );
    await new Promise<void>((resolve, reject) => {
      const req = request({ agent, hostname: endpoint.hostname, port, path, method: "POST", headers: signed.headers as Record<string, string> }, (res) => {
        res.resume();
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        else res.once("end", resolve);
      });
      req.once("error", reject);
      req.end(data);
    });
  };
  return async (posts: number) => {
    let next = 0;
    const worker = async () => {
      while (next < posts) await postOne(connectionId(next++));
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  };
}

function loopOf(variant: LoopSpec["variant"]): (posts: number) => Promise<void> {
  switch (variant) {
    case "fan-out": {
      const api = managementApi();
      return fanOutWith((id, signal) => api.post(id, data, signal));
    }
    case "fan-out-sdk": {
      // As handlers/lib/aws/clients.ts made it before the @connections client replaced it.
      const sdk = new ApiGatewayManagementApiClient({
        endpoint: endpoint.href.replace(/\/$/, ""),
        maxAttempts: 1,
        requestHandler: { requestTimeout: POST_TIMEOUT_MS, connectionTimeout: 1_000, throwOnRequestTimeout: true },
      });
      return fanOutWith((id, abortSignal) => sdk.send(new PostToConnectionCommand({ ConnectionId: id, Data: data }), { abortSignal }));
    }
    case "floor":
      return floor();
  }
}

async function main(): Promise<void> {
  const loop = loopOf(spec.variant);
  // Warm-up: V8 compiles the hot paths and the agent opens its sockets before anything is counted.
  await loop(Math.min(2000, spec.posts));
  const before = process.cpuUsage();
  const started = performance.now();
  await loop(spec.posts);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(before);
  process.stdout.write(`${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs, posts: spec.posts })}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
