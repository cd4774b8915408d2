/**
 * Private rooms end to end as `npm start` runs them (docs/moderation.md): the synthesized stack, each route
 * under its own role checked by the local IAM, real `ws` clients, dynalite with transactions that conflict.
 * In none mode the owner is a connection; in jwt mode a user, whose other connections and admins get in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { GROUPS_CLAIM } from "../local/identity-provider/local-issuer";
import { synthesizeJwtWorkspace, synthesizeWorkspace, type Workspace } from "./support/local-stacks";
import { LogCollector, TestClient } from "./support/ws-client";

const clients: TestClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

async function open(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  return client;
}

/** Two create-rooms of one name over two connections at once: one `created`, one ROOM_EXISTS, one member. */
async function expectOneOfTwoCreates(a: TestClient, b: TestClient, room: string): Promise<void> {
  const replies = await Promise.all([a, b].map((client) => client.request({ action: "create-room", room, private: true })));
  expect(replies.map((reply) => reply.type === "created" ? "created" : reply.code).sort()).toEqual(["ROOM_EXISTS", "created"]);
  const winner = replies[0].type === "created" ? a : b;
  const loser = winner === a ? b : a;
  const listed = await winner.request({ action: "members", room });
  expect(listed).toMatchObject({ type: "members", room, truncated: false });
  expect(listed.members).toHaveLength(1);
  expect(await loser.request({ action: "join", room })).toMatchObject({ type: "error", code: "FORBIDDEN" });
}

describe("none mode: the owner is the connection", () => {
  let workspace: Workspace;
  let runtime: LocalRuntime;
  const logs = new LogCollector();

  beforeAll(async () => {
    workspace = synthesizeWorkspace("local-private-rooms");
    runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log });
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
    workspace?.remove();
  });

  test("create-room private answers created; another connection's join and members get FORBIDDEN", async () => {
    const owner = await open(runtime.wsUrl);
    const other = await open(runtime.wsUrl);
    const { connectionId } = await owner.request({ action: "whoami" });

    const created = await owner.request({ action: "create-room", room: "den", private: true });
    expect(created).toEqual({ type: "created", room: "den", private: true, owner: expect.objectContaining({ id: connectionId, verified: false }), seq: 0 });

    expect(await other.request({ action: "join", room: "den" })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
    expect(await other.request({ action: "members", room: "den" })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "members" });
    expect(await other.request({ action: "history", room: "den" })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "history" });
    // The owner is a member and hears nobody join.
    expect((await owner.request({ action: "members", room: "den" })).members).toEqual([expect.objectContaining({ connectionId })]);
    expect(await other.request({ action: "create-room", room: "den" })).toMatchObject({ type: "error", code: "ROOM_EXISTS" });
  }, 30_000);

  test("two create-rooms of one name over two connections: one wins", async () => {
    await expectOneOfTwoCreates(await open(runtime.wsUrl), await open(runtime.wsUrl), "duel");
  }, 30_000);
});

describe("jwt mode: the owner is a user", () => {
  let dir: string;
  let runtime: LocalRuntime;
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "local-private-rooms-jwt-"));
    runtime = await startLocalRuntime({
      stackDir: ({ httpUrl }) => synthesizeJwtWorkspace(dir, "cdktf.out", httpUrl).stackDir,
      localIssuer: true,
      port: 0,
      log: () => undefined,
    });
  }, 90_000);
  afterAll(async () => {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function connectAs(sub: string, groups: string[] = []): Promise<TestClient> {
    const token = await runtime.issuer!.sign({ sub, name: sub, [GROUPS_CLAIM]: groups, exp: nowSeconds() + 600 });
    return open(`${runtime.wsUrl}?token=${token}`);
  }

  test("create-room private: an outsider's join and members get FORBIDDEN; the owner's other connection and an admin get in", async () => {
    const owner = await connectAs("olga");
    const created = await owner.request({ action: "create-room", room: "team", private: true });
    expect(created).toEqual({ type: "created", room: "team", private: true, owner: { id: "olga", name: "olga", verified: true }, seq: 0 });

    const outsider = await connectAs("otto");
    expect(await outsider.request({ action: "join", room: "team" })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
    expect(await outsider.request({ action: "members", room: "team" })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "members" });

    const ownersPhone = await connectAs("olga");
    expect(await ownersPhone.request({ action: "join", room: "team" })).toEqual({ type: "joined", room: "team", seq: 0, private: true, owner: created.owner });
    const admin = await connectAs("ada", ["chat-admins"]);
    expect(await admin.request({ action: "join", room: "team" })).toMatchObject({ type: "joined", private: true });
    // The room hears its members arrive; the outsider was never one.
    const names = (await owner.request({ action: "members", room: "team" })).members.map((member: { user: { id: string } }) => member.user.id).sort();
    expect(names).toEqual(["ada", "olga", "olga"]);
  }, 30_000);

  test("two create-rooms of one name over two connections of two users: one wins", async () => {
    await expectOneOfTwoCreates(await connectAs("rita"), await connectAs("rolf"), "duel");
  }, 30_000);
});
