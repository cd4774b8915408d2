/**
 * API Gateway's route selection for WebSocket APIs: evaluate the API's route_selection_expression on the
 * frame's JSON body and pick the route with that key; anything else (a frame that is not JSON, no value at
 * the path, no route with that key) goes to `$default`.
 *
 * Expressions: `$request.body.<path>` (e.g. `$request.body.action`, `$request.body.message.type`) and
 * templates of them (`${request.body.service}/${request.body.action}`).
 */

export const DEFAULT_ROUTE = "$default";

/** Routes API Gateway invokes on its own; a frame cannot select them. */
const SPECIAL_ROUTES = new Set(["$connect", "$disconnect", "$default"]);

export type RouteSelector = (body: string | undefined) => string;

/** Compiles an expression once; throws for one API Gateway would reject, naming it. */
export function routeSelector(expression: string, routeKeys: Iterable<string>): RouteSelector {
  const keys = new Set([...routeKeys].filter((key) => !SPECIAL_ROUTES.has(key)));
  const evaluate = compile(expression);
  return (body) => {
    if (body === undefined) return DEFAULT_ROUTE;
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return DEFAULT_ROUTE;
    }
    const key = evaluate(json);
    return key !== undefined && keys.has(key) ? key : DEFAULT_ROUTE;
  };
}

const BODY_PATH = /^\$request\.body((?:\.[^.${}\s]+)+)$/;
const TEMPLATE_PART = /\$\{request\.body((?:\.[^.${}\s]+)+)\}/g;

function compile(expression: string): (json: unknown) => string | undefined {
  const plain = BODY_PATH.exec(expression);
  if (plain) {
    const path = plain[1]!.slice(1).split(".");
    return (json) => valueAt(json, path);
  }
  const parts = [...expression.matchAll(TEMPLATE_PART)];
  if (parts.length === 0) {
    throw new Error(
      `route_selection_expression ${JSON.stringify(expression)} is not supported locally: use $request.body.<path> or a template of \${request.body.<path>}`,
    );
  }
  return (json) => {
    let failed = false;
    const key = expression.replace(TEMPLATE_PART, (_match, path: string) => {
      const value = valueAt(json, path.slice(1).split("."));
      if (value === undefined) failed = true;
      return value ?? "";
    });
    return failed ? undefined : key;
  };
}

/** The value at a JSON path as the text API Gateway compares with route keys; undefined when absent. */
function valueAt(json: unknown, path: readonly string[]): string | undefined {
  let current = json;
  for (const step of path) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  if (typeof current === "string") return current;
  if (typeof current === "number" || typeof current === "boolean") return String(current);
  return undefined;
}
