/** Who was being served when something failed; every log line carries it so lines can be correlated. */
export interface LogContext {
  readonly route: string;
  readonly connectionId?: string;
  readonly requestId?: string;
}

/**
 * One line of JSON per failure, so CloudWatch Logs Insights can filter on the fields. The cause is
 * logged here and only here: the client gets a generic frame.
 */
export function logError(context: LogContext, error: unknown, extra: Record<string, unknown> = {}): void {
  console.error(
    JSON.stringify({
      level: "error",
      ...context,
      ...extra,
      error: errorName(error),
      message: error instanceof Error ? error.message : String(error),
    })
  );
}

function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return error === null ? "null" : typeof error;
}
