/**
 * Observability in the synthesized stack: JSON logs, the metrics' settings on the functions that publish,
 * the alarms and their topic, and the dashboard.
 */
import { Testing, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ArchiveProvider } from "@cdktf/provider-archive/lib/provider";
import { join } from "node:path";
import { BundledFunction } from "../constructs/bundled-function";
import { ChatAlarms } from "../constructs/chat-alarms";
import { ChatDashboard } from "../constructs/chat-dashboard";
import { WebsocketApi } from "../constructs/websocket-api";
import { ref, resources, resourceWhere, synthChat, type TerraformJson } from "./support/synth";

const FUNCTIONS = ["connect", "disconnect", "default", "send-message", "join", "create-room", "invite", "kick", "leave", "members", "history", "ban", "fan-out-worker"];

let tf: TerraformJson;
beforeAll(() => {
  tf = synthChat().tf;
});

const alarms = (json: TerraformJson) => resources(json, "aws_cloudwatch_metric_alarm").map(([, alarm]) => alarm);
const alarmNamed = (json: TerraformJson, name: string) => resourceWhere(json, "aws_cloudwatch_metric_alarm", "alarm_name", name)[1];
const functionNamed = (json: TerraformJson, name: string) => resourceWhere(json, "aws_lambda_function", "function_name", name);
const dashboardBody = (json: TerraformJson) => JSON.parse(resources(json, "aws_cloudwatch_dashboard")[0]![1].dashboard_body);

describe("logs", () => {
  test("every function logs in Lambda's JSON format at INFO by default, to its own log group", () => {
    for (const [, fn] of resources(tf, "aws_lambda_function")) {
      expect(fn.logging_config).toMatchObject({ log_format: "JSON", application_log_level: "INFO", system_log_level: "INFO" });
    }
  });

  test("CHAT_LOG_LEVEL sets the application log level, and DEBUG keeps the platform's debug lines too", () => {
    const debug = synthChat({ CHAT_LOG_LEVEL: "DEBUG" }).tf;
    for (const [, fn] of resources(debug, "aws_lambda_function")) {
      expect(fn.logging_config).toMatchObject({ log_format: "JSON", application_log_level: "DEBUG", system_log_level: "DEBUG" });
    }
  });
});

describe("metrics settings", () => {
  test("send-message gets the namespace and the service name its metrics carry", () => {
    const [, fn] = functionNamed(tf, "chat-send-message");
    expect(fn.environment.variables).toMatchObject({ METRICS_NAMESPACE: "WebsocketChat", METRICS_SERVICE: "chat" });
  });

  test("CHAT_METRICS_NAMESPACE and the name prefix flow to the functions and to every custom-metric alarm", () => {
    const custom = synthChat({ CHAT_METRICS_NAMESPACE: "Team/Chat", CHAT_NAME_PREFIX: "team" }).tf;
    expect(functionNamed(custom, "team-send-message")[1].environment.variables).toMatchObject({ METRICS_NAMESPACE: "Team/Chat", METRICS_SERVICE: "team" });
    expect(alarmNamed(custom, "team-failed-deliveries")).toMatchObject({ namespace: "Team/Chat", dimensions: { service: "team" } });
  });

  test("routes that publish no metrics get no metrics settings", () => {
    for (const name of ["connect", "join", "members"]) {
      expect(functionNamed(tf, `chat-${name}`)[1].environment.variables.METRICS_NAMESPACE).toBeUndefined();
    }
  });

  test("in auth mode jwt the authorizer gets them too, for its denials", () => {
    const jwt = synthChat({ CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://issuer.example.com", CHAT_JWT_AUDIENCE: "client" }).tf;
    expect(functionNamed(jwt, "chat-authorizer")[1].environment.variables).toMatchObject({ METRICS_NAMESPACE: "WebsocketChat", METRICS_SERVICE: "chat" });
  });
});

describe("alarms", () => {
  test.each(FUNCTIONS)("the function %s has an errors and a throttles alarm on its own name", (name) => {
    const [fnName] = functionNamed(tf, `chat-${name}`);
    const functionName = ref("aws_lambda_function", fnName, "function_name");
    expect(alarmNamed(tf, `chat-${name}-errors`)).toMatchObject({ namespace: "AWS/Lambda", metric_name: "Errors", dimensions: { FunctionName: functionName }, statistic: "Sum", threshold: 1 });
    expect(alarmNamed(tf, `chat-${name}-throttles`)).toMatchObject({ namespace: "AWS/Lambda", metric_name: "Throttles", dimensions: { FunctionName: functionName }, statistic: "Sum", threshold: 1 });
  });

  test("in auth mode jwt the authorizer has its errors and throttles alarms", () => {
    const jwt = synthChat({ CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://issuer.example.com", CHAT_JWT_AUDIENCE: "client" }).tf;
    expect(alarmNamed(jwt, "chat-authorizer-errors").metric_name).toBe("Errors");
    expect(alarmNamed(jwt, "chat-authorizer-throttles").metric_name).toBe("Throttles");
  });

  test("the API's stage has ExecutionError and IntegrationError alarms", () => {
    const [apiName] = resources(tf, "aws_apigatewayv2_api")[0]!;
    const stage = { ApiId: ref("aws_apigatewayv2_api", apiName, "id"), Stage: "prod" };
    expect(alarmNamed(tf, "chat-api-execution-errors")).toMatchObject({ namespace: "AWS/ApiGateway", metric_name: "ExecutionError", dimensions: stage, threshold: 1 });
    expect(alarmNamed(tf, "chat-api-integration-errors")).toMatchObject({ namespace: "AWS/ApiGateway", metric_name: "IntegrationError", dimensions: stage, threshold: 20 });
  });

  test("the stage's connection and message rates alarm, to see a flood or a bill growing", () => {
    const [apiName] = resources(tf, "aws_apigatewayv2_api")[0]!;
    const stage = { ApiId: ref("aws_apigatewayv2_api", apiName, "id"), Stage: "prod" };
    expect(alarmNamed(tf, "chat-api-connects")).toMatchObject({ namespace: "AWS/ApiGateway", metric_name: "ConnectCount", dimensions: stage, statistic: "Sum", threshold: 3000 });
    expect(alarmNamed(tf, "chat-api-messages")).toMatchObject({ namespace: "AWS/ApiGateway", metric_name: "MessageCount", dimensions: stage, statistic: "Sum", threshold: 150_000 });
  });

  test("the fan-out queue's oldest message alarms after five minutes of waiting, long before SQS drops it", () => {
    const [queueName, queue] = resourceWhere(tf, "aws_sqs_queue", "name", "chat-fan-out");
    expect(alarmNamed(tf, "chat-fan-out-queue-age")).toMatchObject({
      namespace: "AWS/SQS",
      metric_name: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: ref("aws_sqs_queue", queueName, "name") },
      statistic: "Maximum",
      threshold: 300,
    });
    expect(alarmNamed(tf, "chat-fan-out-queue-age").threshold).toBeLessThan(queue.message_retention_seconds);
  });

  test("failed deliveries alarm on the handlers' metric for the whole stack", () => {
    expect(alarmNamed(tf, "chat-failed-deliveries")).toMatchObject({
      namespace: "WebsocketChat",
      metric_name: "RecipientsFailed",
      dimensions: { service: "chat" },
      statistic: "Sum",
      threshold: 10,
    });
  });

  test("every alarm is 'threshold or more in one 5-minute period', and a quiet period is not a breach", () => {
    // Errors and throttles per function; the API's execution and integration errors, connects and messages;
    // failed deliveries; the fan-out queue's age; the DLQ.
    expect(alarms(tf).length).toBe(FUNCTIONS.length * 2 + 7);
    for (const alarm of alarms(tf)) {
      expect(alarm).toMatchObject({
        comparison_operator: "GreaterThanOrEqualToThreshold",
        period: 300,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        treat_missing_data: "notBreaching",
      });
    }
  });

  test("thresholds follow the configuration", () => {
    const tuned = synthChat({
      CHAT_ALARM_FUNCTION_ERRORS: "3",
      CHAT_ALARM_FUNCTION_THROTTLES: "4",
      CHAT_ALARM_API_EXECUTION_ERRORS: "5",
      CHAT_ALARM_API_INTEGRATION_ERRORS: "60",
      CHAT_ALARM_FAILED_DELIVERIES: "100",
      CHAT_ALARM_FANOUT_AGE_SECONDS: "900",
      CHAT_ALARM_CONNECTS: "50000",
      CHAT_ALARM_MESSAGES: "2000000",
    }).tf;
    expect(alarmNamed(tuned, "chat-send-message-errors").threshold).toBe(3);
    expect(alarmNamed(tuned, "chat-send-message-throttles").threshold).toBe(4);
    expect(alarmNamed(tuned, "chat-api-execution-errors").threshold).toBe(5);
    expect(alarmNamed(tuned, "chat-api-integration-errors").threshold).toBe(60);
    expect(alarmNamed(tuned, "chat-failed-deliveries").threshold).toBe(100);
    expect(alarmNamed(tuned, "chat-fan-out-queue-age").threshold).toBe(900);
    expect(alarmNamed(tuned, "chat-api-connects").threshold).toBe(50_000);
    expect(alarmNamed(tuned, "chat-api-messages").threshold).toBe(2_000_000);
  });

  test("without CHAT_ALARM_EMAIL there is no topic and the alarms notify nobody", () => {
    expect(resources(tf, "aws_sns_topic")).toEqual([]);
    for (const alarm of alarms(tf)) expect(alarm.alarm_actions).toBeUndefined();
  });

  test("with CHAT_ALARM_EMAIL every alarm notifies an SNS topic with that email subscribed, when it fires and when it recovers", () => {
    const paged = synthChat({ CHAT_ALARM_EMAIL: "oncall@example.com" }).tf;
    const [topicName, topic] = resources(paged, "aws_sns_topic")[0]!;
    expect(topic.name).toBe("chat-alarms");
    const topicArn = ref("aws_sns_topic", topicName, "arn");
    expect(resources(paged, "aws_sns_topic_subscription").map(([, s]) => s)).toEqual([
      expect.objectContaining({ topic_arn: topicArn, protocol: "email", endpoint: "oncall@example.com" }),
    ]);
    for (const alarm of alarms(paged)) {
      expect(alarm.alarm_actions).toEqual([topicArn]);
      expect(alarm.ok_actions).toEqual([topicArn]);
    }
  });
});

describe("dashboard", () => {
  test("has the API's connections and messages, the handlers' metrics, fan-out percentiles, errors, throttles and the alarms", () => {
    const [, dashboard] = resources(tf, "aws_cloudwatch_dashboard")[0]!;
    expect(dashboard.dashboard_name).toBe("chat-chat-us-east-1");
    const widgets = dashboardBody(tf).widgets as Array<{ type: string; properties: any }>;
    const metricsOf = (title: string) => widgets.find((w) => w.properties.title === title)!.properties.metrics as unknown[][];
    const [apiName] = resources(tf, "aws_apigatewayv2_api")[0]!;
    const apiId = ref("aws_apigatewayv2_api", apiName, "id");

    expect(metricsOf("Connections and messages (API Gateway)").map((m) => m.slice(0, 6))).toEqual([
      ["AWS/ApiGateway", "ConnectCount", "ApiId", apiId, "Stage", "prod"],
      ["AWS/ApiGateway", "MessageCount", "ApiId", apiId, "Stage", "prod"],
    ]);
    expect(metricsOf("Messages sent, by target").map((m) => m[5])).toEqual(["everyone", "room", "connection", "user"]);
    expect(metricsOf("Recipients").map((m) => m[1])).toEqual(["RecipientsDelivered", "RecipientsStale", "RecipientsFailed", "RecipientsQueued"]);
    expect(metricsOf("Fan-out duration (ms)").map((m) => (m[m.length - 1] as { stat: string }).stat)).toEqual(["p50", "p90", "p99", "p99", "p99"]);
    expect(metricsOf("API errors").map((m) => m[1])).toEqual(["IntegrationError", "ExecutionError", "ClientError"]);
    expect(metricsOf("Function errors")).toHaveLength(FUNCTIONS.length);
    expect(metricsOf("Function throttles")).toHaveLength(FUNCTIONS.length);
    const alarmWidget = widgets.find((w) => w.type === "alarm")!;
    expect(alarmWidget.properties.alarms).toHaveLength(alarms(tf).length);
  });

  test("no widget names a room, a user or a connection: every dimension is one of the few the handlers use", () => {
    const dimensionNames = new Set<string>();
    for (const widget of dashboardBody(tf).widgets) {
      for (const line of widget.properties.metrics ?? []) {
        const pairs = line.slice(2).filter((part: unknown) => typeof part === "string");
        for (let i = 0; i < pairs.length; i += 2) dimensionNames.add(pairs[i]);
      }
    }
    expect([...dimensionNames].sort()).toEqual(["ApiId", "FunctionName", "Path", "QueueName", "Stage", "Target", "service"]);
  });
});

describe("the dead-letter queue", () => {
  /** The alarms and dashboard constructs on their own, as the stack wires them once it has a fan-out queue. */
  function synthWithQueue(deadLetterQueueName?: string, queueName?: string): TerraformJson {
    const stack = new TerraformStack(Testing.app(), "observed");
    new AwsProvider(stack, "aws", { region: "us-east-1" });
    new ArchiveProvider(stack, "archive");
    const api = new WebsocketApi(stack, "api", { name: "t-websocket" });
    const fn = new BundledFunction(stack, "default", { functionName: "t-default", region: "us-east-1", entry: join(__dirname, "..", "handlers", "default.ts"), statements: [] });
    api.addRoute({ routeKey: "$default", handler: fn.function });
    const common = { functions: { default: fn }, api, metricsNamespace: "WebsocketChat", service: "t", deadLetterQueueName, queueName };
    const alarmsConstruct = new ChatAlarms(stack, "alarms", { namePrefix: "t", ...common });
    new ChatDashboard(stack, "dashboard", { dashboardName: "t-chat", region: "us-east-1", alarms: alarmsConstruct.alarms, ...common });
    return JSON.parse(Testing.synth(stack));
  }

  test("with a dead-letter queue, an alarm fires as soon as it holds a message, and the dashboard shows its depth", () => {
    const withQueue = synthWithQueue("t-fan-out-dlq");
    expect(alarmNamed(withQueue, "t-fan-out-dead-letters")).toMatchObject({
      namespace: "AWS/SQS",
      metric_name: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "t-fan-out-dlq" },
      statistic: "Maximum",
      threshold: 1,
    });
    const widget = dashboardBody(withQueue).widgets.find((w: any) => w.properties.title === "Fan-out dead-letter queue");
    expect(widget.properties.metrics[0].slice(0, 4)).toEqual(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "t-fan-out-dlq"]);
  });

  test("without one, neither the alarm nor the widget exists", () => {
    const without = synthWithQueue();
    expect(alarms(without).map((a) => a.alarm_name)).not.toContain("t-fan-out-dead-letters");
    expect(dashboardBody(without).widgets.map((w: any) => w.properties.title)).not.toContain("Fan-out dead-letter queue");
  });

  test("with a fan-out queue, its oldest message's age alarms and the dashboard shows its backlog; without, neither", () => {
    const withQueue = synthWithQueue(undefined, "t-fan-out");
    expect(alarmNamed(withQueue, "t-fan-out-queue-age")).toMatchObject({ metric_name: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "t-fan-out" } });
    const widget = dashboardBody(withQueue).widgets.find((w: any) => w.properties.title === "Fan-out queue");
    expect(widget.properties.metrics.map((m: unknown[]) => m.slice(0, 4))).toEqual([
      ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "t-fan-out"],
      ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "t-fan-out"],
    ]);
    const without = synthWithQueue();
    expect(alarms(without).map((a) => a.alarm_name)).not.toContain("t-fan-out-queue-age");
    expect(dashboardBody(without).widgets.map((w: any) => w.properties.title)).not.toContain("Fan-out queue");
  });
});
