import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { signedHttp } from "../handlers/lib/aws/signed-http";
import { closeServer, listen } from "../local/http/servers";

// The signed client's own limits against real sockets: a connection that never opens, and the keep-alive
// connection it reuses afterwards.
const CONNECT_TIMEOUT_MS = 300;

beforeAll(() => {
  Object.assign(process.env, { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIDSIGNEDHTTP", AWS_SECRET_ACCESS_KEY: "signed-http-secret" });
});

const post = (endpoint: string, http = signedHttp(endpoint, { service: "dynamodb", connectionTimeoutMs: CONNECT_TIMEOUT_MS })) =>
  http.request({ method: "POST", path: "/", headers: { "content-type": "application/x-amz-json-1.0" }, body: Buffer.from("{}"), signal: new AbortController().signal });

/**
 * A port whose TCP handshakes never complete: a listener in a stopped process (backlog 1) whose accept queue
 * is already full of connections nobody accepts, so the kernel drops further SYNs and `connect` waits.
 */
class Blackhole {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly fillers: Socket[],
  ) {}

  static async start(): Promise<Blackhole> {
    const script = `require("node:net").createServer().listen({ host: "127.0.0.1", port: 0, backlog: 1 }, function () { console.log(this.address().port); });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const [line] = (await once(child.stdout!, "data")) as [Buffer];
    const port = Number(line.toString().trim());
    child.kill("SIGSTOP");
    // More than the queue holds: those beyond it stay in SYN_SENT, as the client's will.
    const fillers = Array.from({ length: 4 }, () => connect(port, "127.0.0.1").on("error", () => undefined));
    await sleep(200);
    return new Blackhole(child, port, fillers);
  }

  stop(): void {
    for (const socket of this.fillers) socket.destroy();
    this.child.kill("SIGKILL");
  }
}

test("a connection that does not open in time fails with a TimeoutError instead of waiting on the kernel", async () => {
  const blackhole = await Blackhole.start();
  try {
    const started = performance.now();
    await expect(post(`http://127.0.0.1:${blackhole.port}`)).rejects.toMatchObject({ name: "TimeoutError" });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 20);
    // Linux retries a dropped SYN after 1 s: failing well before shows it is our timer that ended it.
    expect(waited).toBeLessThan(CONNECT_TIMEOUT_MS + 500);
  } finally {
    blackhole.stop();
  }
}, 5_000);

describe("against a server that answers", () => {
  let server: Server;
  let endpoint: string;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    });
    server.on("connection", (socket) => sockets.add(socket));
    endpoint = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => closeServer(server));

  test("a request that outlives the connection timeout on an open connection is not cut off by it", async () => {
    const http = signedHttp(endpoint, { service: "dynamodb", connectionTimeoutMs: CONNECT_TIMEOUT_MS });
    const first = await post(endpoint, http);
    first.resume();
    await once(first, "end");
    // The kept-alive connection is reused, so the connection timer must be long gone.
    await sleep(CONNECT_TIMEOUT_MS + 100);
    const second = await post(endpoint, http);
    expect(second.statusCode).toBe(200);
    second.resume();
    await once(second, "end");
    expect(sockets.size).toBe(1);
  });
});

describe("a kept-alive connection the server drops as idle", () => {
  let server: Server;
  let endpoint: string;
  let requests = 0;

  beforeAll(async () => {
    // Answers the first request on each connection, and resets the connection when a second one arrives
    // on it: what a server closing an idle keep-alive connection as the next request goes out looks like.
    server = createServer((req, res) => {
      req.resume();
      requests += 1;
      const perSocket = ((req.socket as Socket & { served?: number }).served = ((req.socket as Socket & { served?: number }).served ?? 0) + 1);
      if (perSocket > 1) return void req.socket.resetAndDestroy();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"));
    });
    endpoint = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => closeServer(server));

  test("a request reset on a reused connection is sent once more on a new one", async () => {
    const http = signedHttp(endpoint, { service: "dynamodb", connectionTimeoutMs: CONNECT_TIMEOUT_MS });
    const first = await post(endpoint, http);
    first.resume();
    await once(first, "end");
    const second = await post(endpoint, http);
    expect(second.statusCode).toBe(200);
    second.resume();
    await once(second, "end");
    expect(requests).toBe(3);
  });
});
