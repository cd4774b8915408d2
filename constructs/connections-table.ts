import { Construct } from "constructs";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from "../handlers/lib/store/table-schema";
import type { BillingMode } from "./config";

/** Billing and the capacities PROVISIONED starts from, where props say nothing; config.ts reads these. */
export const TABLE_DEFAULTS = {
  billingMode: "PAY_PER_REQUEST",
  readCapacity: 5,
  writeCapacity: 5,
} as const satisfies { billingMode: BillingMode; readCapacity: number; writeCapacity: number };

export interface ConnectionsTableProps {
  /** Name of the table. */
  readonly tableName: string;
  /** Billing mode of the table. @default TABLE_DEFAULTS.billingMode */
  readonly billingMode?: BillingMode;
  /** Read capacity units; PROVISIONED only. @default TABLE_DEFAULTS.readCapacity */
  readonly readCapacity?: number;
  /** Write capacity units; PROVISIONED only. @default TABLE_DEFAULTS.writeCapacity */
  readonly writeCapacity?: number;
}

/** The table's settings a stack's configuration chooses: billing and, with PROVISIONED, capacities. */
export type TableSettings = Pick<ConnectionsTableProps, "billingMode" | "readCapacity" | "writeCapacity">;

/**
 * The table of open connections, room members, users' connections and the broadcast lists (layout in
 * handlers/lib/store/table-schema.ts). It has no secondary index on purpose: every read that decides who
 * receives a message is a strongly consistent read of the base table. TTL removes items of connections
 * that vanished; point-in-time recovery and server-side encryption are on.
 */
export class ConnectionsTable extends Construct {
  public readonly table: DynamodbTable;

  constructor(scope: Construct, id: string, props: ConnectionsTableProps) {
    super(scope, id);
    const billingMode: BillingMode = props.billingMode ?? TABLE_DEFAULTS.billingMode;
    const provisioned = billingMode === "PROVISIONED";
    if (!provisioned && (props.readCapacity !== undefined || props.writeCapacity !== undefined)) {
      throw new Error(
        `ConnectionsTable "${id}": readCapacity and writeCapacity are only allowed with billingMode "PROVISIONED", not "${billingMode}"`,
      );
    }

    this.table = new DynamodbTable(this, "table", {
      name: props.tableName,
      billingMode,
      ...(provisioned ? { readCapacity: props.readCapacity ?? TABLE_DEFAULTS.readCapacity, writeCapacity: props.writeCapacity ?? TABLE_DEFAULTS.writeCapacity } : {}),
      hashKey: PARTITION_KEY,
      rangeKey: SORT_KEY,
      attribute: [
        { name: PARTITION_KEY, type: "S" },
        { name: SORT_KEY, type: "S" },
      ],
      ttl: { attributeName: TTL_ATTRIBUTE, enabled: true },
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
  }
}
