import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import {
  CONNECTION_SK,
  ENV_ROOM_INDEX_NAME,
  ENV_TABLE_NAME,
  HASH_KEY,
  ROOM_ATTRIBUTE,
  ROOM_INDEX_NAME,
  ROOM_SK_PREFIX,
  SORT_KEY,
} from "../../handlers/lib/table-schema";

// dynalite ships no types; it returns a plain node http.Server.
const dynalite = require("dynalite") as (options: Record<string, unknown>) => Server;

/**
 * An in-process DynamoDB (dynalite) on a free port, with the environment the handlers read pointed at
 * it: the SDK's AWS_ENDPOINT_URL_DYNAMODB, a region and fake credentials.
 */
export class LocalDynamo {
  private tables = 0;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    /** A client of the test's own, for arranging and inspecting items. */
    readonly db: DynamoDBDocumentClient
  ) {}

  static async start(): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}`;
    useFakeAwsEnvironment();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint }));
    return new LocalDynamo(server, endpoint, db);
  }

  /**
   * Creates an empty table with the connections layout and points TABLE_NAME at it, so each test starts
   * from nothing (dynalite creates tables instantly).
   */
  async freshTable(): Promise<string> {
    this.tables += 1;
    const tableName = `connections-${this.tables}`;
    await this.db.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: HASH_KEY, AttributeType: "S" },
          { AttributeName: SORT_KEY, AttributeType: "S" },
          { AttributeName: ROOM_ATTRIBUTE, AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: HASH_KEY, KeyType: "HASH" },
          { AttributeName: SORT_KEY, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: ROOM_INDEX_NAME,
            KeySchema: [
              { AttributeName: ROOM_ATTRIBUTE, KeyType: "HASH" },
              { AttributeName: HASH_KEY, KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
      })
    );
    process.env[ENV_TABLE_NAME] = tableName;
    process.env[ENV_ROOM_INDEX_NAME] = ROOM_INDEX_NAME;
    return tableName;
  }

  /** Every item stored under a connection id, sorted by sort key. */
  async itemsOf(connectionId: string): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: currentTable(),
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": HASH_KEY },
        ExpressionAttributeValues: { ":pk": connectionId },
        ConsistentRead: true,
      })
    );
    return Items;
  }

  /** Arranges a connection item directly, without going through the $connect handler. */
  async putConnection(connectionId: string): Promise<void> {
    await this.db.send(
      new PutCommand({ TableName: currentTable(), Item: { [HASH_KEY]: connectionId, [SORT_KEY]: CONNECTION_SK } })
    );
  }

  async putMembership(connectionId: string, room: string): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: currentTable(),
        Item: { [HASH_KEY]: connectionId, [SORT_KEY]: ROOM_SK_PREFIX + room, [ROOM_ATTRIBUTE]: room },
      })
    );
  }

  async stop(): Promise<void> {
    this.db.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }
}

/** Credentials and region the SDK needs to sign requests; nothing checks them locally. */
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
