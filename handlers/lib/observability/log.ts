/**
 * Structured log lines. The functions run with Lambda's JSON log format, which turns each console call
 * into `{"timestamp", "level", "requestId", "message": <the object logged>}`: the invocation's request id
 * comes from Lambda, the rest from here, so Logs Insights can filter on `message.connectionId` and the
 * others (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html). Only ids, counts and error
 * descriptions are logged: never a message's body, never a token.
 */

/** Who was being served; on every line, so lines can be correlated with each other and with API Gateway's. */
export interface LogContext {
  readonly route: string;
  readonly connectionId?: string;
  /** API Gateway's request id (`$context.requestId` in the stage's access log). */
  readonly apiRequestId?: string;
}

/** One line per failure. The cause is logged here and only here: the client gets a generic frame. */
export function logError(context: LogContext, error: unknown, extra: Record<string, unknown> = {}): void {
  console.error({ ...context, ...extra, errorType: errorName(error), errorMessage: error instanceof Error ? error.message : String(error) });
}

/** One line about something worth knowing that is not a failure (a denial, a batch's outcome). */
export function logInfo(context: LogContext, fields: Record<string, unknown>): void {
  console.info({ ...context, ...fields });
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return error === null ? "null" : typeof error;
}
