/** One line of a figure's table: a measure of ours beside the same measure of the baseline. */
export interface Row {
  readonly measure: string;
  readonly ours: string;
  readonly baseline: string;
  /** The budget in words; rows without one are for information. */
  readonly budget?: string;
  readonly pass?: boolean;
  /** Shown beside the verdict, e.g. the ratio a budget is about. */
  readonly detail?: string;
}

export interface FigureResult {
  readonly title: string;
  /** Column headings naming what is compared, e.g. "deep imports" vs "root import". */
  readonly oursLabel: string;
  readonly baselineLabel: string;
  readonly rows: readonly Row[];
  /** How it was measured and what the numbers say, in a sentence or two each. */
  readonly notes: readonly string[];
}

export function missedBudgets(figures: readonly FigureResult[]): string[] {
  return figures.flatMap((figure) => figure.rows.filter((row) => row.pass === false).map((row) => `${figure.title}: ${row.measure}`));
}

/** Markdown: readable as plain text on stdout and rendered in bench/results.md. */
export function renderFigure(figure: FigureResult): string {
  const header = ["Measure", figure.oursLabel, figure.baselineLabel, "Budget", "Result"];
  const lines = [
    `### ${figure.title}`,
    "",
    tableLine(header),
    tableLine(header.map(() => "---")),
    ...figure.rows.map((row) =>
      tableLine([row.measure, row.ours, row.baseline, row.budget ?? "", verdict(row)]),
    ),
  ];
  if (figure.notes.length > 0) lines.push("", ...figure.notes.map((note) => `- ${note}`));
  return lines.join("\n");
}

function verdict(row: Row): string {
  const result = row.pass === undefined ? "" : row.pass ? "pass" : "**MISS**";
  return [result, row.detail].filter(Boolean).join(" · ");
}

function tableLine(cells: readonly string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
}
