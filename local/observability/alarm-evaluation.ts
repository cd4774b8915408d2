/**
 * Whether an alarm would fire on the local figures, evaluated as CloudWatch does for a single-metric alarm:
 * the statistic over each of the last `evaluation_periods` periods (the latest ending now), each compared
 * with the threshold, missing periods treated as `treat_missing_data` says, ALARM when at least
 * `datapoints_to_alarm` of them breach.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation
 * An alarm on a metric the runtime never produces (Lambda throttles, SQS) is not evaluated, and says why.
 */
import { isKnownStatistic, type MetricStore } from "./metric-store";
import type { AlarmModel } from "./observability-model";

export type LocalAlarmState = "OK" | "ALARM" | "INSUFFICIENT_DATA" | "NOT_EVALUATED";

export interface AlarmEvaluation {
  readonly state: LocalAlarmState;
  /** The statistic of the latest period, when it has data. */
  readonly value?: number;
  /** Why it is in that state, in words. */
  readonly reason: string;
}

/** Why the runtime has no figures for some AWS metrics an alarm may use. */
const UNPRODUCED: Readonly<Record<string, string>> = {
  "AWS/Lambda Throttles": "the local runtime throttles only functions with a reserved concurrency, and this stack has none",
  "AWS/SQS ApproximateNumberOfMessagesVisible": "the local runtime publishes no SQS metrics",
  "AWS/SQS ApproximateAgeOfOldestMessage": "the local runtime publishes no SQS metrics",
};

const COMPARISONS: Readonly<Record<string, { readonly sign: string; readonly test: (value: number, threshold: number) => boolean }>> = {
  GreaterThanOrEqualToThreshold: { sign: "≥", test: (v, t) => v >= t },
  GreaterThanThreshold: { sign: ">", test: (v, t) => v > t },
  LessThanThreshold: { sign: "<", test: (v, t) => v < t },
  LessThanOrEqualToThreshold: { sign: "≤", test: (v, t) => v <= t },
};

/** `GreaterThanOrEqualToThreshold` as a reader writes it: `≥`; an unknown comparison as it is. */
export function comparisonSign(comparison: string): string {
  return COMPARISONS[comparison]?.sign ?? comparison;
}

export function evaluateAlarm(alarm: AlarmModel, store: MetricStore, now: number): AlarmEvaluation {
  const notEvaluated = (why: string): AlarmEvaluation => ({ state: "NOT_EVALUATED", reason: `not evaluated locally: ${why}` });
  if (alarm.unreadable || !alarm.metric || !alarm.statistic) return notEvaluated(alarm.unreadable ?? "it names no metric");
  const { namespace, name } = alarm.metric;
  if (!store.isProduced(namespace, name)) return notEvaluated(UNPRODUCED[`${namespace} ${name}`] ?? `the local runtime does not produce ${namespace} ${name}`);
  const compare = COMPARISONS[alarm.comparison];
  if (!compare) return notEvaluated(`comparison ${alarm.comparison} is for anomaly detection`);
  if (!isKnownStatistic(alarm.statistic)) return notEvaluated(`statistic ${alarm.statistic} is not computed locally`);

  const periodMs = alarm.periodSeconds * 1000;
  const values = Array.from({ length: alarm.evaluationPeriods }, (_, i) => store.statistic(alarm.metric!, alarm.statistic!, now - (i + 1) * periodMs, now - i * periodMs + 1));
  let breaching = 0;
  let present = 0;
  for (const value of values) {
    if (value !== undefined) {
      present += 1;
      if (compare.test(value, alarm.threshold)) breaching += 1;
    } else if (alarm.treatMissingData === "breaching") {
      breaching += 1;
    }
  }
  const latest = values[0];
  const lastPeriods = alarm.evaluationPeriods === 1 ? `the last ${duration(alarm.periodSeconds)}` : `the last ${alarm.evaluationPeriods} periods of ${duration(alarm.periodSeconds)}`;
  const needed = alarm.evaluationPeriods === 1 ? lastPeriods : `${alarm.datapointsToAlarm} of ${lastPeriods}`;
  const condition = `${alarm.statistic} ${compare.sign} ${format(alarm.threshold)}`;
  const shown = latest === undefined ? "no data" : `${alarm.statistic} ${format(latest)}`;
  if (breaching >= alarm.datapointsToAlarm) {
    return { state: "ALARM", ...(latest !== undefined ? { value: latest } : {}), reason: `${condition} in ${alarm.evaluationPeriods === 1 ? lastPeriods : `${breaching} of ${lastPeriods}`} (now ${shown})` };
  }
  if (present === 0 && alarm.treatMissingData === "missing") {
    return { state: "INSUFFICIENT_DATA", reason: `no data in ${lastPeriods}` };
  }
  return { state: "OK", ...(latest !== undefined ? { value: latest } : {}), reason: `${shown}; fires at ${condition} in ${needed}` };
}

/** A period as people say it: 300 → "5 min", 10 → "10 s". */
function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
