/**
 * The limits through `npm start`'s runtime, with real ws clients against the real stack in jwt mode
 * (docs/limits.md): the per-user frame rate over two connections in parallel, connections per user (HTTP
 * 429 at the handshake), rooms per connection, and a token that expires while connected (TOKEN_EXPIRED, then
 * the server closes the socket through @connections DELETE under the function's own IAM).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { localIssuerSettings } from "../local/identity-provider/local-issuer";
import { synthesizeStack } from "../local/terraform/synth";
import { editRolePolicy, writeVariant } from "./support/local-stacks";
import { HandshakeRefused, TestClient } from "./support/ws-client";

const RATE = 4;
const BURST = 6;
let dir: string;
let runtime: LocalRuntime;
const clients: TestClient[] = [];
const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "local-limits-"));
  runtime = await startLocalRuntime({
    stackDir: ({ httpUrl }) =>
      synthesizeStack({
        outdir: join(dir, "cdktf.out"),
        env: {
          ...localIssuerSettings(httpUrl),
          CHAT_USER_RATE: String(RATE),
          CHAT_USER_BURST: String(BURST),
          CHAT_MAX_CONNECTIONS_PER_USER: "2",
          CHAT_MAX_ROOMS_PER_CONNECTION: "2",
        },
        warn: () => undefined,
      }),
    localIssuer: true,
    port: 0,
    log: () => undefined,
  });
}, 90_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connectAs(sub: string, exp = nowSeconds() + 600): Promise<TestClient> {
  const token = await runtime.issuer!.sign({ sub, name: sub, exp });
  const client = await TestClient.connect(`${runtime.wsUrl}?token=${token}`);
  clients.push(client);
  return client;
}

test("a user's frames in parallel over two connections: never more allowed than burst + rate × elapsed; another user is unaffected", async () => {
  const [a, b] = [await connectAs("rita"), await connectAs("rita")];
  const other = await connectAs("otto");
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).request({ action: "members", room: "lobby" })));
  const elapsedS = (Date.now() - started) / 1000;
  const allowed = replies.filter((reply) => reply.code === "NOT_A_MEMBER").length;
  const limited = replies.filter((reply) => reply.code === "RATE_LIMITED");
  expect(allowed + limited.length).toBe(30);
  expect(allowed).toBeGreaterThanOrEqual(BURST);
  expect(allowed).toBeLessThanOrEqual(BURST + Math.ceil(RATE * elapsedS));
  for (const reply of limited) expect(reply.retryAfterMs).toBeGreaterThan(0);
  // Both connections stay open, and otto's bucket is his own.
  expect((await other.request({ action: "members", room: "lobby" })).code).toBe("NOT_A_MEMBER");
  expect(a.socket.readyState).toBe(a.socket.OPEN);
  expect(b.socket.readyState).toBe(b.socket.OPEN);
}, 60_000);

test("the third connection of a user is refused with HTTP 429; closing one frees its seat", async () => {
  const first = await connectAs("cleo");
  await connectAs("cleo");
  await expect(connectAs("cleo")).rejects.toEqual(new HandshakeRefused(429));
  await first.close();
  // $disconnect runs after the close (a cold start on a loaded machine may take seconds): the seat is back
  // once it has.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await connectAs("cleo");
      break;
    } catch (error) {
      if (!(error instanceof HandshakeRefused) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}, 40_000);

test("the third room of a connection gets TOO_MANY_ROOMS", async () => {
  const client = await connectAs("rory");
  expect((await client.request({ action: "join", room: "one" })).type).toBe("joined");
  expect((await client.request({ action: "join", room: "two" })).type).toBe("joined");
  expect(await client.request({ action: "join", room: "three" })).toMatchObject({ type: "error", code: "TOO_MANY_ROOMS" });
}, 30_000);

test("a frame after the token's exp gets TOKEN_EXPIRED, then the server closes the connection", async () => {
  // The authorizer allows a few seconds of clock skew at the handshake; frames are held to exp itself.
  const client = await connectAs("eve", nowSeconds() - 2);
  const reply = await client.request({ action: "join", room: "lobby", requestId: "late-1" });
  expect(reply).toMatchObject({ type: "error", code: "TOKEN_EXPIRED", requestId: "late-1" });
  // Closed by the server (the runtime closes a DELETEd connection with 1000), with nothing after the error frame.
  expect(await client.closed).toEqual({ code: 1000, reason: "" });
  expect(client.unread).toEqual([]);
}, 30_000);

describe("closing needs the DELETE grant", () => {
  let withoutDelete: LocalRuntime;
  beforeAll(async () => {
    withoutDelete = await startLocalRuntime({
      stackDir: ({ httpUrl }) => {
        const stackDir = synthesizeStack({ outdir: join(dir, "no-delete"), env: localIssuerSettings(httpUrl), warn: () => undefined });
        // join's role as shipped, but for its DELETE on @connections.
        return writeVariant({ dir, stackDir, remove: () => undefined }, "no-delete-variant", (tf) =>
          editRolePolicy(tf, "chat-join", (statements) =>
            statements.map((statement) => ({ ...statement, Resource: [statement.Resource].flat().filter((resource: string) => !resource.includes("/DELETE/")) })),
          ),
        );
      },
      localIssuer: true,
      port: 0,
      log: () => undefined,
    });
  }, 90_000);
  afterAll(() => withoutDelete?.stop());

  test("the runtime refuses the DELETE (AccessDenied, as on AWS): the connection stays open and the frame gets INTERNAL after the TOKEN_EXPIRED post", async () => {
    const token = await withoutDelete.issuer!.sign({ sub: "ivy", name: "ivy", exp: nowSeconds() - 2 });
    const client = await TestClient.connect(`${withoutDelete.wsUrl}?token=${token}`);
    clients.push(client);
    expect(await client.request({ action: "join", room: "lobby", requestId: "d-1" })).toMatchObject({ code: "TOKEN_EXPIRED" });
    expect(await client.nextJson()).toMatchObject({ code: "INTERNAL", requestId: "d-1" });
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  }, 30_000);
});
