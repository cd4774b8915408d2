import type { Summary } from "./stats";

/** `2.41 s (2.30–2.62)`: the median, then the range over the runs. */
export function range(summary: Summary, unit: (value: number) => string): string {
  if (summary.n === 1) return unit(summary.median);
  return `${unit(summary.median)} (${unit(summary.min)}–${unit(summary.max)})`;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value < 1) return `${Math.round(value * 1000)} µs`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export function bytes(value: number): string {
  if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MB`;
  if (value >= 1024) return `${(value / 1024).toFixed(1)} KB`;
  return `${value} B`;
}

export function count(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** Rounded down, so anything short of everything never shows as 100%. */
export function percent(value: number): string {
  const tenths = Math.floor(value * 1000 + 1e-9) / 10;
  return `${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)}%`;
}

export function ratio(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function runs(n: number): string {
  return `${n} run${n === 1 ? "" : "s"}`;
}
