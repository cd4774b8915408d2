import { Construct } from "constructs";
import { join } from "node:path";
import { ENV_CALLBACK_URL } from "../handlers/lib/callback-url";
import { ENV_ROOM_INDEX_NAME, ENV_TABLE_NAME } from "../handlers/lib/table-schema";
import { bundleHandlers } from "./bundle";
import { BundledFunction } from "./bundled-function";
import type { BillingMode } from "./config";
import { ConnectionsTable } from "./connections-table";
import type { PolicyStatement } from "./policy";
import { WebsocketApi } from "./websocket-api";

export interface WebsocketChatProps {
  /** Prefix of every resource name. */
  readonly namePrefix: string;
  /** @default "prod" */
  readonly stageName?: string;
  /** @default 30 */
  readonly logRetentionDays?: number;
  readonly throttlingBurstLimit?: number;
  readonly throttlingRateLimit?: number;
  /** @default "PAY_PER_REQUEST" */
  readonly billingMode?: BillingMode;
  readonly readCapacity?: number;
  readonly writeCapacity?: number;
  /** @default 256 */
  readonly lambdaMemoryMb?: number;
  /** @default 10 */
  readonly lambdaTimeoutSeconds?: number;
  /** Posts in flight during one fan-out. @default 25 */
  readonly fanOutConcurrency?: number;
  /** Leave the AWS SDK out of the bundles. @default false */
  readonly externalAwsSdk?: boolean;
  /** Folder holding the handler entry files. @default the project's handlers/ */
  readonly handlersDir?: string;
}

/** What a route's function may touch; each maps to the narrowest IAM statements below. */
interface RouteSpec {
  readonly routeKey: string;
  /** Entry file in handlers/ without extension; also the function name's suffix. */
  readonly handler: string;
  readonly replies: boolean;
  readonly tableActions: readonly string[];
  readonly indexActions: readonly string[];
  readonly manageConnections: boolean;
}

/** The chat protocol's routes (see shared/protocol.md) and exactly what each handler calls. */
export const CHAT_ROUTES: readonly RouteSpec[] = [
  { routeKey: "$connect", handler: "connect", replies: false, tableActions: ["dynamodb:PutItem"], indexActions: [], manageConnections: false },
  {
    routeKey: "$disconnect",
    handler: "disconnect",
    replies: false,
    tableActions: ["dynamodb:Query", "dynamodb:BatchWriteItem"],
    indexActions: [],
    manageConnections: false,
  },
  { routeKey: "$default", handler: "default", replies: true, tableActions: [], indexActions: [], manageConnections: false },
  {
    routeKey: "send-message",
    handler: "send-message",
    replies: true,
    tableActions: ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchWriteItem"],
    indexActions: ["dynamodb:Query"],
    manageConnections: true,
  },
  { routeKey: "join", handler: "join", replies: true, tableActions: ["dynamodb:PutItem"], indexActions: [], manageConnections: false },
  { routeKey: "leave", handler: "leave", replies: true, tableActions: ["dynamodb:DeleteItem"], indexActions: [], manageConnections: false },
];

/** The whole chat backend: the connections table, one function per route, and the WebSocket API. */
export class WebsocketChat extends Construct {
  public readonly table: ConnectionsTable;
  public readonly api: WebsocketApi;
  public readonly functions: Readonly<Record<string, BundledFunction>>;

  constructor(scope: Construct, id: string, props: WebsocketChatProps) {
    super(scope, id);
    const stageName = props.stageName ?? "prod";
    const handlersDir = props.handlersDir ?? join(__dirname, "..", "handlers");
    const timeout = props.lambdaTimeoutSeconds ?? 10;

    this.table = new ConnectionsTable(this, "connections", {
      tableName: `${props.namePrefix}-connections`,
      billingMode: props.billingMode,
      readCapacity: props.readCapacity,
      writeCapacity: props.writeCapacity,
    });

    // The API exists before its functions, so a function can be granted ManageConnections on the API's
    // connections while the API's routes point at the functions, without a dependency cycle.
    this.api = new WebsocketApi(this, "websocket", {
      name: `${props.namePrefix}-websocket`,
      stageName,
      throttlingBurstLimit: props.throttlingBurstLimit,
      throttlingRateLimit: props.throttlingRateLimit,
      logRetentionDays: props.logRetentionDays,
    });

    const entryOf = (spec: RouteSpec) => join(handlersDir, `${spec.handler}.ts`);
    bundleHandlers(CHAT_ROUTES.map(entryOf), { externalAwsSdk: props.externalAwsSdk });

    const functions: Record<string, BundledFunction> = {};
    for (const spec of CHAT_ROUTES) {
      const fn = new BundledFunction(this, spec.handler, {
        functionName: `${props.namePrefix}-${spec.handler}`,
        entry: entryOf(spec),
        memorySize: props.lambdaMemoryMb,
        timeout,
        logRetentionDays: props.logRetentionDays,
        externalAwsSdk: props.externalAwsSdk,
        environment: {
          ...(usesTable(spec) ? { [ENV_TABLE_NAME]: this.table.table.name, [ENV_ROOM_INDEX_NAME]: this.table.roomIndexName } : {}),
          ...(spec.manageConnections
            ? { FANOUT_CONCURRENCY: String(props.fanOutConcurrency ?? 25), [ENV_CALLBACK_URL]: this.api.callbackUrl }
            : {}),
        },
        statements: this.statementsFor(spec),
      });
      functions[spec.handler] = fn;
      this.api.addRoute({ routeKey: spec.routeKey, handler: fn.function, replies: spec.replies, timeoutSeconds: timeout });
    }
    this.functions = functions;
  }

  /** Exactly the actions the route's handler calls, each on only the resources it calls them on. */
  private statementsFor(spec: RouteSpec): PolicyStatement[] {
    const statements: PolicyStatement[] = [];
    if (spec.tableActions.length) statements.push({ actions: spec.tableActions, resources: [this.table.table.arn] });
    if (spec.indexActions.length) statements.push({ actions: spec.indexActions, resources: [this.table.roomIndexArn] });
    if (spec.manageConnections) {
      statements.push({
        actions: ["execute-api:ManageConnections"],
        resources: [`${this.api.connectionsArnPrefix}/POST/@connections/*`],
      });
    }
    return statements;
  }
}

function usesTable(spec: RouteSpec): boolean {
  return spec.tableActions.length + spec.indexActions.length > 0;
}
