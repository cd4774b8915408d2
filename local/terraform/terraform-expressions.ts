/**
 * The parts of Terraform's expression syntax the local runtime evaluates: string templates with `${...}`
 * interpolations, plain traversals (`aws_x.y.attr[0]["key"]`), and `replace(<reference>, "a", "b")`.
 * Anything else parses to undefined, for the document to refuse with the expression named.
 */

export type TemplatePart = { readonly literal: string } | { readonly expression: string };

/** Splits a Terraform string template into literals and `${...}` interpolations; `$${` and `%%{` escape. */
export function parseTemplate(text: string, fail: (expression: string, reason: string) => never): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i) || text.startsWith("%%{", i)) {
      literal += text.slice(i + 1, i + 3);
      i += 3;
    } else if (text.startsWith("${", i) || text.startsWith("%{", i)) {
      const end = closingBrace(text, i + 2);
      const whole = text.slice(i, end < 0 ? text.length : end + 1);
      if (end < 0) fail(whole, "the interpolation is not terminated");
      if (text[i] === "%") fail(whole, "template directives (%{...}) are not supported locally");
      if (literal) parts.push({ literal });
      literal = "";
      parts.push({ expression: text.slice(i + 2, end) });
      i = end + 1;
    } else {
      literal += text[i];
      i += 1;
    }
  }
  if (literal || parts.length === 0) parts.push({ literal });
  return parts;
}

/** Index of the `}` closing an interpolation opened before `start`, skipping nested braces and strings. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let quote = false;
  for (let i = start; i < text.length; i += 1) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i += 1;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === "{") depth += 1;
    else if (c === "}") {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  return -1;
}

/** A traversal such as `aws_x.y.attr[0]["key"].sub`: a root name followed by attribute and index steps. */
export type Step = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*/;

/** Parses a plain traversal; undefined for anything else (function calls, operators, splats, ...). */
export function parseTraversal(expression: string): Step[] | undefined {
  let rest = expression.trim().replace(/^~\s*|\s*~$/g, "");
  const root = IDENTIFIER.exec(rest);
  if (!root) return undefined;
  const steps: Step[] = [root[0]];
  rest = rest.slice(root[0].length);
  while (rest.length > 0) {
    let match: RegExpExecArray | null;
    if ((match = /^\.([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest))) steps.push(match[1]!);
    else if ((match = /^\[\s*(\d+)\s*\]/.exec(rest))) steps.push(Number(match[1]));
    else if ((match = /^\[\s*"((?:[^"\\]|\\.)*)"\s*\]/.exec(rest))) steps.push(JSON.parse(`"${match[1]}"`) as string);
    else return undefined;
    rest = rest.slice(match[0].length);
  }
  return steps;
}

/** `replace(<reference>, "<search>", "<replacement>")`: the one function the stacks use in values the runtime reads. */
export interface ReplaceCall {
  readonly target: string;
  readonly search: string;
  readonly replacement: string;
}

const STRING_LITERAL = String.raw`"(?:[^"\\]|\\.)*"`;
const REPLACE_CALL = new RegExp(String.raw`^\s*replace\(\s*([^,()"]+?)\s*,\s*(${STRING_LITERAL})\s*,\s*(${STRING_LITERAL})\s*\)\s*$`, "s");

export function parseReplaceCall(expression: string): ReplaceCall | undefined {
  const match = REPLACE_CALL.exec(expression);
  if (!match) return undefined;
  return { target: match[1]!, search: JSON.parse(match[2]!) as string, replacement: JSON.parse(match[3]!) as string };
}
