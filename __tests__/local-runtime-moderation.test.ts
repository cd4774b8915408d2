/**
 * invite and kick end to end as `npm start` runs them (docs/moderation.md): the synthesized stack with each
 * function under its own role (checked by the local IAM), real `ws` clients, dynalite. In jwt mode users are
 * tokens' subjects and admins are in the `chat-admins` group; in none mode each connection is its own user,
 * the owner a connection, and there are no admins.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localIssuerSettings } from "../local/identity-provider/local-issuer";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { TestClient } from "./support/ws-client";

let dir: string;
const clients: TestClient[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "local-moderation-"));
});

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function open(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  return client;
}

/** Waits until the ban an ISO `until` names has ended (whole seconds), with a little to spare. */
const untilEnded = (until: string) => sleep(Date.parse(until) - Date.now() + 100);

describe("none mode: the owner is a connection", () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startLocalRuntime({
      stackDir: synthesizeStack({ outdir: join(dir, "none"), env: { CHAT_AUTH: "none" }, warn: () => undefined }),
      port: 0,
      log: () => undefined,
    });
  }, 90_000);
  afterAll(() => runtime?.stop());

  const connect = () => open(runtime.wsUrl);
  /** A connection's user id is its connection id, which the info frame tells. */
  const idOf = async (client: TestClient): Promise<string> => (await client.request({ action: "whoami" })).connectionId;

  test("create a private room; an outsider is FORBIDDEN; invite lets a guest in; kick removes it, bans it, and only an admin (none here) may kick the owner", async () => {
    const owner = await connect();
    const created = await owner.request({ action: "create-room", room: "den", private: true });
    expect(created).toMatchObject({ type: "created", room: "den", private: true, seq: 0 });
    const ownerId: string = created.owner.id;
    expect(ownerId).toBe(await idOf(owner));

    const outsider = await connect();
    const guest = await connect();
    const guestId = await idOf(guest);
    expect(await outsider.request({ action: "join", room: "den" })).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
    expect(await outsider.request({ action: "invite", room: "den", user: await idOf(outsider) })).toMatchObject({ code: "FORBIDDEN", action: "invite" });
    expect(await outsider.request({ action: "kick", room: "den", user: ownerId })).toMatchObject({ code: "FORBIDDEN", action: "kick" });

    expect(await owner.request({ action: "invite", room: "den", user: guestId })).toEqual({ type: "invited", room: "den", user: guestId });
    expect(await guest.nextOfType("invitation")).toEqual({ type: "invitation", room: "den", by: created.owner });
    expect(await guest.request({ action: "join", room: "den" })).toMatchObject({ type: "joined", room: "den", private: true, owner: created.owner });
    expect(await owner.nextOfType("presence")).toMatchObject({ event: "joined", connectionId: guestId });

    // Only an admin may kick the owner; in none mode there are none.
    expect(await guest.request({ action: "kick", room: "den", user: ownerId })).toMatchObject({ code: "FORBIDDEN" });
    expect(await owner.request({ action: "kick", room: "den", user: ownerId })).toMatchObject({ code: "FORBIDDEN" });

    const kicked = await owner.request({ action: "kick", room: "den", user: guestId, banSeconds: 2 });
    expect(kicked).toEqual({ type: "kicked", room: "den", user: guestId, until: expect.any(String) });
    expect(await guest.nextOfType("removed")).toEqual({ type: "removed", room: "den", by: created.owner, until: kicked.until });
    expect(await owner.nextOfType("presence")).toMatchObject({ type: "presence", room: "den", event: "left", connectionId: guestId });
    expect((await owner.request({ action: "members", room: "den" })).members.map((m: { connectionId: string }) => m.connectionId)).toEqual([ownerId]);

    // Banned, and the invitation withdrawn: refused even when invited again, until the ban ends.
    expect(await guest.request({ action: "join", room: "den" })).toMatchObject({ code: "FORBIDDEN" });
    expect(await owner.request({ action: "invite", room: "den", user: guestId })).toMatchObject({ type: "invited" });
    expect(await guest.request({ action: "join", room: "den" })).toMatchObject({ code: "FORBIDDEN" });
    await untilEnded(kicked.until);
    expect(await guest.request({ action: "join", room: "den" })).toMatchObject({ type: "joined", room: "den" });
  }, 60_000);
});

describe("jwt mode: users are tokens' subjects; admins kick owners", () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startLocalRuntime({
      stackDir: ({ httpUrl }) => synthesizeStack({ outdir: join(dir, "jwt"), env: localIssuerSettings(httpUrl), warn: () => undefined }),
      localIssuer: true,
      port: 0,
      log: () => undefined,
    });
  }, 90_000);
  afterAll(() => runtime?.stop());

  const connectAs = async (sub: string, groups: string[] = []) => {
    const token = await runtime.issuer!.sign({ sub, name: sub, groups, exp: Math.floor(Date.now() / 1000) + 600 });
    return open(`${runtime.wsUrl}?token=${token}`);
  };

  test("invite reaches every connection of the user; kick removes every one of them at once and bans the user; only an admin kicks the owner", async () => {
    const olga = await connectAs("olga");
    const created = await olga.request({ action: "create-room", room: "ops", private: true });
    expect(created).toMatchObject({ type: "created", room: "ops", private: true, owner: { id: "olga", verified: true } });
    const [ivan1, ivan2] = [await connectAs("ivan"), await connectAs("ivan")];
    const ivanIds = [(await ivan1.request({ action: "whoami" })).connectionId, (await ivan2.request({ action: "whoami" })).connectionId];
    const otto = await connectAs("otto");
    const ada = await connectAs("ada", ["chat-admins"]);

    expect(await otto.request({ action: "join", room: "ops" })).toMatchObject({ code: "FORBIDDEN", action: "join" });
    expect(await otto.request({ action: "invite", room: "ops", user: "otto" })).toMatchObject({ code: "FORBIDDEN", action: "invite" });

    expect(await olga.request({ action: "invite", room: "ops", user: "ivan" })).toEqual({ type: "invited", room: "ops", user: "ivan" });
    for (const ivan of [ivan1, ivan2]) {
      expect(await ivan.nextOfType("invitation")).toEqual({ type: "invitation", room: "ops", by: created.owner });
      expect(await ivan.request({ action: "join", room: "ops" })).toMatchObject({ type: "joined", room: "ops", private: true });
    }
    // The admin enters uninvited.
    expect(await ada.request({ action: "join", room: "ops" })).toMatchObject({ type: "joined" });

    // The owner is the admin's to kick, not a member's.
    expect(await ivan1.request({ action: "kick", room: "ops", user: "olga" })).toMatchObject({ code: "FORBIDDEN", action: "kick" });

    const kicked = await olga.request({ action: "kick", room: "ops", user: "ivan", banSeconds: 2 });
    expect(kicked).toEqual({ type: "kicked", room: "ops", user: "ivan", until: expect.any(String) });
    for (const ivan of [ivan1, ivan2]) expect(await ivan.nextOfType("removed")).toEqual({ type: "removed", room: "ops", by: created.owner, until: kicked.until });
    const members = await ada.request({ action: "members", room: "ops" });
    expect(members.members.map((m: { user: { id: string } }) => m.user.id).sort()).toEqual(["ada", "olga"]);
    const left: string[] = [];
    for (;;) {
      const presence = await olga.nextOfType("presence");
      if (presence.event === "left") left.push(presence.connectionId);
      if (left.length === 2) break;
    }
    expect(left.sort()).toEqual([...ivanIds].sort());
    expect(await ivan1.request({ action: "join", room: "ops" })).toMatchObject({ code: "FORBIDDEN" });
    expect(await ivan2.request({ action: "join", room: "ops" })).toMatchObject({ code: "FORBIDDEN" });

    expect(await ada.request({ action: "kick", room: "ops", user: "olga" })).toEqual({ type: "kicked", room: "ops", user: "olga" });
    expect(await olga.nextOfType("removed")).toMatchObject({ type: "removed", room: "ops", by: { id: "ada", admin: true } });

    // Once the ban has ended, an invitation lets ivan back in.
    await untilEnded(kicked.until);
    expect(await ada.request({ action: "invite", room: "ops", user: "ivan" })).toMatchObject({ type: "invited" });
    expect(await ivan1.request({ action: "join", room: "ops" })).toMatchObject({ type: "joined" });
  }, 60_000);
});
