/**
 * The metrics of a local run, kept for a time window: what the functions print as EMF and what the runtime
 * observes itself (Lambda's and API Gateway's own metrics). A metric is identified as CloudWatch does: by
 * namespace, name and its exact set of dimensions. Statistics are CloudWatch's: Sum, SampleCount, Average,
 * Minimum, Maximum and percentiles (pNN).
 */
import type { Datapoint } from "./emf";

/** Which metric: namespace, name and exact dimensions. */
export interface MetricId {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

interface Sample {
  readonly at: number;
  readonly value: number;
}

/** An hour: longer than any alarm here looks back, and what the local page can show. */
export const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

export class MetricStore {
  private readonly series = new Map<string, Sample[]>();
  /** `namespace\0name` of the AWS metrics something in the runtime records. */
  private readonly producers = new Set<string>();

  constructor(
    private readonly retentionMs = DEFAULT_RETENTION_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Says that something records this AWS metric, so a widget or alarm on it can be shown locally. */
  produces(namespace: string, name: string): void {
    this.producers.add(`${namespace}\0${name}`);
  }

  /**
   * Whether the runtime can have figures for the metric: the functions' own metrics (any namespace not
   * reserved for AWS, from their EMF lines) and the AWS metrics something records.
   */
  isProduced(namespace: string, name: string): boolean {
    return !namespace.startsWith("AWS/") || this.producers.has(`${namespace}\0${name}`);
  }

  record(point: Datapoint): void {
    const samples = this.samplesOf(keyOf(point));
    for (const value of point.values) samples.push({ at: point.timestamp, value });
    this.expire(samples);
  }

  /** One value now, for the runtime's own metrics (the unit is not kept, as for EMF samples). */
  add(id: MetricId, value: number, _unit?: string): void {
    const samples = this.samplesOf(keyOf(id));
    samples.push({ at: this.now(), value });
    this.expire(samples);
  }

  private samplesOf(key: string): Sample[] {
    let samples = this.series.get(key);
    if (!samples) this.series.set(key, (samples = []));
    return samples;
  }

  private expire(samples: Sample[]): void {
    const oldest = this.now() - this.retentionMs;
    while (samples.length > 0 && samples[0]!.at < oldest) samples.shift();
  }

  /** The statistic over the samples in [from, to), or undefined when there are none. */
  statistic(id: MetricId, stat: string, from: number, to: number): number | undefined {
    const values = (this.series.get(keyOf(id)) ?? []).filter((s) => s.at >= from && s.at < to).map((s) => s.value);
    return statisticOf(values, stat);
  }
}

/**
 * The series' key: namespace, name and the dimensions sorted by name, joined with control characters no
 * name or value of CloudWatch's carries. Built by hand: it runs for every sample (a few dozen per chat
 * message), where JSON.stringify of sorted entries cost a tenth of the runtime's main thread.
 */
function keyOf(id: MetricId): string {
  const names = Object.keys(id.dimensions);
  if (names.length > 1) names.sort();
  let key = `${id.namespace}\u0000${id.name}`;
  for (const name of names) key += `\u0000${name}\u0001${id.dimensions[name]}`;
  return key;
}

/** CloudWatch's statistics; percentiles by nearest rank. Undefined for no samples or an unknown statistic. */
export function statisticOf(values: readonly number[], stat: string): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case "Sum":
      return values.reduce((a, b) => a + b, 0);
    case "SampleCount":
      return values.length;
    case "Average":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "Minimum":
      return Math.min(...values);
    case "Maximum":
      return Math.max(...values);
  }
  const percentile = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(stat);
  if (!percentile) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Number(percentile[1]) / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Whether the local runtime knows how to compute a statistic (alarms with others are not evaluated). */
export function isKnownStatistic(stat: string): boolean {
  return statisticOf([1], stat) !== undefined;
}
