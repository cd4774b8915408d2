import { Construct } from "constructs";
import { CloudwatchDashboard } from "@cdktf/provider-aws/lib/cloudwatch-dashboard";
import type { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { METRIC, PATH_DIMENSION, PATHS, SERVICE_DIMENSION, TARGET_DIMENSION, TARGETS } from "../handlers/lib/observability/metric-names";
import type { BundledFunction } from "./bundled-function";
import type { WebsocketApi } from "./websocket-api";

export interface ChatDashboardProps {
  /** The dashboard's name (unique in the account and region). */
  readonly dashboardName: string;
  readonly region: string;
  /** Whose errors and throttles the dashboard shows, keyed by a short name for the legend. */
  readonly functions: Readonly<Record<string, BundledFunction>>;
  /** Whose connections, messages and errors the dashboard shows. */
  readonly api: WebsocketApi;
  readonly metricsNamespace: string;
  /** Value of the `service` dimension the handlers put on their metrics. */
  readonly service: string;
  /** Name of the fan-out dead-letter queue (`aws_sqs_queue.name`). @default no dead-letter queue widget */
  readonly deadLetterQueueName?: string;
  /** Name of the fan-out queue (`aws_sqs_queue.name`). @default no fan-out queue widget */
  readonly queueName?: string;
  /** Shown with their state in an alarm widget. @default none */
  readonly alarms?: readonly CloudwatchMetricAlarm[];
}

/** One line of a metric widget: namespace, name, dimension pairs, then rendering options. */
type MetricLine = (string | { readonly stat?: string; readonly label?: string })[];

/** Widgets are half the 24-column grid wide, two per row. */
const WIDTH = 12;
const HEIGHT = 6;
/** One-minute points: the finest Lambda and API Gateway publish by default. */
const PERIOD_SECONDS = 60;

/**
 * An `aws_cloudwatch_dashboard` for the chat: the API's connections and messages, messages sent by target,
 * recipients delivered/stale/failed/queued, fan-out duration percentiles, incomplete fan-outs and
 * authorizer denials, API errors, each function's errors and throttles, the fan-out queue's backlog, the
 * dead-letter queue, and the alarms. The local runtime draws the same widgets from the synthesized body at /_local/metrics.
 */
export class ChatDashboard extends Construct {
  public readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: ChatDashboardProps) {
    super(scope, id);
    const custom = (name: string, stat: string, label: string, extra: Record<string, string> = {}): MetricLine => [
      props.metricsNamespace,
      name,
      SERVICE_DIMENSION,
      props.service,
      ...Object.entries(extra).flat(),
      { stat, label },
    ];
    const stage = ["ApiId", props.api.api.id, "Stage", props.api.stageName];
    const api = (name: string, label: string): MetricLine => ["AWS/ApiGateway", name, ...stage, { stat: "Sum", label }];
    const perFunction = (name: string): MetricLine[] =>
      Object.entries(props.functions).map(([short, fn]) => ["AWS/Lambda", name, "FunctionName", fn.function.functionName, { stat: "Sum", label: short }]);

    const widgets: object[] = [
      metricWidget("Connections and messages (API Gateway)", [api("ConnectCount", "connects"), api("MessageCount", "messages in and out")]),
      metricWidget(
        "Messages sent, by target",
        TARGETS.map((target) => custom(METRIC.messagesSent, "Sum", target, { [TARGET_DIMENSION]: target })),
      ),
      metricWidget("Recipients", [
        custom(METRIC.recipientsDelivered, "Sum", "delivered"),
        custom(METRIC.recipientsStale, "Sum", "stale"),
        custom(METRIC.recipientsFailed, "Sum", "failed"),
        custom(METRIC.recipientsQueued, "Sum", "queued"),
      ]),
      metricWidget("Fan-out duration (ms)", [
        ...["p50", "p90", "p99"].map((stat) => custom(METRIC.fanOutDuration, stat, stat)),
        ...PATHS.map((path) => custom(METRIC.fanOutDuration, "p99", `p99 ${path}`, { [PATH_DIMENSION]: path })),
      ]),
      metricWidget("Incomplete fan-outs and authorizer denials", [
        custom(METRIC.incompleteFanOuts, "Sum", "incomplete fan-outs"),
        custom(METRIC.authorizerDenials, "Sum", "authorizer denials"),
      ]),
      metricWidget("API errors", [api("IntegrationError", "integration errors (4XX/5XX)"), api("ExecutionError", "execution errors"), api("ClientError", "client errors")]),
      metricWidget("Function errors", perFunction("Errors")),
      metricWidget("Function throttles", perFunction("Throttles")),
    ];
    if (props.queueName !== undefined) {
      const queue = (name: string, stat: string, label: string): MetricLine => ["AWS/SQS", name, "QueueName", props.queueName!, { stat, label }];
      widgets.push(
        metricWidget("Fan-out queue", [
          queue("ApproximateNumberOfMessagesVisible", "Maximum", "jobs waiting"),
          queue("ApproximateAgeOfOldestMessage", "Maximum", "oldest job's age (s)"),
        ]),
      );
    }
    if (props.deadLetterQueueName !== undefined) {
      widgets.push(
        metricWidget("Fan-out dead-letter queue", [
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", props.deadLetterQueueName, { stat: "Maximum", label: "messages visible" }],
        ]),
      );
    }
    if (props.alarms?.length) {
      widgets.push({ type: "alarm", properties: { title: "Alarms", alarms: props.alarms.map((alarm) => alarm.arn) } });
    }

    this.dashboard = new CloudwatchDashboard(this, "dashboard", {
      dashboardName: props.dashboardName,
      dashboardBody: JSON.stringify({ widgets: widgets.map((widget, i) => place(widget, i, props.region)) }),
    });
  }
}

function metricWidget(title: string, metrics: MetricLine[]): object {
  return { type: "metric", properties: { title, view: "timeSeries", stacked: false, period: PERIOD_SECONDS, metrics } };
}

/** Two widgets per row, in order; metric widgets need their region. */
function place(widget: object, index: number, region: string): object {
  const { type, properties } = widget as { type: string; properties: Record<string, unknown> };
  return {
    type,
    x: (index % 2) * WIDTH,
    y: Math.floor(index / 2) * HEIGHT,
    width: WIDTH,
    height: HEIGHT,
    properties: type === "metric" ? { ...properties, region } : properties,
  };
}
