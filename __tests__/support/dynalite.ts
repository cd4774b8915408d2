import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { ConnectionStore, connectionStore } from "../../handlers/lib/store/connection-store";
import { ENV_TABLE_NAME, ENV_USER_RATE } from "../../handlers/lib/env/contract";
import { keys, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../../handlers/lib/store/table-schema";
import { anonymousUser, User } from "../../handlers/lib/auth/user";
import { startLocalDynamoDb, type LocalDynamoDb } from "../../local/services/dynamodb";
import type { TtlOptions } from "../../local/services/dynamodb/ttl-sweeper";
import type { TableModel } from "../../local/terraform/stack-model-types";

/** The connections table as the stack defines it (constructs/connections-table.ts). */
export function connectionsTableModel(name: string): TableModel {
  return {
    address: `aws_dynamodb_table.${name}`,
    name,
    arn: `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`,
    hashKey: PARTITION_KEY,
    rangeKey: SORT_KEY,
    attributes: [
      { name: PARTITION_KEY, type: "S" },
      { name: SORT_KEY, type: "S" },
    ],
    globalSecondaryIndexes: [],
    localSecondaryIndexes: [],
    ttlAttribute: TTL_ATTRIBUTE,
  };
}

/**
 * The local runtime's DynamoDB (dynalite with transactions, TTL expiry and lagging indexes, without the
 * IAM check) on a free port, with the environment the handlers read pointed at it: the SDK's
 * AWS_ENDPOINT_URL_DYNAMODB, a region and fake credentials.
 */
export class LocalDynamo {
  private tables = 0;

  private constructor(
    private readonly dynamo: LocalDynamoDb,
    /** A client of the test's own, for arranging and inspecting items. */
    readonly db: DynamoDBDocumentClient,
  ) {}

  static async start(options: { readonly ttl?: TtlOptions; readonly indexLagMs?: number } = {}): Promise<LocalDynamo> {
    const dynamo = await startLocalDynamoDb({ tables: [], region: "us-east-1", account: "000000000000", log: () => undefined, ...options });
    useFakeAwsEnvironment();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    // A handler test checks one route's own effect (often "stores nothing"): the frame limiter, which writes
    // a bucket item per frame, is off unless the test turns it on (handlers-rate-limit.test.ts does; the
    // local runtime's tests run with the stack's default).
    process.env[ENV_USER_RATE] ??= "0";
    return new LocalDynamo(dynamo, DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint })));
  }

  get endpoint(): string {
    return this.dynamo.endpoint;
  }

  /** Creates an empty connections table and points TABLE_NAME at it, so each test starts from nothing. */
  async freshTable(): Promise<string> {
    this.tables += 1;
    const tableName = `connections-${this.tables}`;
    await this.dynamo.createTable(connectionsTableModel(tableName));
    process.env[ENV_TABLE_NAME] = tableName;
    return tableName;
  }

  /** The store the handlers use, on the current table. */
  store(now?: () => number): ConnectionStore {
    return now ? new ConnectionStore(this.db, { tableName: currentTable() }, now) : connectionStore();
  }

  /** Arranges open connections through the store's own write, as $connect makes them. */
  async connect(...connectionIds: string[]): Promise<void> {
    await Promise.all(connectionIds.map((id) => this.store().addConnection({ connectionId: id, connectedAt: Date.now() - 60_000, user: anonymousUser(id, id) })));
  }

  /** Arranges a connection of a given user. */
  async connectAs(connectionId: string, user: User, connectedAt = Date.now() - 60_000): Promise<void> {
    await this.store().addConnection({ connectionId, connectedAt, user });
  }

  /** Arranges room memberships through the store's own join. */
  async join(room: string, ...connectionIds: string[]): Promise<void> {
    for (const id of connectionIds) {
      const connection = await this.store().connection(id);
      if (!connection) throw new Error(`${id} is not connected`);
      await this.store().join(connection, room);
    }
  }

  /** Every item of a partition, sorted by sort key. */
  async partition(pk: string): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: currentTable(),
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": PARTITION_KEY },
        ExpressionAttributeValues: { ":pk": pk },
        ConsistentRead: true,
      }),
    );
    return Items;
  }

  /** Every item stored under a connection's own partition. */
  itemsOf(connectionId: string): Promise<Record<string, unknown>[]> {
    return this.partition(keys.connectionPartition(connectionId));
  }

  /** Every item of the table, as `pk sk` strings, sorted: what a test expects to be left. */
  async allKeys(): Promise<string[]> {
    const { Items = [] } = await this.db.send(new ScanCommand({ TableName: currentTable() }));
    return Items.map((item) => `${String(item[PARTITION_KEY])} ${String(item[SORT_KEY])}`).sort();
  }

  /** Every item whose partition or sort key names the connection: what must be gone after it leaves. */
  async keysMentioning(connectionId: string): Promise<string[]> {
    return (await this.allKeys()).filter((key) => key.split(" ").some((part) => part === `conn#${connectionId}`));
  }

  async put(item: Record<string, unknown>): Promise<void> {
    await this.db.send(new PutCommand({ TableName: currentTable(), Item: item }));
  }

  sweepExpiredItems(): Promise<number> {
    return this.dynamo.sweepExpiredItems();
  }

  async stop(): Promise<void> {
    this.db.destroy();
    await this.dynamo.stop();
  }
}

/** Credentials and region the SDK needs to sign requests; nothing checks them here. */
export function useFakeAwsEnvironment(): void {
  process.env.AWS_REGION = "us-east-1";
  process.env.AWS_ACCESS_KEY_ID = "AKIDTESTHANDLERS";
  process.env.AWS_SECRET_ACCESS_KEY = "test-secret";
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

function currentTable(): string {
  const name = process.env[ENV_TABLE_NAME];
  if (!name) throw new Error("call freshTable() first");
  return name;
}
