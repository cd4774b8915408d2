/**
 * API Gateway's account-level throttle, per account and region "across HTTP APIs, REST APIs, WebSocket APIs,
 * and WebSocket callback APIs": 10,000 requests per second with a token bucket of 5,000 requests, or 2,500 and
 * 1,250 in the newer regions listed on https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html.
 * Beyond it, calls get 429. Locally the @connections calls draw from it, which is what limits a large fan-out.
 */
import { performance } from "node:perf_hooks";

export interface RateLimit {
  /** Tokens added per second: the steady request rate. */
  readonly ratePerSecond: number;
  /** Capacity of the bucket: how many requests may arrive at once. */
  readonly burst: number;
}

/** Regions whose default quota is 2,500 RPS with a 1,250 burst (same page). */
const SMALLER_QUOTA_REGIONS = new Set([
  "af-south-1",
  "eu-south-1",
  "ap-southeast-3",
  "me-central-1",
  "ap-south-2",
  "ap-southeast-4",
  "eu-south-2",
  "eu-central-2",
  "il-central-1",
  "ca-west-1",
  "ap-southeast-5",
  "ap-southeast-7",
  "mx-central-1",
]);

/** The default account throttle of a region. */
export function accountRateLimit(region: string): RateLimit {
  return SMALLER_QUOTA_REGIONS.has(region) ? { ratePerSecond: 2_500, burst: 1_250 } : { ratePerSecond: 10_000, burst: 5_000 };
}

/** A token bucket: full at first, refilled continuously at the rate, one token per request. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(limit.ratePerSecond > 0) || !(limit.burst >= 1)) {
      throw new Error(`A rate limit needs a positive rate and a burst of at least 1, got ${JSON.stringify(limit)}`);
    }
    this.tokens = limit.burst;
    this.refilledAt = now();
  }

  /** Takes a token if there is one: false means the request is throttled. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limit.ratePerSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
