/**
 * The pieces of local/observability on their own: reading EMF as CloudWatch does, CloudWatch's statistics,
 * alarm evaluation over periods, and how the runtime prints a function's lines.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { renderFunctionLine } from "../local/functions/function-output";
import { evaluateAlarm } from "../local/observability/alarm-evaluation";
import { parseEmf } from "../local/observability/emf";
import { MetricStore, statisticOf } from "../local/observability/metric-store";
import { LocalObservability } from "../local/observability/local-observability";
import { buildObservabilityModel, type AlarmModel } from "../local/observability/observability-model";
import { LocalQueue } from "../local/services/sqs/queue";
import { TerraformDocument } from "../local/terraform/terraform-document";
import type { QueueModel } from "../local/terraform/stack-model-types";
import { synthChat } from "./support/synth";

const emf = (doc: Record<string, unknown>) => JSON.stringify({ _aws: { Timestamp: 1_000, CloudWatchMetrics: [{ Namespace: "Chat", Dimensions: [["service"], ["service", "Path"]], Metrics: [{ Name: "Sent", Unit: "Count" }] }] }, service: "chat", Path: "inline", ...doc });

describe("EMF", () => {
  test("each dimension set of a document is a datapoint of its own, with the values at the top level", () => {
    expect(parseEmf(emf({ Sent: 3 }))).toEqual([
      { namespace: "Chat", name: "Sent", dimensions: { service: "chat" }, unit: "Count", values: [3], timestamp: 1_000 },
      { namespace: "Chat", name: "Sent", dimensions: { service: "chat", Path: "inline" }, unit: "Count", values: [3], timestamp: 1_000 },
    ]);
  });

  test("an array of values is that many samples", () => {
    expect(parseEmf(emf({ Sent: [1, 2, 5] }))![0]!.values).toEqual([1, 2, 5]);
  });

  test("a metric without a numeric value and a dimension set naming a missing dimension are skipped, as CloudWatch rejects them", () => {
    expect(parseEmf(emf({ Sent: "three" }))).toEqual([]);
    expect(parseEmf(emf({ Sent: 1, Path: undefined }))!.map((p) => p.dimensions)).toEqual([{ service: "chat" }]);
  });

  test("lines that are not EMF documents yield nothing", () => {
    for (const line of ["hello", '{"level":"INFO","message":"x"}', '{"_aws": 1}', "{not json"]) expect(parseEmf(line)).toBeUndefined();
  });
});

describe("statistics", () => {
  test.each([
    ["Sum", 15],
    ["SampleCount", 5],
    ["Average", 3],
    ["Minimum", 1],
    ["Maximum", 5],
    ["p50", 3],
    ["p99", 5],
    ["p20", 1],
  ])("%s of 1..5 is %d", (stat, expected) => {
    expect(statisticOf([5, 1, 4, 2, 3], stat)).toBe(expected);
  });

  test("no samples and unknown statistics have no value", () => {
    expect(statisticOf([], "Sum")).toBeUndefined();
    expect(statisticOf([1], "tm99")).toBeUndefined();
  });

  test("a metric is its namespace, name and exact dimensions: other dimension sets do not count", () => {
    const store = new MetricStore(60_000, () => 10_000);
    for (const point of parseEmf(emf({ Sent: 2 })) ?? []) store.record({ ...point, timestamp: 9_000 });
    expect(store.statistic({ namespace: "Chat", name: "Sent", dimensions: { service: "chat" } }, "Sum", 0, 10_000)).toBe(2);
    expect(store.statistic({ namespace: "Chat", name: "Sent", dimensions: {} }, "Sum", 0, 10_000)).toBeUndefined();
  });
});

describe("the metric store", () => {
  const latency = { namespace: "AWS/ApiGateway", name: "IntegrationLatency", dimensions: { ApiId: "a" } };
  const count = { namespace: "AWS/ApiGateway", name: "MessageCount", dimensions: { ApiId: "a" } };

  test("statistics add up the seconds a window covers, a sample counting in the second it falls in", () => {
    let now = 100_000;
    const store = new MetricStore(3_600_000, () => now);
    for (const [at, value] of [[100_100, 4], [100_900, 2], [101_000, 10], [102_500, 1]] as const) {
      now = at;
      store.add(count, value);
    }
    const stat = (stat: string, from: number, to: number) => store.statistic(count, stat, from, to);
    expect([stat("Sum", 100_000, 101_000), stat("SampleCount", 100_000, 101_000), stat("Average", 100_000, 101_000)]).toEqual([6, 2, 3]);
    expect([stat("Sum", 100_000, 103_000), stat("Minimum", 100_000, 103_000), stat("Maximum", 100_000, 103_000)]).toEqual([17, 1, 10]);
    // A window starting inside a second leaves that second out, as at CloudWatch's 1-second resolution.
    expect(stat("Sum", 100_500, 103_000)).toBe(11);
    expect(stat("Sum", 103_000, 110_000)).toBeUndefined();
  });

  test("a sample that comes late counts in its own second, and one older than the retention not at all", () => {
    const now = 1_000_000;
    const store = new MetricStore(60_000, () => now);
    for (const [at, value] of [[999_500, 1], [990_200, 5], [995_000, 7], [900_000, 100]] as const) store.record({ ...count, values: [value], timestamp: at });
    expect(store.statistic(count, "SampleCount", 0, now + 1)).toBe(3);
    expect(store.statistic(count, "Sum", 990_000, 991_000)).toBe(5);
    expect(store.statistic(count, "Sum", 991_000, now + 1)).toBe(8);
  });

  test("percentiles are computed for the metrics whose distribution is kept, over every value, and not guessed for the others", () => {
    const store = new MetricStore(3_600_000, () => 50_000);
    store.keepsDistribution(latency.namespace, latency.name);
    store.record({ ...latency, values: [5, 1, 4], timestamp: 48_000 });
    store.record({ ...latency, values: [2, 3], timestamp: 49_000 });
    store.record({ ...count, values: [5, 1, 4, 2, 3], timestamp: 49_000 });
    expect([store.statistic(latency, "p50", 0, 50_001), store.statistic(latency, "p99", 0, 50_001), store.statistic(latency, "p20", 48_000, 49_000)]).toEqual([3, 5, 1]);
    expect(store.statistic(count, "p50", 0, 50_001)).toBeUndefined();
    expect(store.statistic(count, "Maximum", 0, 50_001)).toBe(5);
  });

  test("what it holds grows with the seconds, not with the samples: 300,000 samples in 10 s leave the heap where it was", () => {
    // In a process of its own, to measure the heap after a full collection.
    const script = `
      const { MetricStore } = require("./local/observability/metric-store");
      let now = 1_000_000;
      const store = new MetricStore(3_600_000, () => now);
      const id = { namespace: "AWS/ApiGateway", name: "MessageCount", dimensions: { ApiId: "a", Stage: "prod" } };
      store.add(id, 1);
      global.gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 300_000; i += 1) { now = 1_000_000 + Math.floor(i / 30); store.add(id, i % 7); }
      global.gc();
      process.stdout.write(JSON.stringify({ grown: process.memoryUsage().heapUsed - before, sum: store.statistic(id, "SampleCount", 0, now + 1) }));
    `;
    const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", "-e", script], { cwd: join(__dirname, ".."), encoding: "utf8" });
    const { grown, sum } = JSON.parse(out) as { grown: number; sum: number };
    expect(sum).toBe(300_001);
    // One sample kept one by one costs at least 40 bytes: 12 MB here.
    expect(grown).toBeLessThan(2_000_000);
  });
});

describe("alarm evaluation", () => {
  const metric = { namespace: "AWS/Lambda", name: "Errors", dimensions: { FunctionName: "f" } };
  const alarm = (overrides: Partial<AlarmModel> = {}): AlarmModel => ({
    address: "aws_cloudwatch_metric_alarm.a",
    name: "a",
    metric,
    statistic: "Sum",
    periodSeconds: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    threshold: 1,
    comparison: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
    alarmActions: 0,
    ...overrides,
  });
  const now = 1_000_000;
  const storeWith = (errorsPerMinuteAgo: Record<number, number>) => {
    const store = new MetricStore(3_600_000, () => now);
    store.produces("AWS/Lambda", "Errors");
    for (const [minutesAgo, value] of Object.entries(errorsPerMinuteAgo)) {
      store.record({ ...metric, values: [value], timestamp: now - Number(minutesAgo) * 60_000 - 30_000 });
    }
    return store;
  };

  test("fires when enough of the evaluated periods breach", () => {
    expect(evaluateAlarm(alarm(), storeWith({ 0: 1, 2: 3 }), now)).toMatchObject({ state: "ALARM", value: 1 });
  });

  test("says why in a reader's words: the comparison as a sign, the periods as a duration", () => {
    expect(evaluateAlarm(alarm(), storeWith({ 0: 1, 2: 3 }), now).reason).toBe("Sum ≥ 1 in 2 of the last 3 periods of 1 min (now Sum 1)");
    expect(evaluateAlarm(alarm(), storeWith({ 0: 0 }), now).reason).toBe("Sum 0; fires at Sum ≥ 1 in 2 of the last 3 periods of 1 min");
    expect(evaluateAlarm(alarm({ evaluationPeriods: 1, datapointsToAlarm: 1, periodSeconds: 300, comparison: "GreaterThanThreshold" }), storeWith({}), now).reason).toBe(
      "no data; fires at Sum > 1 in the last 5 min",
    );
  });

  test("stays OK when fewer periods breach than datapoints_to_alarm", () => {
    expect(evaluateAlarm(alarm(), storeWith({ 0: 1, 1: 0 }), now)).toMatchObject({ state: "OK", value: 1 });
  });

  test("treats missing periods as the alarm says", () => {
    expect(evaluateAlarm(alarm(), storeWith({ 0: 1 }), now).state).toBe("OK");
    expect(evaluateAlarm(alarm({ treatMissingData: "breaching" }), storeWith({ 0: 1 }), now).state).toBe("ALARM");
    expect(evaluateAlarm(alarm({ treatMissingData: "missing" }), storeWith({}), now).state).toBe("INSUFFICIENT_DATA");
  });

  test("an alarm on a metric the runtime never produces is not evaluated, and says why", () => {
    expect(evaluateAlarm(alarm({ metric: { ...metric, name: "Throttles" } }), storeWith({}), now)).toEqual({
      state: "NOT_EVALUATED",
      reason: "not evaluated locally: the local runtime throttles only functions with a reserved concurrency, and this stack has none",
    });
    expect(evaluateAlarm(alarm({ metric: undefined, unreadable: "it uses metric math" }), storeWith({}), now).reason).toMatch(/metric math/);
  });
});

describe("a function's output as the runtime prints it", () => {
  const id = "8f14e45f-ceea-467f-a0e6-fab3d0e7e2b1";

  test("a JSON log line shows its level, request id and message", () => {
    const line = JSON.stringify({ timestamp: "2026-01-01T00:00:00.000Z", level: "ERROR", requestId: id, message: { route: "join", errorType: "X" } });
    expect(renderFunctionLine("chat-join", line)).toBe(`[chat-join] ERROR ${id} {"route":"join","errorType":"X"}`);
  });

  test("an Error logged alone shows its type and message", () => {
    const line = JSON.stringify({ timestamp: "2026-01-01T00:00:00.000Z", level: "ERROR", requestId: id, message: "boom", errorType: "Error", errorMessage: "boom" });
    expect(renderFunctionLine("f", line)).toBe(`[f] ERROR ${id} boom (Error: boom)`);
  });

  test("a text log line shows the same way", () => {
    expect(renderFunctionLine("f", `2026-01-01T00:00:00.000Z\t${id}\tINFO\thello`)).toBe(`[f] INFO ${id} hello`);
  });

  test("an EMF document is shown unchanged, and anything else as printed", () => {
    const doc = emf({ Sent: 1 });
    expect(renderFunctionLine("f", doc)).toBe(`[f] EMF ${doc}`);
    expect(renderFunctionLine("f", "plain")).toBe("[f] plain");
  });
});

describe("the fan-out queue's age, locally", () => {
  const queueModel = (name: string, redrivePolicy?: QueueModel["redrivePolicy"]): QueueModel => ({
    address: `aws_sqs_queue.${name}`,
    name,
    arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    url: `http://127.0.0.1/000000000000/${name}`,
    visibilityTimeoutSeconds: 30,
    messageRetentionSeconds: 345_600,
    maximumMessageSizeBytes: 262_144,
    delaySeconds: 0,
    receiveWaitTimeSeconds: 0,
    ...(redrivePolicy ? { redrivePolicy } : {}),
    sqsManagedSseEnabled: true,
  });
  const input = { body: "job", attributes: {}, bytes: 3 };

  afterEach(() => jest.useRealTimers());

  test("is the seconds since the oldest message still in the queue arrived, in a dead-letter queue since it was moved there", () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const dlq = new LocalQueue(queueModel("q-dlq"), () => undefined);
    const queue = new LocalQueue(queueModel("q", { deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }), () => undefined);
    queue.deadLetterQueue = dlq;
    expect(queue.oldestAgeSeconds()).toBe(0);
    queue.send(input, "producer");
    jest.setSystemTime(1_000_000 + 400_000);
    queue.send(input, "producer");
    // In flight still counts: the message is not deleted.
    expect(queue.receive({ maxMessages: 1, visibilityTimeoutSeconds: 0 })).toHaveLength(1);
    expect(queue.oldestAgeSeconds()).toBe(400);

    // Received once already, the oldest moves to the dead-letter queue on the next receive; the newer one is handed out.
    jest.setSystemTime(1_000_000 + 500_000);
    expect(queue.receive({ maxMessages: 1, visibilityTimeoutSeconds: 30 })).toHaveLength(1);
    expect(queue.oldestAgeSeconds()).toBe(100);
    expect(dlq.oldestAgeSeconds()).toBe(0);
    expect(dlq.oldestAgeSeconds(1_000_000 + 560_000)).toBe(60);
  });

  test("the synthesized age alarm is evaluated on the sampled ages: OK while jobs are taken, ALARM once one waits five minutes", () => {
    const tf = synthChat().tf;
    const model = buildObservabilityModel(new TerraformDocument(tf as never, { stackDir: "/stack" }));
    const ageAlarm = model.alarms.find((a) => a.name === "chat-fan-out-queue-age")!;
    expect(ageAlarm.metric).toEqual({ namespace: "AWS/SQS", name: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: "chat-fan-out" } });
    let now = 10_000_000;
    const observability = new LocalObservability({ model, api: { id: "api", stage: "prod" }, now: () => now });
    expect(observability.evaluate(ageAlarm)).toMatchObject({ state: "NOT_EVALUATED", reason: "not evaluated locally: the local runtime publishes no SQS metrics" });

    let age = 2;
    const sampling = observability.sampleQueues(() => [{ name: "chat-fan-out", visible: 1, inFlight: 0, oldestAgeSeconds: age }], 60_000);
    try {
      expect(observability.evaluate(ageAlarm)).toMatchObject({ state: "OK", value: 2 });
      now += 10_000;
      age = 300;
      observability.snapshot();
      expect(observability.evaluate(ageAlarm)).toMatchObject({ state: "ALARM", value: 300, reason: "Maximum ≥ 300 in the last 5 min (now Maximum 300)" });
    } finally {
      sampling.stop();
    }
  });
});
