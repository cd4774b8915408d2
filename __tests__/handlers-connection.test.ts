import { handler as connect } from "../handlers/connect";
import { handler as disconnect } from "../handlers/disconnect";
import { ITEM_TTL_SECONDS, keys } from "../handlers/lib/store/table-schema";
import type { LocalDynamo } from "./support/dynalite";
import { connectEvent, disconnectEvent } from "./support/events";
import { handlerWorld } from "./support/handler-world";
import type { FakeManagementApi } from "./support/management-api";

const world = handlerWorld();
let dynamo: LocalDynamo;
let api: FakeManagementApi;
beforeAll(() => ({ dynamo, api } = world));

beforeEach(async () => {
  delete process.env.DYNAMODB_PAGE_SIZE;
  delete process.env.AUTH_MODE;
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe("$connect", () => {
  test("connect stores the connection with its user, start time and an expiry after the 2-hour limit", async () => {
    const connectedAt = Date.UTC(2025, 0, 2, 3, 4, 5);

    const result = await connect(connectEvent("alice", { connectedAt, query: { name: "Alice Liddell" } }));

    expect(result).toEqual({ statusCode: 200 });
    expect(await dynamo.itemsOf("alice")).toEqual([
      {
        ...keys.connection("alice"),
        connectionId: "alice",
        connectedAt,
        user: { id: "alice", name: "Alice Liddell", verified: false },
        expiresAt: connectedAt / 1000 + ITEM_TTL_SECONDS,
      },
    ]);
  });

  test("connect lists the connection under its user and in the broadcast list", async () => {
    await connect(connectEvent("alice"));

    expect(await dynamo.keysMentioning("alice")).toEqual(
      [keys.connection("alice"), keys.userConnection("alice", "alice"), keys.broadcast("alice")].map(({ pk, sk }) => `${pk} ${sk}`).sort(),
    );
  });

  test("an anonymous connection without a name gets a generated guest name", async () => {
    await connect(connectEvent("Xy9-Zq=="));

    const [record] = await dynamo.itemsOf("Xy9-Zq==");
    expect(record.user).toEqual({ id: "Xy9-Zq==", name: "guest-Xy9Zq", verified: false });
  });

  test("a user verified by the authorizer is stored with the authorizer's id and name", async () => {
    await connect(connectEvent("alice", { authorizer: { userId: "user-123", userName: "Alice", principalId: "user-123" } }));

    const [record] = await dynamo.itemsOf("alice");
    expect(record.user).toEqual({ id: "user-123", name: "Alice", verified: true });
    expect(await dynamo.partition(keys.userPartition("user-123"))).toHaveLength(1);
  });

  test.each([
    ["an empty name", ""],
    ["a name of spaces only", "   "],
    ["a name of 65 characters", "a".repeat(65)],
    ["a name with a slash", "a/b"],
    ["a name with markup", "<b>x</b>"],
  ])("connect refuses %s with 400 and stores nothing", async (_, name) => {
    const result = await connect(connectEvent("alice", { query: { name } }));

    expect(result.statusCode).toBe(400);
    expect(JSON.parse(String(result.body)).message).toMatch(/name/);
    expect(await dynamo.allKeys()).toEqual([]);
  });

  test("a 64-character name of one script's letters, marks, digits, spaces and _ . - is accepted", async () => {
    const name = `Zoë o_${"9.-".repeat(19)}a`;
    expect([...name]).toHaveLength(64);

    expect(await connect(connectEvent("alice", { query: { name } }))).toEqual({ statusCode: 200 });
  });

  test("a name is stored normalized: NFKC, trimmed, inner runs of spaces made one", async () => {
    expect(await connect(connectEvent("alice", { query: { name: "  Ａｌｉｃｅ \u3000  Liddell " } }))).toEqual({ statusCode: 200 });
    const [record] = await dynamo.itemsOf("alice");
    expect(record.user).toMatchObject({ name: "Alice Liddell" });
  });

  test("Han, Hiragana and Katakana together count as one script", async () => {
    expect(await connect(connectEvent("alice", { query: { name: "山田 たろう カタカナ" } }))).toEqual({ statusCode: 200 });
  });

  test.each([
    ["an invisible Hangul filler (U+3164)", "\u3164", "invisible"],
    ["a halfwidth Hangul filler (U+FFA0)", "al\uFFA0ice", "invisible"],
    ["a Hangul choseong filler (U+115F)", "\u115Falice", "invisible"],
    ["a zero-width space (U+200B)", "ali\u200Bce", "invisible"],
    ["a right-to-left override (U+202E)", "alice\u202Eevil", "invisible"],
    ["a word joiner (U+2060)", "ali\u2060ce", "invisible"],
    ["a Braille blank (U+2800)", "\u2800", "characters"],
    ["Latin with a Cyrillic look-alike", "p\u0430ypal", "scripts"],
    ["Latin with Greek", "Ωmega", "scripts"],
    ["an empty name after trimming", " \u3000 ", "length"],
  ])("connect refuses %s with 400 naming the rule, and stores nothing", async (_, name, rule) => {
    const result = await connect(connectEvent("alice", { query: { name } }));

    expect(result.statusCode).toBe(400);
    expect(JSON.parse(String(result.body))).toMatchObject({ rule, message: expect.stringMatching(/^"name" is refused: a name /) });
    expect(await dynamo.allKeys()).toEqual([]);
  });

  test("in jwt mode a connection that arrives without the authorizer's user is refused, not admitted as a guest", async () => {
    process.env.AUTH_MODE = "jwt";

    const result = await connect(connectEvent("alice", { query: { name: "mallory" } }));

    expect(result.statusCode).toBe(401);
    expect(await dynamo.allKeys()).toEqual([]);
  });

  test("connect answers 500 and logs one structured line when the table cannot be written", async () => {
    const logged = jest.spyOn(console, "error").mockImplementation(() => undefined);
    process.env.TABLE_NAME = "no-such-table";

    const result = await connect(connectEvent("alice"));

    expect(result.statusCode).toBe(500);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0][0]).toMatchObject({
      route: "$connect",
      connectionId: "alice",
      apiRequestId: expect.any(String),
      errorType: "ResourceNotFoundException",
      errorMessage: expect.any(String),
    });
  });
});

describe("$disconnect", () => {
  test("disconnect removes the connection and every item that lists it", async () => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "alice", "bob");
    await dynamo.join("games", "alice");

    const result = await disconnect(disconnectEvent("alice"));

    expect(result).toEqual({ statusCode: 200 });
    expect(await dynamo.keysMentioning("alice")).toEqual([]);
  });

  test("disconnect tells the members of each room the connection was in that it left", async () => {
    await dynamo.connect("alice", "bob", "carol");
    await dynamo.join("lobby", "alice", "bob");
    await dynamo.join("games", "alice", "carol");

    await disconnect(disconnectEvent("alice"));

    for (const [member, room] of [["bob", "lobby"], ["carol", "games"]]) {
      expect(api.received(member)).toEqual([
        { type: "presence", room, event: "left", connectionId: "alice", user: { id: "alice", name: "alice", verified: false } },
      ]);
    }
  });

  test("disconnect removes more items than one query page and one batch write hold", async () => {
    process.env.DYNAMODB_PAGE_SIZE = "7";
    await dynamo.connect("alice");
    for (let room = 0; room < 30; room += 1) await dynamo.join(`room-${room}`, "alice");

    await disconnect(disconnectEvent("alice"));

    expect(await dynamo.keysMentioning("alice")).toEqual([]);
  });

  test("disconnect leaves other connections and their memberships alone", async () => {
    await dynamo.connect("alice", "bob");
    await dynamo.join("lobby", "alice", "bob");
    const before = await dynamo.keysMentioning("bob");

    await disconnect(disconnectEvent("alice"));

    expect(await dynamo.keysMentioning("bob")).toEqual(before);
  });

  test("disconnect of a connection that has no items succeeds", async () => {
    expect(await disconnect(disconnectEvent("nobody"))).toEqual({ statusCode: 200 });
  });
});
