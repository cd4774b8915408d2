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

/**
 * One second of a series: CloudWatch's finest resolution (high-resolution metrics), so nothing a query can
 * ask of CloudWatch is lost. The statistic set of its samples, and their values when a percentile of the
 * metric is ever wanted.
 */
interface Second {
  readonly start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  readonly values?: number[];
}

/** A series' seconds, oldest first. */
interface Series {
  readonly seconds: Second[];
  readonly keepsValues: boolean;
}

const RESOLUTION_MS = 1_000;

/** An hour: longer than any alarm here looks back, and what the local page can show. */
export const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

/**
 * Samples are kept per second, not one by one: memory grows with the metrics and the seconds, not with the
 * traffic (a sample each, about thirty a chat message, held a gigabyte after minutes of load), and a
 * statistic sums seconds instead of scanning samples. A sample counts in the second it falls in, so a
 * query's window starts and ends on whole seconds, as at CloudWatch's finest resolution. Values are kept
 * only for the metrics `keepsDistribution` names, which are the only ones a percentile is computed for.
 */
export class MetricStore {
  private readonly series = new Map<string, Series>();
  /** `namespace\0name` of the AWS metrics something in the runtime records. */
  private readonly producers = new Set<string>();
  /** `namespace\0name` of the metrics a percentile is wanted of. */
  private readonly distributions = new Set<string>();

  constructor(
    private readonly retentionMs = DEFAULT_RETENTION_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Says that something records this AWS metric, so a widget or alarm on it can be shown locally. */
  produces(namespace: string, name: string): void {
    this.producers.add(`${namespace}\0${name}`);
  }

  /** Keeps the values of this metric's samples (from now on), so its percentiles can be computed. */
  keepsDistribution(namespace: string, name: string): void {
    this.distributions.add(`${namespace}\0${name}`);
  }

  /**
   * Whether the runtime can have figures for the metric: the functions' own metrics (any namespace not
   * reserved for AWS, from their EMF lines) and the AWS metrics something records.
   */
  isProduced(namespace: string, name: string): boolean {
    return !namespace.startsWith("AWS/") || this.producers.has(`${namespace}\0${name}`);
  }

  record(point: Datapoint): void {
    const series = this.seriesOf(point);
    for (const value of point.values) this.addTo(series, point.timestamp, value);
  }

  /** One value now, for the runtime's own metrics (the unit is not kept, as for EMF samples). */
  add(id: MetricId, value: number, _unit?: string): void {
    this.addTo(this.seriesOf(id), this.now(), value);
  }

  /**
   * Records values of one metric now, its series looked up once: for the runtime's own metrics, recorded
   * for every frame and invocation.
   */
  recorder(id: MetricId): (value: number) => void {
    const series = this.seriesOf(id);
    return (value) => this.addTo(series, this.now(), value);
  }

  private seriesOf(id: MetricId): Series {
    const key = keyOf(id);
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = { seconds: [], keepsValues: this.distributions.has(`${id.namespace}\0${id.name}`) }));
    return series;
  }

  private addTo({ seconds, keepsValues }: Series, at: number, value: number): void {
    const start = at - (at % RESOLUTION_MS);
    let second = seconds[seconds.length - 1];
    if (second?.start !== start) {
      // Samples come in time order but for the odd late EMF line: look back for its second, else insert it.
      let index = seconds.length;
      while (index > 0 && seconds[index - 1]!.start > start) index -= 1;
      second = seconds[index - 1];
      if (second?.start !== start) {
        // A sample older than the retention is dropped, as expiry would drop it at once.
        if (start < this.now() - this.retentionMs) return;
        second = { start, count: 0, sum: 0, min: value, max: value, ...(keepsValues ? { values: [] } : {}) };
        seconds.splice(index, 0, second);
        this.expire(seconds);
      }
    }
    second.count += 1;
    second.sum += value;
    if (value < second.min) second.min = value;
    if (value > second.max) second.max = value;
    second.values?.push(value);
  }

  private expire(seconds: Second[]): void {
    const oldest = this.now() - this.retentionMs;
    let expired = 0;
    while (expired < seconds.length && seconds[expired]!.start < oldest) expired += 1;
    if (expired > 0) seconds.splice(0, expired);
  }

  /**
   * The statistic over the seconds that start in [from, to), or undefined when there are no samples, or for
   * a percentile of a metric whose values are not kept.
   */
  statistic(id: MetricId, stat: string, from: number, to: number): number | undefined {
    const seconds = (this.series.get(keyOf(id))?.seconds ?? []).filter((s) => s.start >= from && s.start < to);
    if (seconds.length === 0) return undefined;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const second of seconds) {
      count += second.count;
      sum += second.sum;
      min = Math.min(min, second.min);
      max = Math.max(max, second.max);
    }
    switch (stat) {
      case "Sum":
        return sum;
      case "SampleCount":
        return count;
      case "Average":
        return sum / count;
      case "Minimum":
        return min;
      case "Maximum":
        return max;
    }
    if (!isPercentile(stat) || seconds.some((second) => !second.values)) return undefined;
    return statisticOf(seconds.flatMap((second) => second.values!), stat);
  }
}

/**
 * The series' key: namespace, name and the dimensions sorted by name, joined with control characters no
 * name or value of CloudWatch's carries. Built by hand rather than with JSON.stringify of sorted entries: it
 * runs on the main thread for every datapoint of every EMF line, several per chat message, so it is part of
 * the runtime's CPU per message (bench/results.md, figure 10).
 */
function keyOf(id: MetricId): string {
  const names = Object.keys(id.dimensions);
  if (names.length > 1) names.sort();
  let key = `${id.namespace}\u0000${id.name}`;
  for (const name of names) key += `\u0000${name}\u0001${id.dimensions[name]}`;
  return key;
}

/** pNN: the statistics that need a metric's values, not just its statistic set. */
const PERCENTILE = /^p(\d{1,2}(?:\.\d+)?|100)$/;

export function isPercentile(stat: string): boolean {
  return PERCENTILE.test(stat);
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
  const percentile = PERCENTILE.exec(stat);
  if (!percentile) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Number(percentile[1]) / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Whether the local runtime knows how to compute a statistic (alarms with others are not evaluated). */
export function isKnownStatistic(stat: string): boolean {
  return statisticOf([1], stat) !== undefined;
}
