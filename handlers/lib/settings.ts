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
const MAX_FANOUT_CONCURRENCY = 1000;
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

function integerSetting(name: string, value: string, max: number): number {
  const parsed = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(parsed >= 1 && parsed <= max)) {
    throw new Error(`Environment variable ${name} must be an integer from 1 to ${max}, got "${value}"`);
  }
  return parsed;
}
