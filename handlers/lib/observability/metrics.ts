/**
 * The handlers' custom metrics, written as CloudWatch Embedded Metric Format lines by Powertools for AWS
 * Lambda's Metrics (chosen over aws-embedded-metrics after measuring both: bench/results.md, figure 12
 * "metrics"; docs/observability.md). Powertools writes through a Console of its own on stdout, so Lambda's
 * JSON log format leaves the lines as they are and CloudWatch turns them into metrics.
 *
 * One Metrics object per container, as Powertools intends: creating one per document (a Console of its own,
 * the environment read again) is a noticeable share of a direct message's handler time. It
 * stays correct when an environment serves invocations concurrently (the local runtime does) because each
 * document is added and published in one synchronous step, and publishing clears it.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { FanOutCounts } from "../fan-out/fan-out";
import { metricsTarget } from "../env/contract";
import {
  type FanOutPath,
  METRIC,
  PATH_DIMENSION,
  REASON_DIMENSION,
  TARGET_DIMENSION,
  type TargetKind,
} from "./metric-names";

/** Searchable in Logs Insights beside the figures, but no dimension: they would make a metric per value. */
export interface MetricsContext {
  /** Lambda's request id of the invocation. */
  readonly requestId?: string;
  readonly connectionId?: string;
}

/** What one fan-out (or one queue batch) did. */
export interface FanOutFigures {
  readonly path: FanOutPath;
  /** The kind of target of the message; unknown to the queue's consumer. */
  readonly target?: TargetKind;
  /** Count one message sent (send-message answered `sent`). */
  readonly message?: boolean;
  /** Posts made, when any were. */
  readonly counts?: FanOutCounts;
  /** Recipients handed to the queue. */
  readonly queued?: number;
  /** Set when `counts` is not: the hand-off to the queue stopped before every recipient. */
  readonly incomplete?: boolean;
  /** From the first post to the last answer; only when something was posted. */
  readonly durationMs?: number;
}

/**
 * Publishes one fan-out's figures. Never fails: a metric must not cost anyone their reply. Asynchronous by
 * contract, though Powertools writes at once: a publisher that flushes later (aws-embedded-metrics, in the
 * benchmark) must be awaited before the reply, or Lambda freezes the environment with the line unwritten.
 */
export async function publishFanOut(figures: FanOutFigures, context: MetricsContext): Promise<void> {
  publish(context, (metrics) => {
    // Dimension sets: the service alone (alarms, totals), by path, and by target when known.
    metrics.addDimensions({});
    metrics.addDimensions({ [PATH_DIMENSION]: figures.path });
    if (figures.target) metrics.addDimensions({ [TARGET_DIMENSION]: figures.target });
    if (figures.message) metrics.addMetric(METRIC.messagesSent, MetricUnit.Count, 1);
    if (figures.counts) {
      metrics.addMetric(METRIC.recipientsDelivered, MetricUnit.Count, figures.counts.delivered);
      metrics.addMetric(METRIC.recipientsStale, MetricUnit.Count, figures.counts.stale);
      metrics.addMetric(METRIC.recipientsFailed, MetricUnit.Count, figures.counts.failed);
    }
    if (figures.queued !== undefined) metrics.addMetric(METRIC.recipientsQueued, MetricUnit.Count, figures.queued);
    metrics.addMetric(METRIC.incompleteFanOuts, MetricUnit.Count, (figures.counts?.incomplete ?? figures.incomplete) ? 1 : 0);
    if (figures.durationMs !== undefined) metrics.addMetric(METRIC.fanOutDuration, MetricUnit.Milliseconds, figures.durationMs);
  });
}

/** Counts one token the authorizer denied, by reason (a handful of error codes). */
export async function publishDenial(reason: string, context: MetricsContext): Promise<void> {
  publish(context, (metrics) => {
    metrics.addDimensions({});
    metrics.addDimensions({ [REASON_DIMENSION]: reason });
    metrics.addMetric(METRIC.authorizerDenials, MetricUnit.Count, 1);
  });
}

let shared: { readonly key: string; readonly metrics: Metrics } | undefined;

/** The container's Metrics, made again only if the namespace or service changed (tests change them). */
function metricsFor(namespace: string, serviceName: string): Metrics {
  const key = `${namespace}\0${serviceName}`;
  if (shared?.key !== key) shared = { key, metrics: new Metrics({ namespace, serviceName }) };
  return shared.metrics;
}

/** Synchronous from the first addition to the publication, so concurrent invocations never share a document. */
function publish(context: MetricsContext, add: (metrics: Metrics) => void): void {
  const target = metricsTarget();
  if (!target) return;
  let metrics: Metrics | undefined;
  try {
    metrics = metricsFor(target.namespace, target.service);
    add(metrics);
    if (context.requestId) metrics.addMetadata("requestId", context.requestId);
    if (context.connectionId) metrics.addMetadata("connectionId", context.connectionId);
    metrics.publishStoredMetrics();
  } catch (error) {
    // A half-built document must not become part of the next one.
    metrics?.clearMetrics();
    metrics?.clearDimensions();
    metrics?.clearMetadata();
    console.error({ errorType: "MetricsError", errorMessage: error instanceof Error ? error.message : String(error), ...context });
  }
}
