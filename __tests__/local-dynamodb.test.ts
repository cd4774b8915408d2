/**
 * What the local DynamoDB does beyond dynalite, because handlers can observe it on AWS: transactions,
 * Time to Live (items deleted some time after they expire), and global secondary indexes that lag
 * behind their table. Driven with the real SDK.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { startLocalDynamoDb, type LocalDynamoDb } from "../local/services/dynamodb";
import type { TableModel } from "../local/terraform/stack-model-types";
import { waitFor } from "./support/ws-client";

const TABLE: TableModel = {
  address: "aws_dynamodb_table.t",
  name: "things",
  arn: "arn:aws:dynamodb:us-east-1:000000000000:table/things",
  hashKey: "pk",
  rangeKey: "sk",
  attributes: [
    { name: "pk", type: "S" },
    { name: "sk", type: "S" },
    { name: "colour", type: "S" },
  ],
  globalSecondaryIndexes: [{ name: "by-colour", hashKey: "colour", rangeKey: "pk", projectionType: "ALL" }],
  localSecondaryIndexes: [],
  ttlAttribute: "expiresAt",
};

let local: LocalDynamoDb;
let db: DynamoDBDocumentClient;
const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  local = await startLocalDynamoDb({
    tables: [TABLE],
    region: "us-east-1",
    account: "000000000000",
    indexLagMs: 400,
    ttl: { sweepIntervalMs: 60_000, deleteAfterMs: 2_000 },
    log: () => undefined,
  });
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: local.endpoint, region: "us-east-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } }),
  );
});

afterAll(async () => {
  db?.destroy();
  await local?.stop();
});

const get = async (pk: string, sk = "x") => (await db.send(new GetCommand({ TableName: "things", Key: { pk, sk }, ConsistentRead: true }))).Item;

describe("TransactWriteItems", () => {
  test("writes every item of a transaction whose conditions hold", async () => {
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: "things", Item: { pk: "t1-a", sk: "x", n: 1 } } },
          { Put: { TableName: "things", Item: { pk: "t1-b", sk: "x", n: 2 }, ConditionExpression: "attribute_not_exists(pk)" } },
        ],
      }),
    );

    expect(await get("t1-a")).toMatchObject({ n: 1 });
    expect(await get("t1-b")).toMatchObject({ n: 2 });
  });

  test("writes nothing when one condition fails, and names each item's outcome in order", async () => {
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "t2-existing", sk: "x", n: 0 } }));

    const failure = await db
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: "things", Item: { pk: "t2-new", sk: "x" } } },
            { Update: { TableName: "things", Key: { pk: "t2-existing", sk: "x" }, UpdateExpression: "SET n = :one", ExpressionAttributeValues: { ":one": 1 } } },
            { ConditionCheck: { TableName: "things", Key: { pk: "t2-missing", sk: "x" }, ConditionExpression: "attribute_exists(pk)" } },
          ],
        }),
      )
      .catch((error: unknown) => error as { name: string; CancellationReasons: Array<{ Code: string }> });

    expect(failure).toMatchObject({ name: "TransactionCanceledException" });
    expect((failure as { CancellationReasons: Array<{ Code: string }> }).CancellationReasons.map((r) => r.Code)).toEqual(["None", "None", "ConditionalCheckFailed"]);
    expect(await get("t2-new")).toBeUndefined();
    expect(await get("t2-existing")).toMatchObject({ n: 0 });
    expect(await get("t2-missing")).toBeUndefined();
  });

  test("a condition check of an item that does not exist leaves no item behind", async () => {
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          { ConditionCheck: { TableName: "things", Key: { pk: "t3-absent", sk: "x" }, ConditionExpression: "attribute_not_exists(pk)" } },
          { Put: { TableName: "things", Item: { pk: "t3-written", sk: "x" } } },
        ],
      }),
    );

    expect(await get("t3-absent")).toBeUndefined();
    expect(await get("t3-written")).toBeDefined();
  });

  test("two operations on one item are refused, as DynamoDB refuses them", async () => {
    await expect(
      db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: "things", Item: { pk: "t4", sk: "x" } } },
            { Delete: { TableName: "things", Key: { pk: "t4", sk: "x" } } },
          ],
        }),
      ),
    ).rejects.toMatchObject({ name: "ValidationException", message: expect.stringMatching(/multiple operations on one item/) });
  });

  test("concurrent transactions on the same item: exactly one of those conditioned on its absence wins", async () => {
    const attempts = Array.from({ length: 8 }, (_, i) =>
      db
        .send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: "things", Item: { pk: "t5", sk: "x", winner: i }, ConditionExpression: "attribute_not_exists(pk)" } }] }))
        .then(
          () => "won",
          () => "lost",
        ),
    );

    expect((await Promise.all(attempts)).filter((outcome) => outcome === "won")).toHaveLength(1);
  });
});

describe("ReturnValuesOnConditionCheckFailure on single-item writes", () => {
  const update = (pk: string, returnOld: boolean) =>
    db.send(
      new UpdateCommand({
        TableName: "things",
        Key: { pk, sk: "x" },
        UpdateExpression: "SET n = n + :one",
        ConditionExpression: "n < :max",
        ExpressionAttributeValues: { ":one": 1, ":max": 3 },
        ...(returnOld && { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const }),
      }),
    );

  test("ALL_OLD: the failed condition's error carries the item as it is, as on AWS", async () => {
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "old-1", sk: "x", n: 3, colour: "red" } }));
    const error = await update("old-1", true).then(() => undefined, (e: unknown) => e as { name: string; Item?: unknown });
    expect(error?.name).toBe("ConditionalCheckFailedException");
    expect(error?.Item).toEqual({ pk: { S: "old-1" }, sk: { S: "x" }, n: { N: "3" }, colour: { S: "red" } });
  });

  test("without it, or with no item there, the error carries none; a write whose condition holds is applied", async () => {
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "old-2", sk: "x", n: 3 } }));
    expect(await update("old-2", false).then(() => undefined, (e: unknown) => (e as { Item?: unknown }).Item)).toBeUndefined();
    expect(await update("old-missing", true).then(() => "applied", (e: unknown) => `${(e as Error).name} ${JSON.stringify((e as { Item?: unknown }).Item)}`)).toBe(
      "ConditionalCheckFailedException undefined",
    );
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "old-3", sk: "x", n: 1 } }));
    await update("old-3", true);
    expect((await get("old-3"))?.n).toBe(2);
  });
});

describe("Time to Live", () => {
  test("an expired item stays readable until the sweep after its grace, then is deleted", async () => {
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "ttl-old", sk: "x", expiresAt: nowSeconds() - 60 } }));
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "ttl-recent", sk: "x", expiresAt: nowSeconds() } }));
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "ttl-live", sk: "x", expiresAt: nowSeconds() + 3600 } }));
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "ttl-text", sk: "x", expiresAt: "yesterday" } }));
    // DynamoDB ignores TTL values more than five years in the past: they are taken for a unit mistake.
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "ttl-ancient", sk: "x", expiresAt: nowSeconds() - 6 * 365 * 86_400 } }));

    // Expired, but DynamoDB deletes only later: the item is still there to be (mis)read.
    expect(await get("ttl-old")).toBeDefined();
    await local.sweepExpiredItems();

    expect(await get("ttl-old")).toBeUndefined();
    expect(await get("ttl-recent")).toBeDefined();
    expect(await get("ttl-live")).toBeDefined();
    expect(await get("ttl-text")).toBeDefined();
    expect(await get("ttl-ancient")).toBeDefined();
  });
});

describe("global secondary indexes", () => {
  const byColour = async (colour: string) =>
    (
      await db.send(
        new QueryCommand({ TableName: "things", IndexName: "by-colour", KeyConditionExpression: "colour = :c", ExpressionAttributeValues: { ":c": colour } }),
      )
    ).Items?.map((item) => item.pk);

  test("an index read misses an item just written and finds it once the index has caught up", async () => {
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "gsi-1", sk: "x", colour: "teal" } }));

    expect(await byColour("teal")).toEqual([]);
    expect(await get("gsi-1")).toBeDefined();
    await waitFor(async () => (await byColour("teal"))?.includes("gsi-1"), 3000, "the index to catch up");
  });

  test("an index read still finds an item just deleted, until the index has caught up", async () => {
    await db.send(new PutCommand({ TableName: "things", Item: { pk: "gsi-2", sk: "x", colour: "mauve" } }));
    await waitFor(async () => (await byColour("mauve"))?.includes("gsi-2"), 3000, "the index to catch up");

    await db.send(new DeleteCommand({ TableName: "things", Key: { pk: "gsi-2", sk: "x" } }));

    expect(await byColour("mauve")).toEqual(["gsi-2"]);
    await waitFor(async () => (await byColour("mauve"))?.length === 0, 3000, "the index to catch up");
  });

  test("a transaction's writes reach the index late too", async () => {
    await db.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: "things", Item: { pk: "gsi-3", sk: "x", colour: "ochre" } } }] }));

    expect(await byColour("ochre")).toEqual([]);
    await waitFor(async () => (await byColour("ochre"))?.includes("gsi-3"), 3000, "the index to catch up");
  });
});

describe("a transaction in progress", () => {
  // A long window, so the test can act while the transaction holds its items.
  const WINDOW_MS = 300;
  let slow: LocalDynamoDb;
  let client: DynamoDBDocumentClient;
  beforeAll(async () => {
    slow = await startLocalDynamoDb({ tables: [TABLE], region: "us-east-1", account: "000000000000", transactionWindowMs: WINDOW_MS, log: () => undefined });
    client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: slow.endpoint, region: "us-east-1", credentials: { accessKeyId: "k", secretAccessKey: "s" } }));
  });
  afterAll(async () => {
    client?.destroy();
    await slow?.stop();
  });

  const read = async (pk: string) => (await client.send(new GetCommand({ TableName: "things", Key: { pk, sk: "x" }, ConsistentRead: true }))).Item;
  const bump = (pk: string, from: number) =>
    new TransactWriteCommand({
      TransactItems: [{ Update: { TableName: "things", Key: { pk, sk: "x" }, UpdateExpression: "SET n = :to", ConditionExpression: "n = :from", ExpressionAttributeValues: { ":from": from, ":to": from + 1 } } }],
    });
  /** Starts a transaction and resolves once it holds its items (a little into its window), with its outcome to await. */
  async function inProgress(command: TransactWriteCommand): Promise<{ done: Promise<unknown> }> {
    const done = client.send(command);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS / 3));
    return { done };
  }

  test("a single-item write to one of its items is refused with TransactionConflictException", async () => {
    await client.send(new PutCommand({ TableName: "things", Item: { pk: "p1", sk: "x", n: 0 } }));
    const { done: running } = await inProgress(bump("p1", 0));

    await expect(client.send(new PutCommand({ TableName: "things", Item: { pk: "p1", sk: "x", n: 9 } }))).rejects.toMatchObject({ name: "TransactionConflictException" });
    await expect(client.send(new DeleteCommand({ TableName: "things", Key: { pk: "p1", sk: "x" } }))).rejects.toMatchObject({ name: "TransactionConflictException" });
    await running;
    expect(await read("p1")).toMatchObject({ n: 1 });
    // Once it has committed, the item is free again.
    await client.send(new PutCommand({ TableName: "things", Item: { pk: "p1", sk: "x", n: 5 } }));
  });

  test("another transaction on one of its items is cancelled with the reason TransactionConflict, writing nothing", async () => {
    await client.send(new PutCommand({ TableName: "things", Item: { pk: "p2", sk: "x", n: 0 } }));
    const { done: running } = await inProgress(bump("p2", 0));

    const failure = await client
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: "things", Item: { pk: "p2-other", sk: "x" } } },
            { Update: { TableName: "things", Key: { pk: "p2", sk: "x" }, UpdateExpression: "SET n = :n", ExpressionAttributeValues: { ":n": 7 } } },
          ],
        }),
      )
      .catch((error: unknown) => error as { name: string; CancellationReasons: Array<{ Code: string }> });
    await running;

    expect(failure).toMatchObject({ name: "TransactionCanceledException" });
    expect((failure as { CancellationReasons: Array<{ Code: string }> }).CancellationReasons.map((reason) => reason.Code)).toEqual(["None", "TransactionConflict"]);
    expect(await read("p2-other")).toBeUndefined();
    expect(await read("p2")).toMatchObject({ n: 1 });
  });

  test("reads meanwhile see the item as it was; a strongly consistent read after the commit sees every write at once", async () => {
    await client.send(new PutCommand({ TableName: "things", Item: { pk: "p3", sk: "x", n: 0 } }));
    const { done: running } = await inProgress(
      new TransactWriteCommand({
        TransactItems: [
          { Update: { TableName: "things", Key: { pk: "p3", sk: "x" }, UpdateExpression: "SET n = :n", ExpressionAttributeValues: { ":n": 1 } } },
          { Put: { TableName: "things", Item: { pk: "p3", sk: "y", n: 1 } } },
        ],
      }),
    );

    expect(await read("p3")).toMatchObject({ n: 0 });
    await running;
    const { Items = [] } = await client.send(new QueryCommand({ TableName: "things", KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": "p3" }, ConsistentRead: true }));
    expect(Items.map((item) => [item.sk, item.n])).toEqual([
      ["x", 1],
      ["y", 1],
    ]);
  });

  test("writes to other items go ahead while it holds its own", async () => {
    const { done: running } = await inProgress(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: "things", Item: { pk: "p4", sk: "x" } } }] }));
    await client.send(new PutCommand({ TableName: "things", Item: { pk: "p4-free", sk: "x" } }));
    await running;
    expect(await read("p4-free")).toBeDefined();
  });
});
