import { Construct } from "constructs";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import {
  HASH_KEY,
  ROOM_ATTRIBUTE,
  ROOM_INDEX_NAME,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from "../handlers/lib/table-schema";
import type { BillingMode } from "./config";

export interface ConnectionsTableProps {
  /** Name of the table. */
  readonly tableName: string;
  /** Billing mode of the table. @default "PAY_PER_REQUEST" */
  readonly billingMode?: BillingMode;
  /** Read capacity units of the table and its index; PROVISIONED only. @default 5 */
  readonly readCapacity?: number;
  /** Write capacity units of the table and its index; PROVISIONED only. @default 5 */
  readonly writeCapacity?: number;
}

/**
 * The table of open connections and their room memberships (layout in handlers/lib/table-schema.ts), with
 * a sparse index to reach a room's members, TTL for items of connections that vanished, point-in-time
 * recovery and server-side encryption.
 */
export class ConnectionsTable extends Construct {
  public readonly table: DynamodbTable;
  /** ARN of the room index, for IAM statements. */
  public readonly roomIndexArn: string;
  public readonly roomIndexName = ROOM_INDEX_NAME;

  constructor(scope: Construct, id: string, props: ConnectionsTableProps) {
    super(scope, id);
    const billingMode = props.billingMode ?? "PAY_PER_REQUEST";
    const provisioned = billingMode === "PROVISIONED";
    if (!provisioned && (props.readCapacity !== undefined || props.writeCapacity !== undefined)) {
      throw new Error(
        `ConnectionsTable "${id}": readCapacity and writeCapacity are only allowed with billingMode "PROVISIONED", not "${billingMode}"`,
      );
    }
    const capacity = provisioned
      ? { readCapacity: props.readCapacity ?? 5, writeCapacity: props.writeCapacity ?? 5 }
      : {};

    this.table = new DynamodbTable(this, "table", {
      name: props.tableName,
      billingMode,
      ...capacity,
      hashKey: HASH_KEY,
      rangeKey: SORT_KEY,
      attribute: [
        { name: HASH_KEY, type: "S" },
        { name: SORT_KEY, type: "S" },
        { name: ROOM_ATTRIBUTE, type: "S" },
      ],
      globalSecondaryIndex: [
        {
          name: ROOM_INDEX_NAME,
          hashKey: ROOM_ATTRIBUTE,
          rangeKey: HASH_KEY,
          // The fan-out needs only the member's connection id, which is a key.
          projectionType: "KEYS_ONLY",
          ...capacity,
        },
      ],
      ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
    this.roomIndexArn = `${this.table.arn}/index/${ROOM_INDEX_NAME}`;
  }
}
