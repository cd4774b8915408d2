/**
 * The alarms and dashboards of the synthesized stack, read from cdk.tf.json like everything else the
 * runtime serves: `aws_cloudwatch_metric_alarm` (one metric, a statistic over a period, a threshold) and
 * `aws_cloudwatch_dashboard` (its body's widgets). References resolve to the same local values the
 * runtime uses (API id, function names). What cannot be read is kept with the reason, to be shown as such.
 */
import { TerraformDocument, type LocalContext } from "../terraform/terraform-document";
import type { MetricId } from "./metric-store";

export interface AlarmModel {
  readonly address: string;
  readonly name: string;
  readonly description?: string;
  /** Unset when the alarm cannot be evaluated from the JSON alone (metric math, an unresolvable value). */
  readonly metric?: MetricId;
  readonly statistic?: string;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: string;
  /** How many actions it notifies on ALARM (SNS topics and such; not sent locally). */
  readonly alarmActions: number;
  /** Why it cannot be evaluated locally, when it cannot. */
  readonly unreadable?: string;
}

/** One line of a metric widget. */
export interface SeriesModel {
  readonly metric: MetricId;
  readonly stat: string;
  readonly label: string;
}

export type WidgetModel =
  | { readonly kind: "metric"; readonly title: string; readonly periodSeconds: number; readonly series: readonly SeriesModel[] }
  | { readonly kind: "alarm"; readonly title: string; readonly alarmNames: readonly string[] }
  | { readonly kind: "other"; readonly title: string; readonly type: string };

export interface DashboardModel {
  readonly name: string;
  readonly widgets: readonly WidgetModel[];
  readonly unreadable?: string;
}

export interface ObservabilityModel {
  readonly alarms: readonly AlarmModel[];
  readonly dashboards: readonly DashboardModel[];
}

export function loadObservabilityModel(context: LocalContext): ObservabilityModel {
  return buildObservabilityModel(TerraformDocument.load(context));
}

export function buildObservabilityModel(doc: TerraformDocument): ObservabilityModel {
  const alarms = doc.resources("aws_cloudwatch_metric_alarm").map((block) => alarmModel(doc, block.address));
  const arnToName = new Map(alarms.map((alarm) => [`arn:aws:cloudwatch:${doc.region()}:${doc.account}:alarm:${alarm.name}`, alarm.name]));
  const dashboards = doc.resources("aws_cloudwatch_dashboard").map((block) => dashboardModel(doc, block.address, arnToName));
  return { alarms, dashboards };
}

function alarmModel(doc: TerraformDocument, address: string): AlarmModel {
  const raw = doc.block(address)!.config;
  const number = (value: unknown, fallback: number) => (typeof value === "number" ? value : value === undefined ? fallback : Number(value));
  const base = {
    address,
    name: String(raw.alarm_name),
    ...(typeof raw.alarm_description === "string" ? { description: raw.alarm_description } : {}),
    periodSeconds: number(raw.period, 60),
    evaluationPeriods: number(raw.evaluation_periods, 1),
    datapointsToAlarm: number(raw.datapoints_to_alarm ?? raw.evaluation_periods, 1),
    threshold: number(raw.threshold, 0),
    comparison: String(raw.comparison_operator),
    treatMissingData: String(raw.treat_missing_data ?? "missing"),
    alarmActions: Array.isArray(raw.alarm_actions) ? raw.alarm_actions.length : 0,
  };
  if (raw.metric_query !== undefined) return { ...base, unreadable: "it uses metric math (metric_query), which the local runtime does not evaluate" };
  if (raw.threshold_metric_id !== undefined) return { ...base, unreadable: "it is an anomaly detection alarm" };
  try {
    const dimensions = (doc.argument(address, "dimensions") ?? {}) as Record<string, unknown>;
    const statistic = raw.statistic ?? raw.extended_statistic;
    return {
      ...base,
      metric: {
        namespace: String(doc.argument(address, "namespace")),
        name: String(doc.argument(address, "metric_name")),
        dimensions: Object.fromEntries(Object.entries(dimensions).map(([key, value]) => [key, String(value)])),
      },
      statistic: String(statistic),
    };
  } catch (error) {
    return { ...base, unreadable: (error as Error).message };
  }
}

function dashboardModel(doc: TerraformDocument, address: string, arnToName: ReadonlyMap<string, string>): DashboardModel {
  const name = String(doc.block(address)!.config.dashboard_name);
  let body: { widgets?: Array<{ type?: string; properties?: Record<string, unknown> }> };
  try {
    body = JSON.parse(String(doc.argument(address, "dashboard_body")));
  } catch (error) {
    return { name, widgets: [], unreadable: (error as Error).message };
  }
  const widgets = (body.widgets ?? []).map((widget): WidgetModel => {
    const properties = widget.properties ?? {};
    const title = String(properties.title ?? "");
    if (widget.type === "alarm") {
      const arns = Array.isArray(properties.alarms) ? properties.alarms.map(String) : [];
      return { kind: "alarm", title, alarmNames: arns.map((arn) => arnToName.get(arn) ?? arn.split(":alarm:")[1] ?? arn) };
    }
    if (widget.type !== "metric" || !Array.isArray(properties.metrics)) return { kind: "other", title, type: String(widget.type) };
    const period = typeof properties.period === "number" ? properties.period : 300;
    const defaultStat = typeof properties.stat === "string" ? properties.stat : "Average";
    return { kind: "metric", title, periodSeconds: period, series: (properties.metrics as unknown[][]).map((line) => seriesOf(line, defaultStat)) };
  });
  return { name, widgets };
}

/** `[namespace, name, dimension, value, ..., {stat, label}]`, CloudWatch's metric widget line. */
function seriesOf(line: unknown[], defaultStat: string): SeriesModel {
  const options = (typeof line[line.length - 1] === "object" ? line[line.length - 1] : {}) as { stat?: string; label?: string };
  const parts = line.filter((part) => typeof part === "string") as string[];
  const [namespace = "", name = "", ...pairs] = parts;
  const dimensions: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
  return { metric: { namespace, name, dimensions }, stat: options.stat ?? defaultStat, label: options.label ?? name };
}

