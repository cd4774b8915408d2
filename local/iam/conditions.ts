/**
 * The Condition operators the stack's policies use, evaluated against what a request says about itself
 * (its condition keys), so a grant held to some partitions by `dynamodb:LeadingKeys` works locally and a
 * call outside them is refused, as on AWS.
 *
 * A request context lists the keys the local runtime knows for that request: a value list, or null when
 * the request has none (a Scan has no leading key). A key the context does not list cannot be evaluated,
 * and neither can an operator not below: the caller then fails closed, as policy.ts describes.
 *
 * Semantics (IAM User Guide, "Condition operators" and "Multivalued context keys"):
 * - StringEquals / StringLike: some value of the key matches some value of the condition; false when the
 *   key is absent. StringLike's `*` and `?` are wildcards.
 * - ForAllValues:<op>: every value of the key matches some condition value; TRUE when the key is absent
 *   (hence the Null guard beside it).
 * - ForAnyValue:<op>: some value matches; false when absent.
 * - Null: "true" holds when the key is absent, "false" when present.
 * Keys compare case-insensitively; several keys or operators in one block must all hold.
 */

/** Condition keys (lower case) known for one request; null = known to be absent from it. */
export type RequestContext = Readonly<Record<string, readonly string[] | null>>;

type Matcher = (value: string, pattern: string) => boolean;

const MATCHERS: Readonly<Record<string, Matcher>> = {
  stringequals: (value, pattern) => value === pattern,
  stringlike: (value, pattern) => wildcard(pattern).test(value),
};

/** true / false when every part could be evaluated, undefined when some part cannot be. */
export function evaluateConditions(condition: Readonly<Record<string, unknown>>, context: RequestContext | undefined): boolean | undefined {
  if (!context) return undefined;
  let holds = true;
  for (const [operator, block] of Object.entries(condition)) {
    if (typeof block !== "object" || block === null) return undefined;
    for (const [rawKey, rawValues] of Object.entries(block as Record<string, unknown>)) {
      const key = rawKey.toLowerCase();
      if (!(key in context)) return undefined;
      const values = context[key] ?? null;
      const wanted = (Array.isArray(rawValues) ? rawValues : [rawValues]).map(String);
      const result = evaluateOne(operator, values, wanted);
      if (result === undefined) return undefined;
      holds &&= result;
    }
  }
  return holds;
}

function evaluateOne(operator: string, values: readonly string[] | null, wanted: readonly string[]): boolean | undefined {
  const lower = operator.toLowerCase();
  if (lower === "null") {
    if (wanted.length !== 1 || (wanted[0] !== "true" && wanted[0] !== "false")) return undefined;
    return (values === null) === (wanted[0] === "true");
  }
  const [qualifier, name] = lower.includes(":") ? (lower.split(":", 2) as [string, string]) : [undefined, lower];
  const match = MATCHERS[name];
  if (!match) return undefined;
  const matches = (value: string) => wanted.some((pattern) => match(value, pattern));
  switch (qualifier) {
    case "forallvalues":
      return values === null || values.every(matches);
    case "foranyvalue":
    case undefined:
      return values !== null && values.some(matches);
    default:
      return undefined;
  }
}

const compiled = new Map<string, RegExp>();

function wildcard(pattern: string): RegExp {
  let regex = compiled.get(pattern);
  if (!regex) {
    const body = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? ".*" : c === "?" ? "." : `\\${c}`));
    regex = new RegExp(`^${body}$`, "s");
    compiled.set(pattern, regex);
  }
  return regex;
}
