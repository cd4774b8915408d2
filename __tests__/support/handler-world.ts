import { LocalDynamo } from "./dynalite";
import { FaultyDynamoDb } from "./faulty-dynamodb";
import { FakeManagementApi } from "./management-api";

export interface HandlerWorld {
  /** The local DynamoDB, a fresh connections table for every test. */
  readonly dynamo: LocalDynamo;
  /** A real HTTP @connections endpoint, emptied for every test. */
  readonly api: FakeManagementApi;
}

/**
 * The real parts handler tests run on, started once per file and reset before each test: the local
 * DynamoDB (with transactions, TTL, lagging indexes) and a fake @connections server the real SDK talks to,
 * with the environment the handlers read pointed at both, and BROADCAST=everyone. Registers its jest hooks; read the parts
 * inside tests (they exist once `beforeAll` has run).
 */
export function handlerWorld(): HandlerWorld {
  const world = {} as { dynamo: LocalDynamo; api: FakeManagementApi };
  beforeAll(async () => {
    [world.dynamo, world.api] = await Promise.all([LocalDynamo.start(), FakeManagementApi.start()]);
    process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = world.api.endpoint("prod");
    // The anonymous stack's policy, as the stack sets it with CHAT_AUTH=none; tests of the policy set their own.
    process.env.BROADCAST = "everyone";
  });
  afterAll(async () => {
    await Promise.all([world.dynamo?.stop(), world.api?.stop()]);
  });
  beforeEach(async () => {
    await world.dynamo.freshTable();
    world.api.reset();
  });
  return world;
}

/**
 * handlerWorld with the handlers' DynamoDB calls going through a FaultyDynamoDb proxy in front of the local
 * DynamoDB, so a test can fail, answer or hold chosen calls. Registers its jest hooks.
 */
export function handlerWorldBehindProxy(): HandlerWorld & { readonly faulty: FaultyDynamoDb } {
  const world = handlerWorld() as HandlerWorld & { faulty: FaultyDynamoDb };
  beforeAll(async () => {
    world.faulty = await FaultyDynamoDb.start(world.dynamo.endpoint);
    process.env.AWS_ENDPOINT_URL_DYNAMODB = world.faulty.endpoint;
  });
  afterAll(() => world.faulty?.stop());
  return world;
}
