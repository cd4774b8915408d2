/**
 * The environment contract between the stack and the handlers: every environment variable a handler reads,
 * with its name, its default and its parser. The constructs set the variables by these names
 * (constructs/websocket-chat.ts, websocket-authorizer.ts); the handlers read them only through these
 * functions. Read at call time, not at import, so a test can set the environment after loading a handler.
 *
 * Bundled into every Lambda: it imports nothing but the fan-out job's size limit.
 */
import { MAX_RECIPIENTS_PER_JOB } from "../fan-out/fan-out-job";

type Env = Readonly<Record<string, string | undefined>>;

// --- The connections table (every function that uses it) ---

/** The connections table's name. Required. */
export const ENV_TABLE_NAME = "TABLE_NAME";
/**
 * Optional: `Limit` of every Scan/Query page the handlers read. Unset means DynamoDB's own 1 MB pages;
 * tests set it to a few items to exercise pagination without writing thousands of items.
 */
export const ENV_PAGE_SIZE = "DYNAMODB_PAGE_SIZE";
const MAX_PAGE_SIZE = 1000;

export interface TableSettings {
  readonly tableName: string;
  /** `Limit` of each Scan/Query page; undefined leaves DynamoDB's default. */
  readonly pageSize?: number;
}

export function tableSettings(env: Env = process.env): TableSettings {
  return {
    tableName: requiredSetting(env, ENV_TABLE_NAME),
    pageSize: integerOr(env, ENV_PAGE_SIZE, undefined, MAX_PAGE_SIZE),
  };
}

// --- Posting (every function that posts to connections) ---

/**
 * The `https://` endpoint of the API's `@connections` (execute-api host and stage). Set on every function
 * that posts: the event's `domainName` is a custom domain when the API has one, and `@connections` answers
 * only on the execute-api host.
 */
export const ENV_CALLBACK_URL = "CALLBACK_URL";
/** The SDK's per-service override of the @connections endpoint; the local runtime sets it, AWS does not. */
export const ENV_MANAGEMENT_API_ENDPOINT = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI";

/** Where to post: the SDK's override first, then the stack's CALLBACK_URL; undefined when neither is set. */
export function managementApiEndpointFromEnv(env: Env = process.env): string | undefined {
  return env[ENV_MANAGEMENT_API_ENDPOINT] ?? env[ENV_CALLBACK_URL];
}

/** Optional: how many posts one invocation keeps in flight (the stack's CHAT_FANOUT_CONCURRENCY). */
export const ENV_FANOUT_CONCURRENCY = "FANOUT_CONCURRENCY";
/** Enough parallel posts to hide each one's latency, few enough to stay far below the account's @connections rate. */
export const DEFAULT_FANOUT_CONCURRENCY = 25;
/** The most posts one invocation may keep in flight; the stack's CHAT_FANOUT_CONCURRENCY allows the same. */
export const MAX_FANOUT_CONCURRENCY = 1000;

export function fanOutConcurrency(env: Env = process.env): number {
  return integerOr(env, ENV_FANOUT_CONCURRENCY, DEFAULT_FANOUT_CONCURRENCY, MAX_FANOUT_CONCURRENCY);
}

// --- The fan-out queue (send-message) ---

/** The fan-out queue's URL: set on send-message when the stack has the queue. */
export const ENV_FANOUT_QUEUE_URL = "FANOUT_QUEUE_URL";
/** Audiences larger than this go to the queue; smaller ones are posted inline. */
export const ENV_INLINE_FANOUT_LIMIT = "INLINE_FANOUT_LIMIT";
/**
 * Where send-message stops posting itself and hands the audience to the queue: small enough that an inline
 * fan-out ends well inside the function's timeout at the default memory, leaving room for reading the
 * audience, a cold start and a throttled post's retries (docs/fan-out.md; bench/results.md,
 * figures 7 "fan-out-scale" and 9 "post-cpu").
 */
export const DEFAULT_INLINE_FANOUT_LIMIT = 1000;
const MAX_INLINE_FANOUT_LIMIT = 100_000;
/** Recipients per fan-out job (one SQS message). */
export const ENV_FANOUT_JOB_SIZE = "FANOUT_JOB_SIZE";
/**
 * Recipients per job, by default: a full job stays well inside SQS's 256 KiB with room-sized list keys,
 * and each job is one consumer invocation's work and its unit of retry, so a failed invocation delays at
 * most this many people while an audience of a few thousand is already spread over several consumers
 * (bench/results.md, figure 9 "post-cpu").
 */
export const DEFAULT_RECIPIENTS_PER_JOB = 500;

/** Where and above how many recipients send-message hands a message to the queue; undefined without a queue. */
export function fanOutQueue(env: Env = process.env): { readonly url: string; readonly inlineLimit: number; readonly jobSize: number } | undefined {
  const url = env[ENV_FANOUT_QUEUE_URL];
  if (!url) return undefined;
  return {
    url,
    inlineLimit: integerOr(env, ENV_INLINE_FANOUT_LIMIT, DEFAULT_INLINE_FANOUT_LIMIT, MAX_INLINE_FANOUT_LIMIT, 0),
    jobSize: integerOr(env, ENV_FANOUT_JOB_SIZE, DEFAULT_RECIPIENTS_PER_JOB, MAX_RECIPIENTS_PER_JOB),
  };
}

// --- Room history (send-message, history) ---

/** Days a room message is kept in history (the stack's CHAT_HISTORY_DAYS); 0 keeps none but still sequences. */
export const ENV_HISTORY_DAYS = "HISTORY_DAYS";
export const DEFAULT_HISTORY_DAYS = 7;
/** DynamoDB's TTL is a number of seconds; ten years is far past any chat's retention. */
export const MAX_HISTORY_DAYS = 3650;

export function historyDays(env: Env = process.env): number {
  return integerOr(env, ENV_HISTORY_DAYS, DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS, 0);
}

// --- Authentication ($connect and the authorizer) ---

/** How the stack authenticates connections: set on the $connect function. */
export const ENV_AUTH_MODE = "AUTH_MODE";
export type AuthMode = "none" | "jwt";

/** Unset means "none", the tutorial's anonymous mode. */
export function authMode(env: Env = process.env): AuthMode {
  const value = env[ENV_AUTH_MODE];
  if (value === undefined || value === "" || value === "none") return "none";
  if (value === "jwt") return "jwt";
  throw new Error(`Environment variable ${ENV_AUTH_MODE} must be "none" or "jwt", got "${value}"`);
}

/** What the authorizer verifies tokens against; each is required in the authorizer's function. */
export const ENV_JWT_ISSUER = "JWT_ISSUER";
export const ENV_JWT_AUDIENCE = "JWT_AUDIENCE";
export const ENV_JWT_JWKS_URL = "JWT_JWKS_URL";
export const ENV_JWT_NAME_CLAIM = "JWT_NAME_CLAIM";
/** The claim listing the user's groups, and the group that makes a user an admin. */
export const ENV_JWT_GROUPS_CLAIM = "JWT_GROUPS_CLAIM";
export const ENV_ADMIN_GROUP = "ADMIN_GROUP";

export interface AuthSettings {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must carry (one of its values, when it is a list). */
  readonly audience: string;
  /** Where the issuer publishes its signing keys. */
  readonly jwksUrl: string;
  /** The claim that holds the user's display name. */
  readonly nameClaim: string;
  /** The claim that lists the user's groups. */
  readonly groupsClaim: string;
  /** Members of this group are admins. */
  readonly adminGroup: string;
}

export function authSettings(env: Env = process.env): AuthSettings {
  return {
    issuer: requiredSetting(env, ENV_JWT_ISSUER),
    audience: requiredSetting(env, ENV_JWT_AUDIENCE),
    jwksUrl: requiredSetting(env, ENV_JWT_JWKS_URL),
    nameClaim: requiredSetting(env, ENV_JWT_NAME_CLAIM),
    groupsClaim: requiredSetting(env, ENV_JWT_GROUPS_CLAIM),
    adminGroup: requiredSetting(env, ENV_ADMIN_GROUP),
  };
}

// --- Who may send to everyone (send-message, and $default, which tells the page) ---

/** The stack's CHAT_BROADCAST: `everyone` may send to everyone, only `admins`, or nobody (`off`). */
export const ENV_BROADCAST = "BROADCAST";
export const BROADCAST_POLICIES = ["everyone", "admins", "off"] as const;
export type BroadcastPolicy = (typeof BROADCAST_POLICIES)[number];

/** Unset means `off`: a function the stack did not tell must not let anyone reach every connection. */
export function broadcastPolicy(env: Env = process.env): BroadcastPolicy {
  const value = env[ENV_BROADCAST];
  if (value === undefined || value === "") return "off";
  if ((BROADCAST_POLICIES as readonly string[]).includes(value)) return value as BroadcastPolicy;
  throw new Error(`Environment variable ${ENV_BROADCAST} must be one of ${BROADCAST_POLICIES.join(", ")}, got "${value}"`);
}

// --- Limits (docs/limits.md) ---

/** Frames per second a user may send on average over every client route; 0 switches the limiter off. */
export const ENV_USER_RATE = "USER_RATE";
/** Frames a user may send at once after being idle (the bucket's size). */
export const ENV_USER_BURST = "USER_BURST";
export const DEFAULT_USER_RATE = 5;
export const DEFAULT_USER_BURST = 20;
export const MAX_USER_RATE = 1000;
export const MAX_USER_BURST = 10_000;

export interface RateLimit {
  /** Frames per second on average. */
  readonly rate: number;
  /** Frames at once. */
  readonly burst: number;
}

/** The per-user token bucket of the client routes; undefined when switched off (USER_RATE=0). */
export function userRateLimit(env: Env = process.env): RateLimit | undefined {
  const rate = integerOr(env, ENV_USER_RATE, DEFAULT_USER_RATE, MAX_USER_RATE, 0);
  if (rate === 0) return undefined;
  return { rate, burst: integerOr(env, ENV_USER_BURST, DEFAULT_USER_BURST, MAX_USER_BURST) };
}

/** Connections one user may hold at once ($connect; jwt mode only, as in none mode each connection is its own user). */
export const ENV_MAX_CONNECTIONS_PER_USER = "MAX_CONNECTIONS_PER_USER";
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 10;
export const MAX_MAX_CONNECTIONS_PER_USER = 1000;

export function maxConnectionsPerUser(env: Env = process.env): number {
  return integerOr(env, ENV_MAX_CONNECTIONS_PER_USER, DEFAULT_MAX_CONNECTIONS_PER_USER, MAX_MAX_CONNECTIONS_PER_USER);
}

/** Rooms one connection may be in at once (join). */
export const ENV_MAX_ROOMS_PER_CONNECTION = "MAX_ROOMS_PER_CONNECTION";
export const DEFAULT_MAX_ROOMS_PER_CONNECTION = 50;
export const MAX_MAX_ROOMS_PER_CONNECTION = 10_000;

export function maxRoomsPerConnection(env: Env = process.env): number {
  return integerOr(env, ENV_MAX_ROOMS_PER_CONNECTION, DEFAULT_MAX_ROOMS_PER_CONNECTION, MAX_MAX_ROOMS_PER_CONNECTION);
}

// --- Moderation (ban) ---

/**
 * The longest a handshake can take after its `connectedAt` (seconds): the authorizer's timeout (jwt mode)
 * plus $connect's. Until then a 410 from @connections for a connection may only mean its handshake has not
 * completed, so the ban's DELETE is tried again (docs/moderation.md).
 */
export const ENV_HANDSHAKE_TIMEOUT_SECONDS = "HANDSHAKE_TIMEOUT_SECONDS";
/** Lambda's own limit on a function's timeout, twice (authorizer and $connect). */
const MAX_HANDSHAKE_TIMEOUT_SECONDS = 2 * 900;

/** Milliseconds; required where read (ban), as a wrong default would either leave a connection open or stall. */
export function handshakeTimeoutMs(env: Env = process.env): number {
  const seconds = integerOr(env, ENV_HANDSHAKE_TIMEOUT_SECONDS, undefined, MAX_HANDSHAKE_TIMEOUT_SECONDS);
  if (seconds === undefined) throw new Error(`Environment variable ${ENV_HANDSHAKE_TIMEOUT_SECONDS} is not set`);
  return seconds * 1000;
}

// --- Metrics (send-message, the fan-out consumer, the authorizer) ---

/** The CloudWatch namespace (set by the stack from CHAT_METRICS_NAMESPACE). Without it nothing is published. */
export const ENV_METRICS_NAMESPACE = "METRICS_NAMESPACE";
/** The value of the `service` dimension every metric carries: the stack's name prefix. */
export const ENV_METRICS_SERVICE = "METRICS_SERVICE";
/** The `service` dimension when the stack sets none. */
const DEFAULT_METRICS_SERVICE = "chat";

/** Where metrics go; undefined when nothing is to be published. */
export function metricsTarget(env: Env = process.env): { readonly namespace: string; readonly service: string } | undefined {
  const namespace = env[ENV_METRICS_NAMESPACE];
  if (!namespace) return undefined;
  return { namespace, service: env[ENV_METRICS_SERVICE] || DEFAULT_METRICS_SERVICE };
}

// --- Set by Lambda itself (or the local runtime), read as the AWS SDK reads them ---

/** The region: AWS_REGION (which Lambda sets), else AWS_DEFAULT_REGION. */
export function awsRegion(env: Env = process.env): string {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("Environment variable AWS_REGION is not set");
  return region;
}

export type Credentials = { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };

/** As the SDK's fromEnv: Lambda puts the function role's session credentials in these variables. */
export function awsCredentials(env: Env = process.env): Credentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) throw new Error("Unable to find environment variable credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The SDK's endpoint overrides for DynamoDB: its per-service one, else the global one; undefined on AWS. */
export function dynamoDbEndpointOverride(env: Env = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
}

// --- Parsers ---

function requiredSetting(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

/** The integer setting `name`, or `fallback` when it is unset or empty. */
function integerOr<T>(env: Env, name: string, fallback: T, max: number, min = 1): number | T {
  const value = env[name];
  return value === undefined || value === "" ? fallback : integerSetting(name, value, max, min);
}

function integerSetting(name: string, value: string, max: number, min = 1): number {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(parsed >= min && parsed <= max)) {
    throw new Error(`Environment variable ${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}
