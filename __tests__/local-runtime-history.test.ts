/**
 * Rooms that remember, end to end as `npm start` runs them: the synthesized stack (the history function
 * under its LeadingKeys-scoped role, checked by the local IAM), real `ws` clients, dynalite with
 * transactions that conflict. docs/history.md has the promise these check.
 */
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { synthesizeWorkspace, type Workspace } from "./support/local-stacks";
import { LogCollector, TestClient } from "./support/ws-client";

let workspace: Workspace;
let runtime: LocalRuntime;
const logs = new LogCollector();
const clients: TestClient[] = [];

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(runtime.wsUrl);
  clients.push(client);
  return client;
}

async function member(room: string): Promise<{ client: TestClient; joinedSeq: number }> {
  const client = await connect();
  const joined = await client.request({ action: "join", room });
  expect(joined).toMatchObject({ type: "joined", room, private: false });
  return { client, joinedSeq: joined.seq };
}

/** Everything after `after` up to `until`, page by page, as a catching-up client reads it. */
async function catchUp(client: TestClient, room: string, after: number, until: number): Promise<any[]> {
  const messages: any[] = [];
  let last = after;
  while (last < until) {
    const page = await client.request({ action: "history", room, after: last, limit: 3 });
    expect(page).toMatchObject({ type: "history", room });
    if (page.messages.length === 0) break;
    messages.push(...page.messages);
    last = page.messages[page.messages.length - 1].seq;
  }
  return messages;
}

beforeAll(async () => {
  workspace = synthesizeWorkspace("local-history");
  runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log });
}, 60_000);

afterEach(() => {
  for (const client of clients.splice(0)) client.socket.terminate();
});

afterAll(async () => {
  await runtime?.stop();
  workspace?.remove();
});

test("a late joiner reads what it missed from history and gets the rest live, each message once, in seq order", async () => {
  const alice = await member("lobby");
  const bob = await member("lobby");
  for (const text of ["one", "two", "three"]) expect(await alice.client.request({ action: "send-message", room: "lobby", message: text })).toMatchObject({ type: "sent" });
  const live = [await bob.client.nextOfType("message"), await bob.client.nextOfType("message"), await bob.client.nextOfType("message")];
  expect(live.map((message) => message.seq).sort()).toEqual([1, 2, 3]);

  const carol = await member("lobby");
  expect(carol.joinedSeq).toBe(3);
  const missed = await catchUp(carol.client, "lobby", 0, carol.joinedSeq);
  expect(missed).toEqual([...live].sort((a, b) => a.seq - b.seq));

  const fourth = await alice.client.request({ action: "send-message", room: "lobby", message: "four" });
  expect(fourth).toMatchObject({ type: "sent", seq: 4, delivered: 2 });
  expect(await carol.client.nextOfType("message")).toMatchObject({ seq: 4, id: fourth.id, message: "four" });
}, 60_000);

test("after a reconnect, join then history from the last seq shown recovers every message sent while away", async () => {
  const alice = await member("dropouts");
  const bob = await member("dropouts");
  await alice.client.request({ action: "send-message", room: "dropouts", message: "before" });
  const lastShown = (await bob.client.nextOfType("message")).seq;
  bob.client.socket.terminate();

  const sentWhileAway = [];
  for (let i = 0; i < 7; i += 1) sentWhileAway.push(await alice.client.request({ action: "send-message", room: "dropouts", message: `away ${i}` }));

  const again = await member("dropouts");
  expect(again.joinedSeq).toBe(lastShown + 7);
  const recovered = await catchUp(again.client, "dropouts", lastShown, again.joinedSeq);
  expect(recovered.map((message) => [message.seq, message.id])).toEqual(sentWhileAway.map((sent) => [sent.seq, sent.id]));
}, 60_000);

test("senders racing in one room through the gateway get seqs 1..N, each once", async () => {
  const reader = await member("busy");
  const senders = await Promise.all(Array.from({ length: 6 }, () => member("busy")));

  const replies = await Promise.all(senders.map(({ client }, i) => client.request({ action: "send-message", room: "busy", message: `from ${i}` })));

  expect(replies.map((reply) => reply.type)).toEqual(senders.map(() => "sent"));
  expect(replies.map((reply) => reply.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  const page = await reader.client.request({ action: "history", room: "busy" });
  expect(page.messages.map((message: { seq: number }) => message.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(page.hasMore).toBe(false);
}, 60_000);

test("history is for members: anyone else is told NOT_A_MEMBER, and the route is listed in info", async () => {
  const outsider = await connect();
  expect(await outsider.request({ action: "history", room: "lobby" })).toMatchObject({ type: "error", code: "NOT_A_MEMBER", action: "history" });
  expect(await outsider.request({ action: "history", room: "lobby", limit: 0 })).toMatchObject({ type: "error", code: "INVALID_REQUEST", field: "limit" });
  expect((await outsider.request({ action: "whoami" })).routes).toContain("history");
}, 60_000);
