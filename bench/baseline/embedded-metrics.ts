/**
 * handlers/lib/observability/metrics.ts with aws-embedded-metrics instead of Powertools, for the benchmark (bench/metrics.ts):
 * the same documents (namespace, the service alone and by path and target, the same metrics and properties).
 */
import { createMetricsLogger, Unit } from "aws-embedded-metrics";
import type { FanOutFigures, MetricsContext } from "../../handlers/lib/observability/metrics";
import { ENV_METRICS_NAMESPACE, ENV_METRICS_SERVICE } from "../../handlers/lib/env/contract";
import { METRIC, PATH_DIMENSION, REASON_DIMENSION, TARGET_DIMENSION } from "../../handlers/lib/observability/metric-names";

type Logger = ReturnType<typeof createMetricsLogger>;

export function publishFanOut(figures: FanOutFigures, context: MetricsContext): Promise<void> {
  return publish(context, (metrics, service) => {
    metrics.setDimensions([
      { service },
      { service, [PATH_DIMENSION]: figures.path },
      ...(figures.target ? [{ service, [TARGET_DIMENSION]: figures.target }] : []),
    ]);
    if (figures.message) metrics.putMetric(METRIC.messagesSent, 1, Unit.Count);
    if (figures.counts) {
      metrics.putMetric(METRIC.recipientsDelivered, figures.counts.delivered, Unit.Count);
      metrics.putMetric(METRIC.recipientsStale, figures.counts.stale, Unit.Count);
      metrics.putMetric(METRIC.recipientsFailed, figures.counts.failed, Unit.Count);
    }
    if (figures.queued !== undefined) metrics.putMetric(METRIC.recipientsQueued, figures.queued, Unit.Count);
    metrics.putMetric(METRIC.incompleteFanOuts, (figures.counts?.incomplete ?? figures.incomplete) ? 1 : 0, Unit.Count);
    if (figures.durationMs !== undefined) metrics.putMetric(METRIC.fanOutDuration, figures.durationMs, Unit.Milliseconds);
  });
}

export function publishDenial(reason: string, context: MetricsContext): Promise<void> {
  return publish(context, (metrics, service) => {
    metrics.setDimensions([{ service }, { service, [REASON_DIMENSION]: reason }]);
    metrics.putMetric(METRIC.authorizerDenials, 1, Unit.Count);
  });
}

async function publish(context: MetricsContext, add: (metrics: Logger, service: string) => void): Promise<void> {
  const namespace = process.env[ENV_METRICS_NAMESPACE];
  if (!namespace) return;
  const metrics = createMetricsLogger();
  metrics.setNamespace(namespace);
  add(metrics, process.env[ENV_METRICS_SERVICE] || "chat");
  if (context.requestId) metrics.setProperty("requestId", context.requestId);
  if (context.connectionId) metrics.setProperty("connectionId", context.connectionId);
  // Its flush is asynchronous (it detects the environment first), so it is awaited before the reply.
  await metrics.flush();
}
