import { Construct } from "constructs";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { METRIC, SERVICE_DIMENSION } from "../handlers/lib/observability/metric-names";
import type { BundledFunction } from "./bundled-function";
import type { AlarmThresholds } from "./config";
import type { WebsocketApi } from "./websocket-api";

/** Every alarm looks at one period of this length: short enough to page within minutes, long enough to sum a burst. */
export const ALARM_PERIOD_SECONDS = 300;

/** Used where a threshold is not given; docs/observability.md says why each is what it is. */
export const DEFAULT_THRESHOLDS: AlarmThresholds = {
  functionErrors: 1,
  functionThrottles: 1,
  deadLetterMessages: 1,
  apiExecutionErrors: 1,
  apiIntegrationErrors: 20,
  failedDeliveries: 10,
  /** A job should start within seconds; five minutes waiting means consumers are stuck or throttled. */
  fanOutQueueAgeSeconds: 300,
  /** 10 handshakes a second for five minutes: far above a chat's normal churn, far below the stage's rate. */
  connects: 3_000,
  /** 500 frames a second in and out for five minutes: half the stage's default rate, and a bill worth a look. */
  messages: 150_000,
};

export interface ChatAlarmsProps {
  /** Prefix of the alarms' and the topic's names. */
  readonly namePrefix: string;
  /** Each gets an Errors and a Throttles alarm, named for its key (`send-message`, `authorizer`, ...). */
  readonly functions: Readonly<Record<string, BundledFunction>>;
  /** Its stage gets IntegrationError and ExecutionError alarms. */
  readonly api: WebsocketApi;
  /** Namespace of the handlers' metrics (the failed-deliveries alarm). */
  readonly metricsNamespace: string;
  /** Value of the `service` dimension the handlers put on their metrics. */
  readonly service: string;
  /**
   * Name of the fan-out dead-letter queue (`aws_sqs_queue.name`): alarms when it holds messages.
   * @default no dead-letter queue alarm
   */
  readonly deadLetterQueueName?: string;
  /**
   * Name of the fan-out queue (`aws_sqs_queue.name`): alarms when its oldest message has waited too long,
   * before SQS drops it silently at the end of its retention.
   * @default no queue age alarm
   */
  readonly queueName?: string;
  /** @default DEFAULT_THRESHOLDS */
  readonly thresholds?: Partial<AlarmThresholds>;
  /**
   * Where alarms notify: an SNS topic with an email subscription (confirmed from the email SNS sends).
   * @default no topic: the alarms only change state, on the dashboard and in the console
   */
  readonly alarmEmail?: string;
}

/** What one alarm watches; the statistic is over one ALARM_PERIOD_SECONDS period. */
interface AlarmSpec {
  readonly name: string;
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: "Sum" | "Maximum";
  readonly threshold: number;
}

/**
 * The alarms an on-call engineer is paged by: each function's errors and throttles, the API stage's
 * integration and execution errors, its connection and message rates (abuse, or a bill growing),
 * failed deliveries, the fan-out queue's oldest message and the dead-letter queue when there are; and,
 * with an email, the SNS topic they notify. Every alarm is "threshold or more in one 5-minute period",
 * and missing data (no traffic) is not breaching.
 */
export class ChatAlarms extends Construct {
  public readonly alarms: CloudwatchMetricAlarm[] = [];
  /** The topic alarms notify, when an email is configured. */
  public readonly topic?: SnsTopic;

  constructor(scope: Construct, id: string, props: ChatAlarmsProps) {
    super(scope, id);
    const thresholds = { ...DEFAULT_THRESHOLDS, ...props.thresholds };
    for (const [name, value] of Object.entries(thresholds)) {
      if (!(Number.isInteger(value) && value >= 1)) throw new Error(`ChatAlarms "${id}": thresholds.${name} must be a positive integer, got ${value}`);
    }

    if (props.alarmEmail) {
      // Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, a customer key
      // costs a monthly fee, and alarm notifications carry no message bodies or ids.
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
      this.topic = new SnsTopic(this, "topic", { name: `${props.namePrefix}-alarms` });
      new SnsTopicSubscription(this, "email", { topicArn: this.topic.arn, protocol: "email", endpoint: props.alarmEmail });
    }

    for (const [short, fn] of Object.entries(props.functions)) {
      const functionName = fn.function.functionName;
      this.add(`${short}-errors`, {
        name: `${props.namePrefix}-${short}-errors`,
        description: `The function ${short} failed (an unhandled error or a timeout): its handler turns every expected fault into a reply, so this is a bug or an outage.`,
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: functionName },
        statistic: "Sum",
        threshold: thresholds.functionErrors,
      });
      this.add(`${short}-throttles`, {
        name: `${props.namePrefix}-${short}-throttles`,
        description: `Lambda refused to run ${short} (its reserved concurrency, or the account's, is used up): API Gateway answers those frames with an error.`,
        namespace: "AWS/Lambda",
        metricName: "Throttles",
        dimensions: { FunctionName: functionName },
        statistic: "Sum",
        threshold: thresholds.functionThrottles,
      });
    }

    const stage = { ApiId: props.api.api.id, Stage: props.api.stageName };
    this.add("api-execution-errors", {
      name: `${props.namePrefix}-api-execution-errors`,
      description: "API Gateway could not call a function or got no answer (crash, timeout, permission): each is a lost frame or handshake.",
      namespace: "AWS/ApiGateway",
      metricName: "ExecutionError",
      dimensions: stage,
      statistic: "Sum",
      threshold: thresholds.apiExecutionErrors,
    });
    this.add("api-integration-errors", {
      name: `${props.namePrefix}-api-integration-errors`,
      description: "Functions answered 4XX/5XX: rejected frames (a client's mistakes) and INTERNAL errors. Many at once means a broken client release or a failing dependency.",
      namespace: "AWS/ApiGateway",
      metricName: "IntegrationError",
      dimensions: stage,
      statistic: "Sum",
      threshold: thresholds.apiIntegrationErrors,
    });
    this.add("api-connects", {
      name: `${props.namePrefix}-api-connects`,
      description: "Many handshakes: a client reconnecting in a loop, or a flood of connections. The access log's sourceIp and principalId say whose.",
      namespace: "AWS/ApiGateway",
      metricName: "ConnectCount",
      dimensions: stage,
      statistic: "Sum",
      threshold: thresholds.connects,
    });
    this.add("api-messages", {
      name: `${props.namePrefix}-api-messages`,
      description: "Many frames in and out (each is billed): a flood of sends, or broadcasts to large audiences. The access log says who sends.",
      namespace: "AWS/ApiGateway",
      metricName: "MessageCount",
      dimensions: stage,
      statistic: "Sum",
      threshold: thresholds.messages,
    });
    this.add("failed-deliveries", {
      name: `${props.namePrefix}-failed-deliveries`,
      description: "Fan-outs could not reach recipients after retries (not counting connections that were gone).",
      namespace: props.metricsNamespace,
      metricName: METRIC.recipientsFailed,
      dimensions: { [SERVICE_DIMENSION]: props.service },
      statistic: "Sum",
      threshold: thresholds.failedDeliveries,
    });
    if (props.queueName !== undefined) {
      this.add("fan-out-queue-age", {
        name: `${props.namePrefix}-fan-out-queue-age`,
        description: "A fan-out job has waited this long for a consumer (throttled, failing or stuck): its recipients get the message late, and SQS drops it unseen when its retention ends.",
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: props.queueName },
        statistic: "Maximum",
        threshold: thresholds.fanOutQueueAgeSeconds,
      });
    }
    if (props.deadLetterQueueName !== undefined) {
      this.add("dead-letter-queue", {
        name: `${props.namePrefix}-fan-out-dead-letters`,
        description: "Fan-out jobs landed in the dead-letter queue: their recipients never got the message. Inspect, then redrive.",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: props.deadLetterQueueName },
        statistic: "Maximum",
        threshold: thresholds.deadLetterMessages,
      });
    }
  }

  private add(id: string, spec: AlarmSpec): void {
    const actions = this.topic ? [this.topic.arn] : undefined;
    this.alarms.push(
      new CloudwatchMetricAlarm(this, id, {
        alarmName: spec.name,
        alarmDescription: spec.description,
        namespace: spec.namespace,
        metricName: spec.metricName,
        dimensions: spec.dimensions,
        statistic: spec.statistic,
        period: ALARM_PERIOD_SECONDS,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: spec.threshold,
        // No traffic is not a failure; Lambda, API Gateway and EMF publish nothing for a quiet period.
        treatMissingData: "notBreaching",
        ...(actions ? { alarmActions: actions, okActions: actions } : {}),
      }),
    );
  }
}
