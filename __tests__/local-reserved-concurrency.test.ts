/**
 * CHAT_RESERVED_CONCURRENCY through the local runtime, with real `ws` clients: each route's function is
 * throttled at its own reservation (the client gets API Gateway's Internal server error, Lambda counts a
 * throttle, the throttles alarm fires), while the other routes, $disconnect among them, keep theirs.
 */
import { join } from "node:path";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import type { MetricsSnapshot } from "../local/observability/local-observability";
import { synthesizeStack } from "../local/terraform/synth";
import { synthesizeWorkspace, useBundle, writeBundle, writeVariant, type Workspace } from "./support/local-stacks";
import { LogCollector, TestClient } from "./support/ws-client";

/** A `members` that takes a second: long enough to hold its one reserved execution while others arrive. */
const SLOW_MEMBERS = `
exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { statusCode: 200, body: JSON.stringify({ type: "slow-members", connectionId: event.requestContext.connectionId }) };
};
`;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

let workspace: Workspace;
let runtime: LocalRuntime;
const logs = new LogCollector();
const clients: TestClient[] = [];

beforeAll(async () => {
  const base = synthesizeWorkspace("local-reserved");
  const stackDir = synthesizeStack({ outdir: join(base.dir, "reserved"), env: { CHAT_RESERVED_CONCURRENCY: "1" }, warn: () => undefined });
  workspace = { ...base, stackDir };
  const variant = writeVariant(workspace, "slow-members", (tf, dir) => useBundle(tf, "chat-members", writeBundle(dir, "slow", SLOW_MEMBERS)));
  runtime = await startLocalRuntime({ stackDir: variant, port: 0, log: logs.log });
}, 90_000);

afterAll(async () => {
  for (const client of clients) client.socket.terminate();
  await runtime?.stop();
  workspace?.remove();
});

async function connect(): Promise<{ client: TestClient; id: string }> {
  const client = await TestClient.connect(runtime.wsUrl);
  clients.push(client);
  return { client, id: (await client.request<{ connectionId: string }>({ action: "whoami" })).connectionId };
}

test("a frame beyond its route's reservation is refused with Internal server error, while other routes and $disconnect run", async () => {
  const alice = await connect();
  const bob = await connect();
  const carol = await connect();

  // Alice's members holds the function's one reserved execution for a second.
  alice.client.send({ action: "members" });
  const held = alice.client.nextOfType("slow-members", 5000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await bob.client.exchange({ action: "members" })).toEqual({ message: "Internal server error", connectionId: bob.id, requestId: expect.any(String) });
  await logs.waitFor(new RegExp(`^route members ${escape(bob.id)} 500 .*TooManyRequestsException: Rate Exceeded\\.`));

  // Meanwhile send-message has its own reservation: a direct message goes through.
  expect(await carol.client.request({ action: "send-message", to: alice.id, message: "still here" })).toMatchObject({ type: "sent", delivered: 1 });
  // And $disconnect has its own: Carol's cleanup runs while members is still at its limit.
  carol.client.socket.close();
  await logs.waitFor(new RegExp(`^route \\$disconnect ${escape(carol.id)} 200 `));

  expect(await held).toEqual({ type: "slow-members", connectionId: alice.id });
  // The execution is free again.
  bob.client.send({ action: "members" });
  expect(await bob.client.nextOfType("slow-members", 5000)).toEqual({ type: "slow-members", connectionId: bob.id });
}, 30_000);

test("Lambda's Throttles counts the refusal, not Invocations or Errors, and the route's throttles alarm fires", async () => {
  const snapshot = (await (await fetch(`${runtime.metricsUrl}.json`)).json()) as MetricsSnapshot;
  const alarm = (name: string) => snapshot.alarms.find((a) => a.name === name)!;
  expect(alarm("chat-members-throttles")).toMatchObject({ state: "ALARM", value: 1 });
  expect(alarm("chat-members-errors")).toMatchObject({ state: "OK", value: 0 });
  // The other functions' throttles alarms are evaluated too, now that this stack can throttle.
  expect(alarm("chat-send-message-throttles")).toMatchObject({ state: "OK", value: 0 });
  const throttles = runtime.observability.store.statistic(
    { namespace: "AWS/Lambda", name: "Throttles", dimensions: { FunctionName: "chat-members" } },
    "Sum",
    0,
    Date.now() + 1,
  );
  const invocations = runtime.observability.store.statistic(
    { namespace: "AWS/Lambda", name: "Invocations", dimensions: { FunctionName: "chat-members" } },
    "Sum",
    0,
    Date.now() + 1,
  );
  expect({ throttles, invocations }).toEqual({ throttles: 1, invocations: 2 });
});
