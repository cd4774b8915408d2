/**
 * The same picture locally as CloudWatch gives on AWS: the metrics the functions print as EMF, Lambda's and
 * API Gateway's own metrics as this runtime observes them, the stack's dashboards drawn with those figures,
 * and its alarms evaluated against them. Served at /_local/metrics (page) and /_local/metrics.json (data).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FunctionObserver, Invocation } from "../functions/function-runner";
import type { GatewayObserver } from "../gateway/websocket-gateway";
import type { IntegrationResult } from "../gateway/integration";
import { evaluateAlarm, type AlarmEvaluation } from "./alarm-evaluation";
import { parseEmf } from "./emf";
import { isPercentile, MetricStore, type MetricId } from "./metric-store";
import { servePage } from "./metrics-page";
import type { AlarmModel, ObservabilityModel, SeriesModel } from "./observability-model";

/** Points of the local charts: 10 s, so a chat shows up at once (the dashboard's own period is a minute). */
export const LOCAL_PERIOD_SECONDS = 10;
export const DEFAULT_WINDOW_SECONDS = 10 * 60;

export interface SeriesSnapshot {
  readonly label: string;
  readonly metric: MetricId;
  readonly stat: string;
  /** False when the runtime has no figures for this metric; `reason` says why. */
  readonly produced: boolean;
  readonly reason?: string;
  /** The statistic over the whole window: a total for Sum, a percentile over every sample for pNN. */
  readonly total?: number;
  /** The statistic per period, oldest first; null where there were no samples. */
  readonly points: ReadonlyArray<number | null>;
}

export type WidgetSnapshot =
  | { readonly kind: "metric"; readonly title: string; readonly series: readonly SeriesSnapshot[] }
  | { readonly kind: "alarm"; readonly title: string; readonly alarms: readonly string[] }
  | { readonly kind: "other"; readonly title: string; readonly type: string };

export interface AlarmSnapshot extends AlarmEvaluation {
  readonly name: string;
  readonly description?: string;
  readonly metric?: MetricId;
  readonly statistic?: string;
  readonly threshold: number;
  readonly comparison: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly alarmActions: number;
}

export interface MetricsSnapshot {
  readonly generatedAt: number;
  readonly windowSeconds: number;
  readonly periodSeconds: number;
  readonly dashboards: ReadonlyArray<{ readonly name: string; readonly unreadable?: string; readonly widgets: readonly WidgetSnapshot[] }>;
  readonly alarms: readonly AlarmSnapshot[];
}

export interface LocalObservabilityOptions {
  readonly model: ObservabilityModel;
  /** The API Gateway metrics' dimensions. */
  readonly api: { readonly id: string; readonly stage: string };
  /** Some function has a reserved concurrency, so the runtime throttles and Lambda's Throttles has figures. @default false */
  readonly throttles?: boolean;
  readonly now?: () => number;
}

/** One queue's gauges as SQS publishes them to CloudWatch. */
export interface QueueSample {
  readonly name: string;
  readonly visible: number;
  readonly inFlight: number;
  /** ApproximateAgeOfOldestMessage. */
  readonly oldestAgeSeconds: number;
}

/** How often the local queues' sizes are recorded: the local page's points are 10 s apart. */
const QUEUE_SAMPLE_MS = 10_000;

export class LocalObservability {
  readonly store: MetricStore;
  private readonly now: () => number;
  /** Gauges read again whenever the figures are looked at, so the page is never a sample behind. */
  private readonly samplers = new Set<() => void>();

  constructor(private readonly options: LocalObservabilityOptions) {
    this.apiDimensions = [{ ApiId: options.api.id, Stage: options.api.stage }, { ApiId: options.api.id }];
    this.now = options.now ?? Date.now;
    this.store = new MetricStore(undefined, this.now);
    for (const name of ["Invocations", "Errors", "Duration", ...(options.throttles ? ["Throttles"] : [])]) this.store.produces("AWS/Lambda", name);
    for (const name of ["ConnectCount", "MessageCount", "IntegrationError", "ExecutionError", "ClientError", "IntegrationLatency"]) {
      this.store.produces("AWS/ApiGateway", name);
    }
    // Only these metrics' values are kept: a percentile is never asked of the others.
    for (const { metric, stat } of wantedStatistics(options.model)) {
      if (isPercentile(stat)) this.store.keepsDistribution(metric.namespace, metric.name);
    }
  }

  /** What the function runners report: EMF lines become metrics, invocations Lambda's metrics. */
  readonly functions: FunctionObserver = {
    line: (_functionName, line) => {
      for (const point of parseEmf(line) ?? []) this.store.record(point);
    },
    invocation: (functionName, invocation: Invocation) => {
      for (const lambda of this.lambdaRecorders(functionName)) {
        if (!invocation.ok && invocation.throttled) {
          lambda.throttles(1);
          continue;
        }
        lambda.throttles(0);
        lambda.invocations(1);
        lambda.errors(invocation.ok ? 0 : 1);
        lambda.duration(invocation.durationMs);
      }
    },
  };

  /** What the gateway reports, as API Gateway counts it for a WebSocket API's stage. */
  readonly gateway: GatewayObserver = {
    integration: (routeKey: string, result: IntegrationResult) => {
      if (routeKey === "$connect") this.api("ConnectCount", 1);
      this.api("IntegrationError", result.kind === "response" && result.statusCode >= 400 ? 1 : 0);
      this.api("ExecutionError", result.kind === "response" ? 0 : 1);
      if (result.kind === "response") this.api("IntegrationLatency", result.durationMs);
    },
    messageIn: () => this.api("MessageCount", 1),
    messageOut: () => this.api("MessageCount", 1),
    clientError: () => this.api("ClientError", 1),
  };

  /** API Gateway publishes per API and stage and per API. */
  private readonly apiDimensions: ReadonlyArray<Record<string, string>>;
  /** Recorders made once per metric: these run for every frame, post and invocation. */
  private readonly apiRecorders = new Map<string, ReadonlyArray<(value: number) => void>>();
  private readonly functionRecorders = new Map<string, ReadonlyArray<LambdaRecorders>>();

  /** Lambda publishes per function and for all functions together. */
  private lambdaRecorders(functionName: string): ReadonlyArray<LambdaRecorders> {
    let recorders = this.functionRecorders.get(functionName);
    if (!recorders) {
      const metric = (name: string, dimensions: Record<string, string>) => this.store.recorder({ namespace: "AWS/Lambda", name, dimensions });
      const dimensionSets: Array<Record<string, string>> = [{ FunctionName: functionName }, {}];
      recorders = dimensionSets.map((dimensions) => ({
        invocations: metric("Invocations", dimensions),
        errors: metric("Errors", dimensions),
        duration: metric("Duration", dimensions),
        throttles: metric("Throttles", dimensions),
      }));
      this.functionRecorders.set(functionName, recorders);
    }
    return recorders;
  }

  /**
   * SQS's queue metrics for the stack's queues, which CloudWatch samples once a minute and the runtime
   * every `intervalMs`, so the dead-letter queue's alarm is evaluated locally too.
   */
  sampleQueues(read: () => ReadonlyArray<QueueSample>, intervalMs = QUEUE_SAMPLE_MS): { stop(): void } {
    this.store.produces("AWS/SQS", "ApproximateNumberOfMessagesVisible");
    this.store.produces("AWS/SQS", "ApproximateNumberOfMessagesNotVisible");
    this.store.produces("AWS/SQS", "ApproximateAgeOfOldestMessage");
    const sample = () => {
      for (const queue of read()) {
        const dimensions = { QueueName: queue.name };
        this.store.add({ namespace: "AWS/SQS", name: "ApproximateNumberOfMessagesVisible", dimensions }, queue.visible, "Count");
        this.store.add({ namespace: "AWS/SQS", name: "ApproximateNumberOfMessagesNotVisible", dimensions }, queue.inFlight, "Count");
        this.store.add({ namespace: "AWS/SQS", name: "ApproximateAgeOfOldestMessage", dimensions }, queue.oldestAgeSeconds, "Seconds");
      }
    };
    sample();
    this.samplers.add(sample);
    const timer = setInterval(sample, intervalMs).unref();
    return {
      stop: () => {
        clearInterval(timer);
        this.samplers.delete(sample);
      },
    };
  }

  private api(name: string, value: number): void {
    let recorders = this.apiRecorders.get(name);
    if (!recorders) {
      recorders = this.apiDimensions.map((dimensions) => this.store.recorder({ namespace: "AWS/ApiGateway", name, dimensions }));
      this.apiRecorders.set(name, recorders);
    }
    for (const record of recorders) record(value);
  }

  evaluate(alarm: AlarmModel): AlarmEvaluation {
    return evaluateAlarm(alarm, this.store, this.now());
  }

  snapshot(windowSeconds = DEFAULT_WINDOW_SECONDS, periodSeconds = LOCAL_PERIOD_SECONDS): MetricsSnapshot {
    for (const sample of this.samplers) sample();
    const now = this.now();
    const periods = Math.max(1, Math.ceil(windowSeconds / periodSeconds));
    const from = now - periods * periodSeconds * 1000;
    const series = (model: SeriesModel): SeriesSnapshot => {
      const { metric, stat, label } = model;
      if (!this.store.isProduced(metric.namespace, metric.name)) {
        return { label, metric, stat, produced: false, reason: `the local runtime does not produce ${metric.namespace} ${metric.name}`, points: [] };
      }
      const points = Array.from({ length: periods }, (_, i) => {
        const start = from + i * periodSeconds * 1000;
        return this.store.statistic(metric, stat, start, start + periodSeconds * 1000) ?? null;
      });
      const total = this.store.statistic(metric, stat, from, now + 1);
      return { label, metric, stat, produced: true, ...(total !== undefined ? { total } : {}), points };
    };
    return {
      generatedAt: now,
      windowSeconds: periods * periodSeconds,
      periodSeconds,
      dashboards: this.options.model.dashboards.map((dashboard) => ({
        name: dashboard.name,
        ...(dashboard.unreadable ? { unreadable: dashboard.unreadable } : {}),
        widgets: dashboard.widgets.map((widget): WidgetSnapshot => {
          if (widget.kind === "metric") return { kind: "metric", title: widget.title, series: widget.series.map(series) };
          if (widget.kind === "alarm") return { kind: "alarm", title: widget.title, alarms: widget.alarmNames };
          return widget;
        }),
      })),
      alarms: this.options.model.alarms.map((alarm) => ({
        name: alarm.name,
        ...(alarm.description ? { description: alarm.description } : {}),
        ...(alarm.metric ? { metric: alarm.metric } : {}),
        ...(alarm.statistic ? { statistic: alarm.statistic } : {}),
        threshold: alarm.threshold,
        comparison: alarm.comparison,
        periodSeconds: alarm.periodSeconds,
        evaluationPeriods: alarm.evaluationPeriods,
        alarmActions: alarm.alarmActions,
        ...this.evaluate(alarm),
      })),
    };
  }

  /** Serves the page and its data under /_local/metrics; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    return servePage(req, res, (window) => this.snapshot(window));
  }
}

interface LambdaRecorders {
  readonly invocations: (value: number) => void;
  readonly errors: (value: number) => void;
  readonly duration: (value: number) => void;
  readonly throttles: (value: number) => void;
}

/** Every statistic the stack's dashboards and alarms ask of a metric. */
function wantedStatistics(model: ObservabilityModel): Array<{ readonly metric: MetricId; readonly stat: string }> {
  const wanted: Array<{ metric: MetricId; stat: string }> = [];
  for (const dashboard of model.dashboards) {
    for (const widget of dashboard.widgets) if (widget.kind === "metric") wanted.push(...widget.series);
  }
  for (const alarm of model.alarms) if (alarm.metric && alarm.statistic) wanted.push({ metric: alarm.metric, stat: alarm.statistic });
  return wanted;
}
