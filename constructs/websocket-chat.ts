import { Construct } from "constructs";
import { join } from "node:path";
import {
  DEFAULT_FANOUT_CONCURRENCY,
  DEFAULT_INLINE_FANOUT_LIMIT,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_MAX_ROOMS_PER_CONNECTION,
  DEFAULT_RECIPIENTS_PER_JOB,
  DEFAULT_USER_BURST,
  DEFAULT_USER_RATE,
  ENV_AUTH_MODE,
  ENV_BROADCAST,
  type AuthMode,
  type BroadcastPolicy,
  ENV_CALLBACK_URL,
  ENV_FANOUT_CONCURRENCY,
  ENV_FANOUT_JOB_SIZE,
  ENV_FANOUT_QUEUE_URL,
  ENV_HANDSHAKE_TIMEOUT_SECONDS,
  ENV_HISTORY_DAYS,
  DEFAULT_HISTORY_DAYS,
  ENV_INLINE_FANOUT_LIMIT,
  ENV_MAX_CONNECTIONS_PER_USER,
  ENV_MAX_ROOMS_PER_CONNECTION,
  ENV_USER_BURST,
  ENV_USER_RATE,
  ENV_METRICS_NAMESPACE,
  ENV_METRICS_SERVICE,
  ENV_TABLE_NAME,
} from "../handlers/lib/env/contract";
import { bundleHandlers } from "./bundle";
import { BundledFunction, FUNCTION_DEFAULTS, type FunctionSettings } from "./bundled-function";
import { ChatAlarms } from "./chat-alarms";
import { ChatDashboard } from "./chat-dashboard";
import type { AuthConfig, ObservabilityConfig } from "./config";
import { ConnectionsTable, type TableSettings } from "./connections-table";
import { DEFAULT_MAXIMUM_CONCURRENCY, FanOutQueue } from "./fan-out-queue";
import { leadingKeys, type PolicyStatement } from "./policy";
import { type ApiSettings, WebsocketApi } from "./websocket-api";
import { AUTHORIZER_ENTRY, WebsocketAuthorizer } from "./websocket-authorizer";

/** Where the handlers' metrics go unless the stack names a namespace; config.ts reads it. */
export const DEFAULT_METRICS_NAMESPACE = "WebsocketChat";

/**
 * Who may send to everyone unless CHAT_BROADCAST says: with tokens, admins only, since one frame to
 * everyone is one billed post per connection; anonymous (which has no admins), everyone, as the tutorial.
 */
export const DEFAULT_BROADCAST: Readonly<Record<AuthMode, BroadcastPolicy>> = { jwt: "admins", none: "everyone" };

/** The chat's fan-out where props say nothing; config.ts reads these (docs/fan-out.md says why each). */
export const FAN_OUT_DEFAULTS = {
  /** Posts one invocation keeps in flight: enough to hide each post's latency, far below the account's rate. */
  postsInFlight: DEFAULT_FANOUT_CONCURRENCY,
  inlineLimit: DEFAULT_INLINE_FANOUT_LIMIT,
  jobSize: DEFAULT_RECIPIENTS_PER_JOB,
  /**
   * One job per consumer invocation: a consumer is CPU-bound on AWS, so how many run at once is what makes a
   * broadcast fast, and larger batches leave allowed consumers idle (bench/results.md, figures 7 "fan-out-scale"
   * and 9 "post-cpu").
   */
  batchSize: 1,
  /**
   * Consumer invocations at once: about half of the account's @connections rate (shared with every API of the
   * account and region), so the rest of the account keeps its share (bench/results.md, figure 9 "post-cpu").
   */
  consumerConcurrency: DEFAULT_MAXIMUM_CONCURRENCY,
  /** The consumer answers no API Gateway request, so 29 s does not bind it; Lambda's own limit is 900 s. */
  consumerTimeoutSeconds: 60,
} as const;

/** Room history where props say nothing; config.ts reads these (docs/history.md). */
export const HISTORY_DEFAULTS = {
  /** Days a room message is kept; 0 keeps none (seqs are still assigned). */
  days: DEFAULT_HISTORY_DAYS,
} as const;

export interface HistorySettings {
  /** Days a room message is kept, 0–3650. @default HISTORY_DEFAULTS.days */
  readonly days?: number;
}

/** The limits where props say nothing; config.ts reads these (docs/limits.md says why each). */
export const LIMIT_DEFAULTS = {
  /** A person typing sends a frame every few seconds; 5/s on average leaves room for joins and reconnects. */
  userRate: DEFAULT_USER_RATE,
  /** Enough for a page that joins its rooms and asks for their members at once after connecting. */
  userBurst: DEFAULT_USER_BURST,
  /** Tabs and devices of one person, with room for reconnects that overlap the old connection. */
  maxConnectionsPerUser: DEFAULT_MAX_CONNECTIONS_PER_USER,
  maxRoomsPerConnection: DEFAULT_MAX_ROOMS_PER_CONNECTION,
} as const;

/** What one user or connection may take (docs/limits.md). */
export interface LimitSettings {
  /** Frames per second per user on average over the client routes; 0 switches the limiter off. @default LIMIT_DEFAULTS.userRate */
  readonly userRate?: number;
  /** Frames a user may send at once. @default LIMIT_DEFAULTS.userBurst */
  readonly userBurst?: number;
  /** Open connections per user (jwt mode). @default LIMIT_DEFAULTS.maxConnectionsPerUser */
  readonly maxConnectionsPerUser?: number;
  /** Rooms one connection may be in. @default LIMIT_DEFAULTS.maxRoomsPerConnection */
  readonly maxRoomsPerConnection?: number;
}

export interface WebsocketChatProps {
  /** Prefix of every resource name. */
  readonly namePrefix: string;
  /** The stack's region, where the dashboard's metrics live. */
  readonly region: string;
  /**
   * How every function runs and logs; the log retention also applies to the API's log groups, so every log
   * group of the chat keeps its logs as long. A reserved concurrency applies to each route's function and the
   * authorizer; the fan-out worker reserves its queue's consumer concurrency instead. @default FUNCTION_DEFAULTS
   */
  readonly functions?: FunctionSettings;
  /** The API's stage and its throttling. @default API_DEFAULTS */
  readonly api?: ApiSettings;
  /** The connections table's billing and capacities. @default TABLE_DEFAULTS */
  readonly table?: TableSettings;
  /** Posts in flight, and when and how the fan-out queue is used. @default FAN_OUT_DEFAULTS */
  readonly fanOut?: FanOutSettings;
  /** How long rooms remember their messages. @default HISTORY_DEFAULTS */
  readonly history?: HistorySettings;
  /** Per-user and per-connection limits. @default LIMIT_DEFAULTS */
  readonly limits?: LimitSettings;
  /** Who may connect. @default { mode: "none" }: anyone */
  readonly auth?: AuthConfig;
  /**
   * Metrics namespace, alarm thresholds and the alarms' email.
   * @default DEFAULT_METRICS_NAMESPACE, chat-alarms.ts's DEFAULT_THRESHOLDS, no email
   */
  readonly observability?: Partial<ObservabilityConfig>;
  /** Folder holding the handler entry files. @default the project's handlers/ */
  readonly handlersDir?: string;
}

/**
 * Two different concurrencies: `postsInFlight` is how many posts one invocation (send-message, a presence
 * announcement, one consumer invocation) keeps in flight; `consumerConcurrency` is how many consumer
 * invocations the queue may run at once. A queued broadcast posts at most their product at a time.
 */
export interface FanOutSettings {
  /** Posts one invocation keeps in flight, 1–MAX_FANOUT_CONCURRENCY. @default FAN_OUT_DEFAULTS.postsInFlight */
  readonly postsInFlight?: number;
  /** Audiences above this many recipients go to the queue; smaller ones are posted inline. @default FAN_OUT_DEFAULTS.inlineLimit */
  readonly inlineLimit?: number;
  /** Recipients per job (one SQS message), 1–1,000. @default FAN_OUT_DEFAULTS.jobSize */
  readonly jobSize?: number;
  /** Jobs per consumer invocation, 1–10. @default FAN_OUT_DEFAULTS.batchSize */
  readonly batchSize?: number;
  /** Consumer invocations at once, 2–1,000. @default FAN_OUT_DEFAULTS.consumerConcurrency */
  readonly consumerConcurrency?: number;
  /** The consumer's timeout in seconds. @default FAN_OUT_DEFAULTS.consumerTimeoutSeconds */
  readonly consumerTimeoutSeconds?: number;
}

/** The handlers that publish metrics (handlers/lib/observability/metrics.ts); the others only log. */
const METRIC_PUBLISHERS = new Set(["send-message"]);

/** What a route's function may touch; each maps to the narrowest IAM statements below. */
interface RouteSpec {
  readonly routeKey: string;
  /** Entry file in handlers/ without extension; also the function name's suffix. */
  readonly handler: string;
  readonly replies: boolean;
  /** DynamoDB actions on the connections table (transaction items are authorized as these actions). */
  readonly tableActions: readonly string[];
  /** Posts to connections (messages, presence). */
  readonly manageConnections: boolean;
  /** Hands large audiences to the fan-out queue. @default false */
  readonly enqueues?: boolean;
  /**
   * When set, the table actions are allowed only on items whose partition key matches one of these
   * patterns (`dynamodb:LeadingKeys`). Only for actions that name their keys: a Scan has no leading key,
   * so `ForAllValues` would hold for it vacuously; the `Null` condition refuses it anyway.
   */
  readonly leadingKeys?: readonly string[];
  /** Reads or stores room history (HISTORY_DAYS). @default false */
  readonly history?: boolean;
}

/** Removing a gone connection (send-message on a 410, $disconnect): mark it closing, read its items, delete them. */
const REMOVAL_ACTIONS = ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem"];

/** The chat protocol's routes (see docs/protocol.md) and exactly what each handler calls. */
export const CHAT_ROUTES: readonly RouteSpec[] = [
  // One transaction of three puts: the connection, its user's list entry, its broadcast list entry.
  { routeKey: "$connect", handler: "connect", replies: false, tableActions: ["dynamodb:PutItem"], manageConnections: false },
  // Removes the connection, then tells its rooms (presence).
  { routeKey: "$disconnect", handler: "disconnect", replies: false, tableActions: REMOVAL_ACTIONS, manageConnections: true },
  { routeKey: "$default", handler: "default", replies: true, tableActions: ["dynamodb:GetItem"], manageConnections: false },
  // The sender's record with the target's (a room membership, a direct recipient) in one BatchGetItem, then as
  // removal; a room message also reads its room's counter (BatchGetItem) and takes its seq in one transaction
  // (an Update and two Puts).
  {
    routeKey: "send-message",
    handler: "send-message",
    replies: true,
    tableActions: [...REMOVAL_ACTIONS, "dynamodb:BatchGetItem", "dynamodb:PutItem"],
    manageConnections: true,
    enqueues: true,
    history: true,
  },
  // The connection, its membership, the room's record and the user's standing in one BatchGetItem; a transaction:
  // count the room on the connection's record (open, under the cap), put both membership items (and the room's
  // record when it has none), check the standing; the room's counter; then presence to the room.
  {
    routeKey: "join",
    handler: "join",
    replies: true,
    tableActions: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"],
    manageConnections: true,
  },
  // The connection; a Query of the room's list; then join's transaction with the room's record (Put) and a check
  // that the room's counter is absent; after conflicts, the room's record (BatchGetItem) to tell a lost race.
  {
    routeKey: "create-room",
    handler: "create-room",
    replies: true,
    tableActions: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
    manageConnections: false,
  },
  // The caller's connection and the room's record in one BatchGetItem; the user's standing (UpdateItem); the
  // user's list (Query), whose connections get the invitation (POST).
  {
    routeKey: "invite",
    handler: "invite",
    replies: true,
    tableActions: ["dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:Query"],
    manageConnections: true,
  },
  // As invite, then for each connection on the user's list leave's read of the room's entry (GetItem) and its
  // transaction (two deletes, the record's room count); `removed` to them and presence to the room (POST).
  {
    routeKey: "kick",
    handler: "kick",
    replies: true,
    tableActions: ["dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:GetItem", "dynamodb:DeleteItem"],
    manageConnections: true,
  },
  // The room's entry (for the member's user), then one transaction of two deletes and the record's room count; then presence to the room.
  {
    routeKey: "leave",
    handler: "leave",
    replies: true,
    tableActions: ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:Query"],
    manageConnections: true,
  },
  // The connection, its membership and the room's record in one BatchGetItem, then the room's list.
  { routeKey: "members", handler: "members", replies: true, tableActions: ["dynamodb:BatchGetItem", "dynamodb:Query"], manageConnections: false },
  // Reads only: the connection and its membership (conn#) with the room's record (hist#) in one BatchGetItem, then
  // the room's history (hist#).
  {
    routeKey: "history",
    handler: "history",
    replies: true,
    tableActions: ["dynamodb:BatchGetItem", "dynamodb:Query"],
    manageConnections: false,
    leadingKeys: ["conn#*", "hist#*"],
    history: true,
  },
  // The caller's record (conn#, is it an admin), the ban's Put or Delete (ban#), then the user's list (user#);
  // each listed connection is closed with DELETE, which every client route may do in jwt mode. In none mode
  // nobody is an admin, so it closes nothing and gets no DELETE.
  {
    routeKey: "ban",
    handler: "ban",
    replies: true,
    tableActions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"],
    manageConnections: false,
    leadingKeys: ["conn#*", "ban#*", "user#*"],
  },
];

/**
 * The fan-out queue's consumer: posts jobs' messages (ManageConnections), removes recipients found gone,
 * and keeps a retried job's progress (GetItem, PutItem, DeleteItem); what it may do on the queue itself
 * FanOutQueue grants.
 */
const FAN_OUT_WORKER = { handler: "fan-out-worker", tableActions: [...REMOVAL_ACTIONS, "dynamodb:PutItem"] } as const;

/** The whole chat backend: the connections table, one function per route, the fan-out queue and its consumer, and the WebSocket API. */
export class WebsocketChat extends Construct {
  public readonly table: ConnectionsTable;
  public readonly api: WebsocketApi;
  public readonly functions: Readonly<Record<string, BundledFunction>>;
  /** The $connect authorizer, in auth mode `jwt`. */
  public readonly authorizer?: WebsocketAuthorizer;
  /** The queue large audiences are handed to, and its consumer. */
  public readonly fanOutQueue: FanOutQueue;
  public readonly fanOutWorker: BundledFunction;
  public readonly alarms: ChatAlarms;
  public readonly dashboard: ChatDashboard;

  constructor(scope: Construct, id: string, props: WebsocketChatProps) {
    super(scope, id);
    const handlersDir = props.handlersDir ?? join(__dirname, "..", "handlers");
    const functionSettings = props.functions ?? {};
    const timeout = functionSettings.timeout ?? FUNCTION_DEFAULTS.timeout;
    const fanOut = withDefaults<Required<FanOutSettings>>(FAN_OUT_DEFAULTS, props.fanOut);
    const history = withDefaults<Required<HistorySettings>>(HISTORY_DEFAULTS, props.history);
    const limits = withDefaults<Required<LimitSettings>>(LIMIT_DEFAULTS, props.limits);
    const metricsNamespace = props.observability?.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    // The stack's name prefix tells stacks apart that share a namespace.
    const metricsEnvironment = { [ENV_METRICS_NAMESPACE]: metricsNamespace, [ENV_METRICS_SERVICE]: props.namePrefix };

    this.table = new ConnectionsTable(this, "connections", {
      tableName: `${props.namePrefix}-connections`,
      ...props.table,
    });

    // The API exists before its functions, so a function can be granted ManageConnections on the API's
    // connections while the API's routes point at the functions, without a dependency cycle.
    this.api = new WebsocketApi(this, "websocket", {
      name: `${props.namePrefix}-websocket`,
      ...props.api,
      logRetentionDays: functionSettings.logRetentionDays,
    });

    const entryOf = (spec: RouteSpec) => join(handlersDir, `${spec.handler}.ts`);
    const auth = props.auth ?? { mode: "none", broadcast: DEFAULT_BROADCAST.none };
    const workerEntry = join(handlersDir, `${FAN_OUT_WORKER.handler}.ts`);
    bundleHandlers([...CHAT_ROUTES.map(entryOf), workerEntry, ...(auth.mode === "jwt" ? [AUTHORIZER_ENTRY] : [])], {
      externalAwsSdk: functionSettings.externalAwsSdk,
      runtime: functionSettings.runtime,
    });
    this.authorizer =
      auth.mode === "jwt"
        ? new WebsocketAuthorizer(this, "authorizer", {
            api: this.api,
            name: `${props.namePrefix}-authorizer`,
            region: props.region,
            issuer: auth.issuer,
            audience: auth.audience,
            jwksUrl: auth.jwksUrl,
            nameClaim: auth.nameClaim,
            groupsClaim: auth.groupsClaim,
            adminGroup: auth.adminGroup,
            bans: { tableName: this.table.table.name, tableArn: this.table.table.arn },
            functionSettings,
            metricsEnvironment,
          })
        : undefined;

    this.fanOutWorker = new BundledFunction(this, FAN_OUT_WORKER.handler, {
      functionName: `${props.namePrefix}-${FAN_OUT_WORKER.handler}`,
      region: props.region,
      entry: workerEntry,
      ...functionSettings,
      timeout: fanOut.consumerTimeoutSeconds,
      // The queue never runs more consumers than its mapping's maximum concurrency: with reservations on, exactly
      // that many are kept for it, so the mapping is never throttled (Lambda advises reserved ≥ maximum concurrency).
      reservedConcurrency: functionSettings.reservedConcurrency === undefined ? undefined : fanOut.consumerConcurrency,
      environment: {
        ...metricsEnvironment,
        [ENV_TABLE_NAME]: this.table.table.name,
        [ENV_FANOUT_CONCURRENCY]: String(fanOut.postsInFlight),
        [ENV_CALLBACK_URL]: this.api.callbackUrl,
      },
      statements: [{ actions: FAN_OUT_WORKER.tableActions, resources: [this.table.table.arn] }, this.manageConnections()],
    });
    this.fanOutQueue = new FanOutQueue(this, "fan-out", {
      consumer: this.fanOutWorker,
      queueName: `${props.namePrefix}-fan-out`,
      batchSize: fanOut.batchSize,
      maximumConcurrency: fanOut.consumerConcurrency,
    });

    const functions: Record<string, BundledFunction> = {};
    for (const spec of CHAT_ROUTES) {
      const fn = new BundledFunction(this, spec.handler, {
        functionName: `${props.namePrefix}-${spec.handler}`,
        region: props.region,
        entry: entryOf(spec),
        ...functionSettings,
        environment: {
          ...(METRIC_PUBLISHERS.has(spec.handler) ? metricsEnvironment : {}),
          ...(spec.tableActions.length ? { [ENV_TABLE_NAME]: this.table.table.name } : {}),
          ...(spec.manageConnections
            ? { [ENV_FANOUT_CONCURRENCY]: String(fanOut.postsInFlight), [ENV_CALLBACK_URL]: this.api.callbackUrl }
            : {}),
          ...(spec.routeKey === "$connect" ? { [ENV_AUTH_MODE]: auth.mode } : {}),
          // send-message enforces it; $default tells the page, which offers "everyone" only to those allowed.
          ...(spec.handler === "send-message" || spec.handler === "default" ? { [ENV_BROADCAST]: auth.broadcast } : {}),
          ...(spec.history ? { [ENV_HISTORY_DAYS]: String(history.days) } : {}),
          ...(spec.replies ? { [ENV_USER_RATE]: String(limits.userRate), [ENV_USER_BURST]: String(limits.userBurst) } : {}),
          // A token that expires mid-connection is told so and the connection closed (jwt mode only).
          ...(spec.replies && auth.mode === "jwt" ? { [ENV_CALLBACK_URL]: this.api.callbackUrl } : {}),
          ...(spec.routeKey === "join" || spec.routeKey === "create-room" ? { [ENV_MAX_ROOMS_PER_CONNECTION]: String(limits.maxRoomsPerConnection) } : {}),
          // How long a listed connection's handshake may still be completing: the authorizer's timeout, then $connect's.
          ...(spec.handler === "ban" ? { [ENV_HANDSHAKE_TIMEOUT_SECONDS]: String(auth.mode === "jwt" ? 2 * timeout : timeout) } : {}),
          // The per-user connection cap (jwt mode): its probes of possibly dead connections need the callback URL.
          ...(spec.routeKey === "$connect" && auth.mode === "jwt"
            ? { [ENV_MAX_CONNECTIONS_PER_USER]: String(limits.maxConnectionsPerUser), [ENV_CALLBACK_URL]: this.api.callbackUrl }
            : {}),
          ...(spec.enqueues
            ? {
                [ENV_FANOUT_QUEUE_URL]: this.fanOutQueue.queue.url,
                [ENV_INLINE_FANOUT_LIMIT]: String(fanOut.inlineLimit),
                [ENV_FANOUT_JOB_SIZE]: String(fanOut.jobSize),
              }
            : {}),
        },
        statements: this.statementsFor(spec, auth.mode, limits),
      });
      functions[spec.handler] = fn;
      const authorizer = spec.routeKey === "$connect" ? this.authorizer : undefined;
      this.api.addRoute({ routeKey: spec.routeKey, handler: fn.function, replies: spec.replies, timeoutSeconds: timeout, authorizer });
    }
    this.functions = functions;

    const observed = {
      ...functions,
      [FAN_OUT_WORKER.handler]: this.fanOutWorker,
      ...(this.authorizer ? { authorizer: this.authorizer.function } : {}),
    };
    const deadLetterQueueName = this.fanOutQueue.deadLetterQueue.name;
    const queueName = this.fanOutQueue.queue.name;
    this.alarms = new ChatAlarms(this, "alarms", {
      namePrefix: props.namePrefix,
      functions: observed,
      api: this.api,
      metricsNamespace,
      service: props.namePrefix,
      thresholds: props.observability?.thresholds,
      alarmEmail: props.observability?.alarmEmail,
      deadLetterQueueName,
      queueName,
    });
    this.dashboard = new ChatDashboard(this, "dashboard", {
      // Dashboards are account-wide, and PutDashboard replaces one of the same name: the region keeps apart
      // the same stack in two regions.
      dashboardName: `${props.namePrefix}-chat-${props.region}`,
      region: props.region,
      functions: observed,
      api: this.api,
      metricsNamespace,
      service: props.namePrefix,
      alarms: this.alarms.alarms,
      deadLetterQueueName,
      queueName,
    });
  }

  /** Exactly the actions the route's handler calls, each on only the resources it calls them on. */
  private statementsFor(spec: RouteSpec, authMode: AuthConfig["mode"], limits: Required<LimitSettings>): PolicyStatement[] {
    const statements: PolicyStatement[] = [];
    // The frame limit is one conditional update of the user's bucket, made by every client route: an UpdateItem,
    // or (join, leave) an Update item of their transaction, which IAM authorizes as dynamodb:UpdateItem too.
    const limiter = spec.replies && limits.userRate > 0 && !spec.tableActions.includes("dynamodb:UpdateItem");
    // In jwt mode $connect takes (and gives back dead) seats on the user's seats item, probing with GET.
    const seats = spec.routeKey === "$connect" && authMode === "jwt";
    // In jwt mode $connect's transaction also checks the user's account ban (ConditionCheckItem on ban#).
    const banCheck = seats;
    if (spec.leadingKeys) {
      // A role held to some partitions (history's may only read) gets the bucket's write on limits# alone.
      statements.push({ actions: spec.tableActions, resources: [this.table.table.arn], conditions: leadingKeys(spec.leadingKeys) });
      if (limiter) statements.push({ actions: ["dynamodb:UpdateItem"], resources: [this.table.table.arn], conditions: leadingKeys(["limits#*"]) });
    } else {
      const tableActions = [...spec.tableActions, ...(limiter ? ["dynamodb:UpdateItem"] : []), ...(seats ? ["dynamodb:UpdateItem"] : []), ...(banCheck ? ["dynamodb:ConditionCheckItem"] : [])];
      if (tableActions.length) statements.push({ actions: tableActions, resources: [this.table.table.arn] });
    }
    // In jwt mode a client route closes a connection whose token expired: it posts TOKEN_EXPIRED, then DELETEs.
    const closes = spec.replies && authMode === "jwt";
    if (spec.manageConnections || closes) statements.push(this.manageConnections(closes ? ["POST", "DELETE"] : ["POST"]));
    if (seats) statements.push(this.manageConnections(["GET"]));
    if (spec.enqueues) statements.push(...this.fanOutQueue.producerStatements());
    return statements;
  }

  /** Posting to (and, given DELETE, closing) this stage's connections, and nothing else of the API. */
  private manageConnections(methods: ReadonlyArray<"POST" | "GET" | "DELETE"> = ["POST"]): PolicyStatement {
    return { actions: ["execute-api:ManageConnections"], resources: methods.map((method) => `${this.api.connectionsArnPrefix}/${method}/@connections/*`) };
  }
}

/** `given` over `defaults`; a key given as undefined keeps its default, as `??` would. */
function withDefaults<T extends object>(defaults: T, given: Partial<T> | undefined): T {
  const chosen = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given ?? {})) if (value !== undefined) chosen[key] = value;
  return chosen as T;
}
