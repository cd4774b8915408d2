import { handler as connect } from "../handlers/connect";
import { handler as disconnect } from "../handlers/disconnect";
import { ITEM_TTL_SECONDS } from "../handlers/lib/table-schema";
import { LocalDynamo } from "./support/dynalite";
import { connectEvent, disconnectEvent } from "./support/events";

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});

afterAll(async () => {
  await dynamo.stop();
});

beforeEach(async () => {
  await dynamo.freshTable();
  delete process.env.DYNAMODB_PAGE_SIZE;
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe("$connect", () => {
  test("connect stores the connection with its start time and an expiry after the 2-hour limit", async () => {
    const connectedAt = Date.UTC(2025, 0, 2, 3, 4, 5);

    const result = await connect(connectEvent("alice", connectedAt));

    expect(result).toEqual({ statusCode: 200 });
    expect(await dynamo.itemsOf("alice")).toEqual([
      {
        connectionId: "alice",
        sk: "#connection",
        connectedAt: "2025-01-02T03:04:05.000Z",
        expiresAt: connectedAt / 1000 + ITEM_TTL_SECONDS,
      },
    ]);
  });

  test("connect answers 500 and logs one line of JSON when the table cannot be written", async () => {
    const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
    process.env.TABLE_NAME = "no-such-table";

    const result = await connect(connectEvent("alice"));

    expect(result.statusCode).toBe(500);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(logged.mock.calls[0][0]))).toMatchObject({
      level: "error",
      route: "$connect",
      connectionId: "alice",
      requestId: expect.any(String),
      error: "ResourceNotFoundException",
      message: expect.any(String),
    });
  });
});

describe("$disconnect", () => {
  test("disconnect removes the connection item and every room membership", async () => {
    await connect(connectEvent("alice"));
    await dynamo.putMembership("alice", "lobby");
    await dynamo.putMembership("alice", "games");

    const result = await disconnect(disconnectEvent("alice"));

    expect(result).toEqual({ statusCode: 200 });
    expect(await dynamo.itemsOf("alice")).toEqual([]);
  });

  test("disconnect removes more items than one query page and one batch write hold", async () => {
    process.env.DYNAMODB_PAGE_SIZE = "7";
    await dynamo.putConnection("alice");
    for (let room = 0; room < 60; room += 1) await dynamo.putMembership("alice", `room-${room}`);

    await disconnect(disconnectEvent("alice"));

    expect(await dynamo.itemsOf("alice")).toEqual([]);
  });

  test("disconnect leaves other connections and their memberships alone", async () => {
    await dynamo.putConnection("alice");
    await dynamo.putConnection("bob");
    await dynamo.putMembership("bob", "lobby");

    await disconnect(disconnectEvent("alice"));

    expect((await dynamo.itemsOf("bob")).map((item) => item.sk)).toEqual(["#connection", "room#lobby"]);
  });

  test("disconnect of a connection that has no items succeeds", async () => {
    expect(await disconnect(disconnectEvent("nobody"))).toEqual({ statusCode: 200 });
  });
});
