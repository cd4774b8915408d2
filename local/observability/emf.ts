/**
 * Reads CloudWatch Embedded Metric Format documents, as CloudWatch Logs does with the lines a function
 * prints: `_aws.CloudWatchMetrics` names a namespace, dimension sets and metrics, and the values live at the
 * top level of the same document (a number, or an array of numbers for several samples).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * A line that is not such a document yields nothing; a metric whose value is not a number is skipped, and
 * so is a dimension set naming a dimension the document has no string for, as CloudWatch rejects both.
 */

/** Samples of one metric with one set of dimensions, at one time. */
export interface Datapoint {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly unit?: string;
  readonly values: readonly number[];
  /** Epoch milliseconds. */
  readonly timestamp: number;
}

interface Directive {
  readonly Namespace?: unknown;
  readonly Dimensions?: unknown;
  readonly Metrics?: unknown;
}

/** The datapoints of one log line, or undefined when the line is not an EMF document. */
export function parseEmf(line: string): Datapoint[] | undefined {
  if (!line.startsWith("{") || !line.includes('"_aws"')) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const aws = doc._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (!aws || typeof aws.Timestamp !== "number" || !Array.isArray(aws.CloudWatchMetrics)) return undefined;
  const points: Datapoint[] = [];
  for (const directive of aws.CloudWatchMetrics as Directive[]) {
    if (typeof directive?.Namespace !== "string" || !Array.isArray(directive.Metrics)) continue;
    const sets = Array.isArray(directive.Dimensions) && directive.Dimensions.length > 0 ? (directive.Dimensions as unknown[]) : [[]];
    for (const set of sets) {
      if (!Array.isArray(set) || !set.every((key) => typeof key === "string" && typeof doc[key] === "string")) continue;
      const dimensions = Object.fromEntries((set as string[]).map((key) => [key, doc[key] as string]));
      for (const metric of directive.Metrics as Array<{ Name?: unknown; Unit?: unknown }>) {
        if (typeof metric?.Name !== "string") continue;
        const raw = doc[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((value): value is number => typeof value === "number" && Number.isFinite(value));
        if (values.length === 0) continue;
        points.push({
          namespace: directive.Namespace,
          name: metric.Name,
          dimensions,
          ...(typeof metric.Unit === "string" ? { unit: metric.Unit } : {}),
          values,
          timestamp: aws.Timestamp,
        });
      }
    }
  }
  return points;
}
