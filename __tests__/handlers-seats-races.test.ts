/**
 * A user's seats item (docs/limits.md) is written by every handshake's transaction: a $disconnect giving a
 * seat back can meet one, and must still give it back, or a user who closed a tab while another tab kept
 * reconnecting is locked out until the seat's probe, half a minute later.
 */
import { handler as connect } from "../handlers/connect";
import { handler as disconnect } from "../handlers/disconnect";
import { ENV_AUTH_MODE, ENV_MAX_CONNECTIONS_PER_USER } from "../handlers/lib/env/contract";
import { connectEvent, disconnectEvent } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";

const world = handlerWorldBehindProxy();
let faulty: FaultyDynamoDb;
beforeAll(() => ({ faulty } = world));
beforeEach(() => {
  process.env[ENV_AUTH_MODE] = "jwt";
  process.env[ENV_MAX_CONNECTIONS_PER_USER] = "1";
  faulty.reset();
});
afterAll(() => {
  delete process.env[ENV_AUTH_MODE];
  delete process.env[ENV_MAX_CONNECTIONS_PER_USER];
});

const handshake = (connectionId: string) => connect(connectEvent(connectionId, { authorizer: { principalId: "sam", userId: "sam", userName: "sam" }, connectedAt: Date.now() }));

test("a $disconnect whose seat release meets a handshake's transaction gives the seat back", async () => {
  expect((await handshake("s1")).statusCode).toBe(200);
  // How DynamoDB refuses a single write to an item a transaction holds.
  faulty.answer("UpdateItem", { status: 400, error: "TransactionConflictException" }, { after: 1 });

  await disconnect(disconnectEvent("s1"));

  expect((await handshake("s2")).statusCode).toBe(200);
});
