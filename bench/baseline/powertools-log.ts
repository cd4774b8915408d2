/**
 * handlers/lib/observability/log.ts with Powertools for AWS Lambda's Logger instead of the console Lambda's JSON log format
 * wraps, for the benchmark (bench/metrics.ts): the same functions and fields.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { LogContext } from "../../handlers/lib/observability/log";

const logger = new Logger({ serviceName: process.env.METRICS_SERVICE || "chat" });

export function logError(context: LogContext, error: unknown, extra: Record<string, unknown> = {}): void {
  logger.error("failure", { ...context, ...extra, errorType: error instanceof Error ? error.name : typeof error, errorMessage: error instanceof Error ? error.message : String(error) });
}

export function logInfo(context: LogContext, fields: Record<string, unknown>): void {
  logger.info("event", { ...context, ...fields });
}
