/**
 * What one stack may reserve of its account's Lambda concurrency. Reservations are opt-in: Lambda keeps a
 * minimum of an account's concurrency unreserved, 100 where the quota is the default 1,000, and new accounts
 * start with a quota as low as 10, where any reservation at all fails the deploy
 * ("decreases account's UnreservedConcurrentExecution below its minimum value"). docs/capacity.md has the
 * arithmetic.
 * https://docs.aws.amazon.com/lambda/latest/dg/API_PutFunctionConcurrency.html
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */

/** Concurrency Lambda keeps unreserved in an account whose quota is at least 1,000. */
export const MIN_UNRESERVED_CONCURRENCY = 100;

/** Lambda's default concurrency quota per account and region, assumed where the account's is not given. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/** The concurrency a stack reserves: `perFunction` for each of its functions but the queue's consumer, which reserves its own. */
export function reservedTotal(perFunction: number, functions: number, consumer: number): number {
  return perFunction * functions + consumer;
}

/** The most an account of this quota lets all reservations together take. */
export function reservable(accountConcurrency: number): number {
  return accountConcurrency - Math.min(MIN_UNRESERVED_CONCURRENCY, accountConcurrency);
}
