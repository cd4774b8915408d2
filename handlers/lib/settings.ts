import { DEFAULT_RECIPIENTS_PER_JOB, MAX_RECIPIENTS_PER_JOB } from "./fan-out-job";
import { ENV_TABLE_NAME } from "./table-schema";

/** Optional: how many posts one fan-out keeps in flight. */
export const ENV_FANOUT_CONCURRENCY = "FANOUT_CONCURRENCY";
/**
 * Optional: `Limit` of every Scan/Query page the handlers read. Unset means DynamoDB's own 1 MB pages;
 * tests set it to a few items to exercise pagination without writing thousands of items.
 */
export const ENV_PAGE_SIZE = "DYNAMODB_PAGE_SIZE";

/**
 * Enough parallel posts to hide each one's latency, few enough to stay far below the account's
 * @connections rate limit and Lambda's socket limits.
 */
export const DEFAULT_FANOUT_CONCURRENCY = 25;
/** The most posts one invocation may keep in flight; the stack's CHAT_FANOUT_CONCURRENCY allows the same. */
export const MAX_FANOUT_CONCURRENCY = 1000;
const MAX_PAGE_SIZE = 1000;

export interface TableSettings {
  readonly tableName: string;
  /** `Limit` of each Scan/Query page; undefined leaves DynamoDB's default. */
  readonly pageSize?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Read at call time, not import time, so a test can set the environment after loading a handler. */
export function tableSettings(env: Env = process.env): TableSettings {
  const pageSize = env[ENV_PAGE_SIZE];
  return {
    tableName: requiredSetting(env, ENV_TABLE_NAME),
    pageSize:
      pageSize === undefined || pageSize === "" ? undefined : integerSetting(ENV_PAGE_SIZE, pageSize, MAX_PAGE_SIZE),
  };
}

/** The fan-out queue's URL: set on send-message when the stack has the queue. */
export const ENV_FANOUT_QUEUE_URL = "FANOUT_QUEUE_URL";
/** Audiences larger than this go to the queue; smaller ones are posted inline. */
export const ENV_INLINE_FANOUT_LIMIT = "INLINE_FANOUT_LIMIT";
/**
 * Where send-message stops posting itself (README "Fan-out at scale"). Measured (`npm run bench -- --only
 * post-cpu,fan-out-scale`): a post costs 243–340 µs of CPU in the fan-out, so a 256 MB function (0.145
 * vCPU) posts 430–600 a second and reaches 3,200–4,500 recipients in the 7.5 s of its 10 s it may post;
 * locally, with 20 ms a post and a whole core, it reached 7,200–7,400 of 10,000 before stopping
 * `incomplete`. 1,000 takes ~2 s at 256 MB: a third of that window, leaving room for reading the audience,
 * a cold start and the ~3 s a throttled post may spend retrying, and the sender waits at most that long for
 * `sent`. Above it the queue path answers `sent` in under a second and posts the jobs in parallel (two or
 * more jobs of 500 at once).
 */
export const DEFAULT_INLINE_FANOUT_LIMIT = 1000;
const MAX_INLINE_FANOUT_LIMIT = 100_000;

/** Recipients per fan-out job (one SQS message). */
export const ENV_FANOUT_JOB_SIZE = "FANOUT_JOB_SIZE";

/** Where and above how many recipients send-message hands a message to the queue; undefined without a queue. */
export function fanOutQueue(env: Env = process.env): { readonly url: string; readonly inlineLimit: number; readonly jobSize: number } | undefined {
  const url = env[ENV_FANOUT_QUEUE_URL];
  if (!url) return undefined;
  const limit = env[ENV_INLINE_FANOUT_LIMIT];
  const jobSize = env[ENV_FANOUT_JOB_SIZE];
  return {
    url,
    inlineLimit: limit === undefined || limit === "" ? DEFAULT_INLINE_FANOUT_LIMIT : integerSetting(ENV_INLINE_FANOUT_LIMIT, limit, MAX_INLINE_FANOUT_LIMIT, 0),
    jobSize: jobSize === undefined || jobSize === "" ? DEFAULT_RECIPIENTS_PER_JOB : integerSetting(ENV_FANOUT_JOB_SIZE, jobSize, MAX_RECIPIENTS_PER_JOB),
  };
}

/** How the stack authenticates connections: set on the $connect function by the stack. */
export const ENV_AUTH_MODE = "AUTH_MODE";
export type AuthMode = "none" | "jwt";

/** Unset means "none", the tutorial's anonymous mode. */
export function authMode(env: Env = process.env): AuthMode {
  const value = env[ENV_AUTH_MODE];
  if (value === undefined || value === "" || value === "none") return "none";
  if (value === "jwt") return "jwt";
  throw new Error(`Environment variable ${ENV_AUTH_MODE} must be "none" or "jwt", got "${value}"`);
}

export function fanOutConcurrency(env: Env = process.env): number {
  const value = env[ENV_FANOUT_CONCURRENCY];
  if (value === undefined || value === "") return DEFAULT_FANOUT_CONCURRENCY;
  return integerSetting(ENV_FANOUT_CONCURRENCY, value, MAX_FANOUT_CONCURRENCY);
}

function requiredSetting(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}

function integerSetting(name: string, value: string, max: number, min = 1): number {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(parsed >= min && parsed <= max)) {
    throw new Error(`Environment variable ${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}
