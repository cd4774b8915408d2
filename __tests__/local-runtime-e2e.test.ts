/**
 * The chat end to end, as `npm start` runs it: the real synthesized stack and its bundled handlers in the
 * local runtime, real `ws` clients, dynalite. The protocol is docs/protocol.md.
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { expiresAt, ITEM_TTL_SECONDS, keys } from "../handlers/lib/store/table-schema";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { ApiGatewayManagementApiClient, GetConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { functionResource, synthesizeWorkspace, useBundle, writeBundle, writeVariant, type Workspace } from "./support/local-stacks";
import { HandshakeRefused, LogCollector, TestClient, waitFor } from "./support/ws-client";

let workspace: Workspace;
let runtime: LocalRuntime;
const logs = new LogCollector();
const clients: TestClient[] = [];

interface Chatter {
  readonly client: TestClient;
  readonly id: string;
}

/** A connected client and its connection id, which the $default route tells. */
async function chatter(target: LocalRuntime = runtime): Promise<Chatter> {
  const client = await TestClient.connect(target.wsUrl);
  clients.push(client);
  const info = await client.request<{ type: string; connectionId: string }>({ action: "whoami" });
  expect(info.type).toBe("info");
  return { client, id: info.connectionId };
}

function db(target: LocalRuntime): DynamoDBClient {
  return new DynamoDBClient({ endpoint: target.dynamodbEndpoint, region: target.region, credentials: target.adminCredentials });
}

/** Every item but the users' limits (frame buckets, seats), which outlive a connection until their TTL by design. */
async function tableItems(target: LocalRuntime): Promise<Record<string, any>[]> {
  const client = db(target);
  try {
    const items = (await client.send(new ScanCommand({ TableName: target.model.tables[0]!.name }))).Items ?? [];
    // The connections' items: not a user's limits, nor a room's record, which outlives its members.
    return items.filter((item) => !item.pk?.S?.startsWith("limits#") && !(item.pk?.S?.startsWith("hist#") && item.sk?.S === "room"));
  } finally {
    client.destroy();
  }
}

/** The next `count` frames of a client, parsed. */
async function collect(client: TestClient, count: number, timeoutMs = 10_000): Promise<any[]> {
  const frames: any[] = [];
  for (let i = 0; i < count; i += 1) frames.push(JSON.parse(await client.next(timeoutMs)));
  return frames;
}

beforeAll(async () => {
  workspace = synthesizeWorkspace("local-e2e");
  runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log });
}, 60_000);

afterEach(async () => {
  const closing = clients.splice(0);
  for (const client of closing) client.socket.terminate();
  // Each test starts with the connections of the earlier ones closed and their items gone (rooms' history stays).
  const connectionItems = async () => (await tableItems(runtime)).filter((item) => !/^(hist|msgid)#/.test(item.pk.S));
  await waitFor(async () => runtime.openConnections().length === 0 && (await connectionItems()).length === 0, 30_000, "connections to be cleaned up");
}, 40_000);

afterAll(async () => {
  await runtime?.stop();
  workspace?.remove();
});

describe("chat", () => {
  test("the tutorial's two-terminal demo: a message reaches the other terminal", async () => {
    const first = await chatter();
    const second = await chatter();
    first.client.send('{"action":"send-message","message":"hello!"}');
    const sent = await first.client.nextJson();
    expect(sent).toEqual({ type: "sent", id: expect.any(String), sentAt: expect.any(String), delivered: 1, stale: 0, failed: 0, incomplete: false });
    expect(await second.client.nextJson()).toEqual({
      type: "message",
      id: sent.id,
      message: "hello!",
      from: first.id,
      sender: { id: first.id, name: expect.stringMatching(/^guest-/), verified: false },
      sentAt: sent.sentAt,
    });
  });

  test("a room message reaches the room's members only, and no longer after they leave", async () => {
    const [alice, bob, carol] = [await chatter(), await chatter(), await chatter()];
    for (const member of [alice, bob]) expect(await member.client.request({ action: "join", room: "lobby" })).toEqual({ type: "joined", room: "lobby", seq: 0, private: false });
    const listed = await alice.client.request({ action: "members", room: "lobby" });
    expect(listed).toMatchObject({ type: "members", room: "lobby", truncated: false });
    expect(listed.members.map((member: { connectionId: string }) => member.connectionId).sort()).toEqual([alice.id, bob.id].sort());

    expect(await alice.client.request({ action: "send-message", room: "lobby", message: "members only" })).toMatchObject({ type: "sent", delivered: 1 });
    expect(await bob.client.nextJson()).toMatchObject({ type: "message", room: "lobby", message: "members only", from: alice.id });

    expect(await bob.client.request({ action: "leave", room: "lobby" })).toEqual({ type: "left", room: "lobby" });
    expect(await alice.client.request({ action: "send-message", room: "lobby", message: "anyone?" })).toMatchObject({ type: "sent", delivered: 0 });
    // Bob's and Carol's next frames are replies to their own requests: no room message came in between.
    expect(await bob.client.request({ action: "whoami" })).toMatchObject({ type: "info" });
    expect(await carol.client.request({ action: "whoami" })).toMatchObject({ type: "info" });
  });

  test("a direct message reaches only the named connection", async () => {
    const [alice, bob, carol] = [await chatter(), await chatter(), await chatter()];
    expect(await alice.client.request({ action: "send-message", to: bob.id, message: "psst" })).toMatchObject({ type: "sent", delivered: 1 });
    expect(await bob.client.nextJson()).toMatchObject({ type: "message", to: bob.id, message: "psst", from: alice.id });
    expect(await carol.client.request({ action: "whoami" })).toMatchObject({ type: "info" });
  });
});

describe("names (docs/protocol.md, \"Names\")", () => {
  test.each([
    ["an invisible Hangul filler", "\u3164"],
    ["a zero-width space", "ali\u200Bce"],
    ["a right-to-left override", "alice\u202Eevil"],
    ["Latin with a Cyrillic look-alike", "p\u0430ypal"],
  ])("?name= with %s is refused with HTTP 400 before the connection opens, and nothing is stored", async (_what, name) => {
    await expect(TestClient.connect(`${runtime.wsUrl}?name=${encodeURIComponent(name)}`)).rejects.toEqual(new HandshakeRefused(400));
    expect((await tableItems(runtime)).filter((item) => item.user?.M?.name?.S === name.normalize("NFKC"))).toEqual([]);
  });

  test("?name= is shown normalized: NFKC, trimmed, one space between words", async () => {
    const client = await TestClient.connect(`${runtime.wsUrl}?name=${encodeURIComponent("  Ａｌｉｃｅ   Liddell ")}`);
    clients.push(client);
    expect(await client.request({ action: "whoami" })).toMatchObject({ type: "info", broadcast: "everyone", user: { name: "Alice Liddell", verified: false } });
  });
});

describe("error frames", () => {
  test.each([
    ["INVALID_JSON", "not json"],
    ["INVALID_JSON", '{"action":"send-message",'],
    ["INVALID_MESSAGE", { action: "send-message" }],
    ["INVALID_MESSAGE", { action: "send-message", message: 42 }],
    ["INVALID_MESSAGE", { action: "send-message", message: "" }],
    ["INVALID_ROOM", { action: "join", room: "no spaces allowed" }],
    ["INVALID_ROOM", { action: "send-message", room: "", message: "hi" }],
    ["NOT_A_MEMBER", { action: "send-message", room: "elsewhere", message: "hi" }],
    ["UNKNOWN_RECIPIENT", { action: "send-message", to: "nobodyHere0000=", message: "hi" }],
    ["INVALID_TARGET", { action: "send-message", room: "lobby", to: "someone", message: "hi" }],
  ])("%s for %j: nothing is sent and the connection stays open", async (code, frame) => {
    const [sender, bystander] = [await chatter(), await chatter()];
    expect(await sender.client.request(frame)).toMatchObject({ type: "error", code, message: expect.any(String) });
    expect(sender.client.socket.readyState).toBe(sender.client.socket.OPEN);
    expect(await bystander.client.request({ action: "whoami" })).toMatchObject({ type: "info" });
  });

  test("MESSAGE_TOO_LARGE for a message over 32 KiB (sent in frames API Gateway accepts)", async () => {
    const sender = await chatter();
    const frame = Buffer.from(JSON.stringify({ action: "send-message", message: "é".repeat(17 * 1024) }));
    for (let offset = 0; offset < frame.length; offset += 30 * 1024) {
      sender.client.socket.send(frame.subarray(offset, offset + 30 * 1024), { binary: false, fin: offset + 30 * 1024 >= frame.length });
    }
    expect(await sender.client.nextJson()).toMatchObject({ type: "error", code: "MESSAGE_TOO_LARGE", action: "send-message" });
  });
});

describe("at scale and under failure", () => {
  test("200 concurrent connections each receive every broadcast exactly once", async () => {
    const crowd: Chatter[] = await Promise.all(Array.from({ length: 200 }, () => chatter()));
    const senders = crowd.slice(0, 3);
    senders.forEach((s, i) => s.client.send({ action: "send-message", message: `broadcast ${i}` }));

    // Senders get the two other broadcasts and their own `sent` frame, everyone else the three broadcasts.
    const received = await Promise.all(crowd.map((c) => collect(c.client, 3, 30_000)));
    for (const [i, frames] of received.entries()) {
      const expected = [0, 1, 2].filter((n) => n !== i).map((n) => `broadcast ${n}`);
      expect(frames.filter((f) => f.type === "message").map((f) => f.message).sort()).toEqual(expected);
      if (i < 3) expect(frames.find((f) => f.type === "sent")).toMatchObject({ type: "sent", delivered: 199, stale: 0, failed: 0, incomplete: false });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(crowd.filter((c) => c.client.unread.length > 0)).toEqual([]);
  }, 60_000);

  test("a client that vanishes without a close frame is cleaned up, and the others still get every message", async () => {
    const [alice, bob, ghost] = [await chatter(), await chatter(), await chatter()];
    await ghost.client.request({ action: "join", room: "lobby" });
    ghost.client.socket.terminate();
    await logs.waitFor(new RegExp(`^route \\$disconnect ${ghost.id.replace("=", "\\=")} 200`));
    expect((await tableItems(runtime)).filter((item) => JSON.stringify(item).includes(ghost.id))).toEqual([]);

    expect(await alice.client.request({ action: "send-message", message: "still there?" })).toMatchObject({ type: "sent", delivered: 1, stale: 0, failed: 0 });
    expect(await bob.client.nextJson()).toMatchObject({ message: "still there?" });
  });

  test("a connection whose socket is gone is removed on the first 410, without costing anyone a message", async () => {
    const [alice, bob] = [await chatter(), await chatter()];
    // What a missed $disconnect leaves behind: a connection API Gateway no longer has, opened long ago.
    await arrangeConnection("vanishedConn00=", Date.now() - 60_000);

    expect(await alice.client.request({ action: "send-message", message: "hi all" })).toMatchObject({ type: "sent", delivered: 1, stale: 1, failed: 0 });
    expect(await bob.client.nextJson()).toMatchObject({ message: "hi all" });
    expect((await tableItems(runtime)).filter((item) => JSON.stringify(item).includes("vanishedConn00="))).toEqual([]);
  });
});

/** Writes a connection's items as $connect would, for a connection the runtime never saw. */
async function arrangeConnection(connectionId: string, connectedAt: number, target: LocalRuntime = runtime): Promise<void> {
  const client = DynamoDBDocumentClient.from(db(target));
  const TableName = target.model.tables[0]!.name;
  const listed = { connectionId, connectedAt, userId: connectionId, expiresAt: expiresAt(connectedAt) };
  const user = { id: connectionId, name: "ghost", verified: false };
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName, Item: { ...keys.connection(connectionId), connectionId, connectedAt, user, expiresAt: expiresAt(connectedAt) } } },
          { Put: { TableName, Item: { ...keys.userConnection(connectionId, connectionId), ...listed } } },
          { Put: { TableName, Item: { ...keys.broadcast(connectionId), ...listed } } },
        ],
      }),
    );
  } finally {
    client.destroy();
  }
}

describe("on AWS's timing", () => {
  let slow: LocalRuntime;

  beforeAll(async () => {
    // $connect that, after the real handler stored the connection, keeps API Gateway waiting for
    // ?delayMs= before the handshake completes: the window in which AWS answers 410 for it.
    const stackDir = writeVariant(workspace, "slow-connect", (tf, dir) => {
      const [, connect] = functionResource(tf, "chat-connect");
      const archive = /^\$\{data\.archive_file\.([^.]+)\.output_path\}$/.exec(connect.filename)![1]!;
      const real = join(tf.data.archive_file[archive].source_dir, "index.js");
      const slowConnect = writeBundle(
        dir,
        "slow-connect",
        `const real = require(${JSON.stringify(real)});
exports.handler = async (event, context) => {
  const result = await real.handler(event, context);
  const delayMs = Number((event.queryStringParameters || {}).delayMs || 0);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  return result;
};`,
      );
      useBundle(tf, "chat-connect", slowConnect);
    });
    slow = await startLocalRuntime({ stackDir, port: 0, log: logs.log, ttl: { sweepIntervalMs: 200, deleteAfterMs: 3_000 } });
  }, 60_000);

  afterAll(async () => {
    await slow?.stop();
  });

  test("a broadcast during someone's $connect does not remove the newcomer, who gets every later message", async () => {
    const [alice, bob] = [await chatter(slow), await chatter(slow)];
    const opening = TestClient.connect(`${slow.wsUrl}?delayMs=1500`);
    const newcomerId = await waitFor(async () => {
      const ids = (await tableItems(slow)).filter((item) => item.sk?.S === "meta").map((item) => item.connectionId!.S as string);
      return ids.find((id) => id !== alice.id && id !== bob.id);
    }, 5000, "the newcomer's record");
    // As on AWS, @connections answers 410 for a connection whose $connect has not finished.
    const api = new ApiGatewayManagementApiClient({ endpoint: slow.managementUrl, region: slow.region, credentials: slow.adminCredentials });
    await expect(api.send(new GetConnectionCommand({ ConnectionId: newcomerId }))).rejects.toMatchObject({ name: "GoneException" });
    api.destroy();

    const during = await alice.client.request({ action: "send-message", message: "during the handshake" });
    const newcomer = await opening;
    clients.push(newcomer);

    expect(during).toMatchObject({ type: "sent", stale: 0 });
    expect(await bob.client.nextOfType("message")).toMatchObject({ message: "during the handshake" });
    expect((await tableItems(slow)).some((item) => item.connectionId?.S === newcomerId && item.sk?.S === "meta")).toBe(true);
    expect(await alice.client.request({ action: "send-message", message: "after the handshake" })).toMatchObject({ delivered: 2 });
    const seen = [await newcomer.nextOfType("message", 5000)];
    if (seen[0].message !== "after the handshake") seen.push(await newcomer.nextOfType("message", 5000));
    expect(seen.map((frame) => frame.message)).toContain("after the handshake");
  }, 30_000);

  test("a client that just got joined receives the very next room message", async () => {
    const [alice, bob] = [await chatter(slow), await chatter(slow)];
    await alice.client.request({ action: "join", room: "fresh" });
    for (let round = 0; round < 5; round += 1) {
      const joined = await bob.client.request({ action: "join", room: "fresh" });
      expect(joined).toEqual({ type: "joined", room: "fresh", seq: expect.any(Number), private: false });
      expect(await alice.client.request({ action: "send-message", room: "fresh", message: `round ${round}` })).toMatchObject({ delivered: 1 });
      // The very next message is the one after joined.seq.
      expect(await bob.client.nextOfType("message")).toMatchObject({ message: `round ${round}`, seq: joined.seq + 1 });
      expect(await bob.client.request({ action: "leave", room: "fresh" })).toEqual({ type: "left", room: "fresh" });
      expect(await alice.client.request({ action: "send-message", room: "fresh", message: `after leaving ${round}` })).toMatchObject({ delivered: 0 });
    }
  }, 30_000);

  test("a connection past its TTL is treated as gone at once, and its items are deleted later, as DynamoDB's TTL does", async () => {
    const [alice, bob] = [await chatter(slow), await chatter(slow)];
    // Expired a second ago: DynamoDB (here, the runtime's TTL) deletes it only some time later.
    await arrangeConnection("expiredConn000=", Date.now() - ITEM_TTL_SECONDS * 1000 - 1000, slow);

    expect(await alice.client.request({ action: "send-message", message: "who is here?" })).toMatchObject({ delivered: 1, stale: 0, failed: 0 });
    expect(await bob.client.nextOfType("message")).toMatchObject({ message: "who is here?" });
    expect(await alice.client.request({ action: "send-message", to: "expiredConn000=", message: "hello?" })).toMatchObject({ type: "error", code: "UNKNOWN_RECIPIENT" });
    expect((await tableItems(slow)).filter((item) => JSON.stringify(item).includes("expiredConn000="))).toHaveLength(3);
    await waitFor(async () => (await tableItems(slow)).every((item) => !JSON.stringify(item).includes("expiredConn000=")), 5000, "TTL to delete the items");
  }, 30_000);
});

describe("restarts", () => {
  test("a restart on the same data dir runs $disconnect for connections a crash left behind", async () => {
    const dataDir = join(workspace.dir, "crash-data");
    const first = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, dataDir, log: logs.log });
    for (let i = 0; i < 3; i += 1) {
      const { client } = await chatter(first);
      await client.request({ action: "join", room: "survivors" });
    }
    // Each: its record, its user's list entry, its broadcast list entry, and two membership items.
    expect((await tableItems(first)).length).toBe(15);
    await first.stop({ abandonConnections: true });

    const restartLogs = new LogCollector();
    const second = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, dataDir, log: restartLogs.log });
    try {
      expect(restartLogs.matching(/^route \$disconnect \S+ 200 /)).toHaveLength(3);
      expect(await tableItems(second)).toEqual([]);
    } finally {
      await second.stop();
    }
  });

  test("stopping closes every connection, and their items go with them", async () => {
    const dataDir = join(workspace.dir, "clean-data");
    const first = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, dataDir, log: logs.log });
    const { client } = await chatter(first);
    await client.request({ action: "join", room: "lobby" });
    await first.stop();
    expect((await client.closed).code).toBe(1001);

    const second = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, dataDir, log: logs.log });
    try {
      expect(await tableItems(second)).toEqual([]);
    } finally {
      await second.stop();
    }
  });
});

describe("stopping", () => {
  test("stopping in the middle of a broadcast closes cleanly, without crashing DynamoDB under the functions", async () => {
    const busy = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log, managementLatencyMs: 300 });
    const crowd = await Promise.all(Array.from({ length: 60 }, () => chatter(busy)));
    crowd[0]!.client.send({ action: "send-message", message: "last words" });
    await crowd[1]!.client.next(10_000);
    await busy.stop();
    expect(busy.openConnections()).toEqual([]);
    await Promise.all(crowd.map((c) => c.client.closed));
  }, 60_000);
});

describe("npm start", () => {
  test("serves a synthesized stack, prints its URLs, and on SIGTERM closes connections and exits", async () => {
    const cli = spawn(process.execPath, ["--import", "tsx", "local/main.ts", "--stack-dir", workspace.stackDir], {
      cwd: join(__dirname, ".."),
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    cli.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on("exit", resolve));
    try {
      const wsUrl = await waitFor(() => /WebSocket:\s+(ws:\/\/\S+)/.exec(output)?.[1], 20_000, "the printed WebSocket URL");
      expect(output).toMatch(/@connections:\s+http:\/\/127\.0\.0\.1:\d+\/prod\/@connections\/\{connectionId\}/);
      expect(output).toMatch(/Web client:\s+http:\/\/127\.0\.0\.1:\d+\//);
      expect(output).toContain(`npx wscat -c ${wsUrl}`);

      const client = await TestClient.connect(wsUrl);
      expect(await client.request({ action: "whoami" })).toMatchObject({ type: "info" });
      cli.kill("SIGTERM");
      expect((await client.closed).code).toBe(1001);
      expect(await exited).toBe(0);
      expect(output).toMatch(/route \$disconnect \S+ 200 /);
    } finally {
      cli.kill("SIGKILL");
    }
  }, 30_000);
});
