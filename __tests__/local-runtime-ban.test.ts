/**
 * Account bans through `npm start`'s runtime in jwt mode, with real ws clients against the real stack (its
 * authorizer, $connect and ban functions under their own IAM on the local DynamoDB): a ban closes every
 * connection of the user through @connections DELETE, the user's handshakes are refused with HTTP 403 while
 * it lasts, and `seconds: 0` lets them in again (docs/moderation.md, "Account bans").
 */
import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { localIssuerSettings } from "../local/identity-provider/local-issuer";
import { synthesizeStack } from "../local/terraform/synth";
import { keys } from "../handlers/lib/store/table-schema";
import { functionResource, useBundle, writeBundle, writeVariant } from "./support/local-stacks";
import { HandshakeRefused, TestClient, waitFor } from "./support/ws-client";

let dir: string;
let runtime: LocalRuntime;
const clients: TestClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "local-ban-"));
  runtime = await startLocalRuntime({
    stackDir: ({ httpUrl }) => synthesizeStack({ outdir: join(dir, "cdktf.out"), env: localIssuerSettings(httpUrl), warn: () => undefined }),
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

async function connectAs(name: string, groups: string[] = []): Promise<TestClient> {
  const { token } = await runtime.issuer!.mint(name, { groups });
  const client = await TestClient.connect(`${runtime.wsUrl}?token=${token}`);
  clients.push(client);
  return client;
}

test("an admin bans a user with two open connections: both close, a new handshake gets HTTP 403; seconds 0 lifts it and a handshake succeeds", async () => {
  const admin = await connectAs("ada", ["chat-admins"]);
  const [first, second] = [await connectAs("troll"), await connectAs("troll")];
  const bystander = await connectAs("bystander");
  const trollId = (await first.request({ action: "hello" })).user.id as string;

  const banned = await admin.request({ action: "ban", user: trollId, seconds: 600, requestId: "ban-1" });
  expect(banned).toEqual({ type: "banned", user: trollId, until: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), requestId: "ban-1" });
  expect(Date.parse(banned.until) / 1000).toBeGreaterThan(Date.now() / 1000 + 590);
  // Closed by the server through @connections DELETE (the runtime closes a DELETEd connection with 1000).
  expect(await first.closed).toEqual({ code: 1000, reason: "" });
  expect(await second.closed).toEqual({ code: 1000, reason: "" });
  expect(bystander.socket.readyState).toBe(bystander.socket.OPEN);
  expect(admin.socket.readyState).toBe(admin.socket.OPEN);

  await expect(connectAs("troll")).rejects.toEqual(new HandshakeRefused(403));

  expect(await admin.request({ action: "ban", user: trollId, seconds: 0, requestId: "lift-1" })).toEqual({ type: "banned", user: trollId, requestId: "lift-1" });
  const back = await connectAs("troll");
  expect((await back.request({ action: "hello" })).type).toBe("info");
}, 60_000);

test("a user who is not an admin gets FORBIDDEN and closes nothing", async () => {
  const mallory = await connectAs("mallory");
  const victim = await connectAs("victim");
  const victimId = (await victim.request({ action: "hello" })).user.id as string;
  expect(await mallory.request({ action: "ban", user: victimId, seconds: 600 })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "ban" });
  expect((await victim.request({ action: "hello" })).type).toBe("info");
}, 30_000);

test("the banned user's connections leave the table through their $disconnect", async () => {
  const admin = await connectAs("adele", ["chat-admins"]);
  const target = await connectAs("spammer");
  const targetId = (await target.request({ action: "hello" })).user.id as string;
  await admin.request({ action: "ban", user: targetId, seconds: 60 });
  await target.closed;
  const db = new DynamoDBClient({ endpoint: runtime.dynamodbEndpoint, region: runtime.region, credentials: runtime.adminCredentials });
  try {
    const listed = async () =>
      (
        await db.send(
          new QueryCommand({
            TableName: runtime.model.tables[0]!.name,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": { S: keys.userPartition(targetId) } },
            ConsistentRead: true,
          }),
        )
      ).Items ?? [];
    // $disconnect runs after the close (a cold start on a loaded machine may take seconds).
    await waitFor(async () => (await listed()).length === 0, 20_000, "the user's list emptied");
  } finally {
    db.destroy();
  }
}, 40_000);

describe("a ban racing a handshake in flight", () => {
  let raceRuntime: LocalRuntime;
  let holdDir: string;

  /**
   * The real stack but for $connect's bundle: the real one behind a wrapper that, for a handshake with
   * `?hold=<name>`, says so in HOLD_DIR and waits for a release file before running the real handler. The
   * authorizer has run by then, so this is the handshake a ban overtakes between its authorizer and $connect.
   */
  const HOLDING_CONNECT = `
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const real = require("./connect-real.js");
exports.handler = async (event, context) => {
  const hold = (event.queryStringParameters || {}).hold;
  if (hold) {
    fs.writeFileSync(path.join(process.env.HOLD_DIR, hold + ".held"), "");
    while (!fs.existsSync(path.join(process.env.HOLD_DIR, hold + ".release"))) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return real.handler(event, context);
};
`;

  beforeAll(async () => {
    holdDir = join(dir, "holds");
    mkdirSync(holdDir);
    raceRuntime = await startLocalRuntime({
      stackDir: ({ httpUrl }) => {
        const workspace = { dir, stackDir: synthesizeStack({ outdir: join(dir, "race"), env: localIssuerSettings(httpUrl), warn: () => undefined }), remove: () => undefined };
        return writeVariant(workspace, "race-variant", (tf, variantDir) => {
          const [, connectFn] = functionResource(tf, "chat-connect");
          const archive = /^\$\{data\.archive_file\.([^.]+)\.output_path\}$/.exec(connectFn.filename)![1]!;
          const bundle = writeBundle(variantDir, "holding-connect", HOLDING_CONNECT);
          cpSync(join(tf.data.archive_file[archive].source_dir, "index.js"), join(variantDir, bundle, "connect-real.js"));
          useBundle(tf, "chat-connect", bundle);
          connectFn.environment.variables.HOLD_DIR = holdDir;
        });
      },
      localIssuer: true,
      port: 0,
      log: () => undefined,
    });
  }, 90_000);

  afterAll(() => raceRuntime?.stop());

  test("the authorizer lets the handshake in, the ban lands, then $connect runs: HTTP 403, and the user is not connected", async () => {
    const adminToken = (await raceRuntime.issuer!.mint("root", { groups: ["chat-admins"] })).token;
    const admin = await TestClient.connect(`${raceRuntime.wsUrl}?token=${adminToken}`);
    clients.push(admin);
    const { token, userId } = await raceRuntime.issuer!.mint("racer");

    const handshake = TestClient.connect(`${raceRuntime.wsUrl}?token=${token}&hold=racer`);
    handshake.then((client) => clients.push(client), () => undefined);
    // Its authorizer has allowed it: $connect is waiting.
    await waitFor(() => existsSync(join(holdDir, "racer.held")), 10_000, "$connect held");
    // The ban's sweep finds no connection: $connect has not written one.
    expect(await admin.request({ action: "ban", user: userId, seconds: 600 })).toMatchObject({ type: "banned", user: userId });
    writeFileSync(join(holdDir, "racer.release"), "");

    await expect(handshake).rejects.toEqual(new HandshakeRefused(403));
    const db = new DynamoDBClient({ endpoint: raceRuntime.dynamodbEndpoint, region: raceRuntime.region, credentials: raceRuntime.adminCredentials });
    try {
      const { Items = [] } = await db.send(
        new QueryCommand({
          TableName: raceRuntime.model.tables[0]!.name,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": { S: keys.userPartition(userId) } },
          ConsistentRead: true,
        }),
      );
      expect(Items).toEqual([]);
    } finally {
      db.destroy();
    }
    expect(raceRuntime.openConnections()).toHaveLength(1);
  }, 40_000);
});
