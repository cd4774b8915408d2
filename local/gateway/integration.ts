/**
 * An AWS_PROXY integration as API Gateway runs it: invoke the route's function, stop waiting at the
 * integration timeout, and read the function's result as a proxy response (statusCode, headers, body).
 */
import type { FunctionRunner, Invocation } from "../functions/function-runner";
import type { RouteModel } from "../terraform/stack-model-types";

export type IntegrationResult =
  | {
      readonly kind: "response";
      readonly statusCode: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body?: string;
      readonly isBase64Encoded: boolean;
      readonly durationMs: number;
    }
  | {
      /** The function failed, timed out, or returned something that is not a proxy response. */
      readonly kind: "error";
      readonly detail: string;
      readonly durationMs: number;
    }
  | {
      /** The integration timeout passed first; the function may still be running. */
      readonly kind: "timeout";
      readonly detail: string;
      readonly durationMs: number;
    };

/** API Gateway's messages for integration failures, as sent to WebSocket clients. */
export const INTERNAL_SERVER_ERROR = "Internal server error";
export const ENDPOINT_TIMED_OUT = "Endpoint request timed out";

export async function invokeIntegration(route: RouteModel, runner: FunctionRunner, event: unknown): Promise<IntegrationResult> {
  if (route.invokeDenied) return { kind: "error", detail: `Invalid permissions on Lambda function: ${route.invokeDenied}`, durationMs: 0 };
  const { invocation, startedAt } = await invokeWithin(runner, event, route.integrationTimeoutMs);
  const durationMs = Date.now() - startedAt;
  if (invocation === "timeout") return { kind: "timeout", detail: `integration timeout of ${route.integrationTimeoutMs} ms`, durationMs };
  if (!invocation.ok) return { kind: "error", detail: `${invocation.errorType}: ${invocation.errorMessage}`, durationMs };
  return proxyResponse(invocation.result, durationMs);
}

/**
 * Invokes the function and stops waiting `timeoutMs` after it starts. The clock starts when the function
 * does, not when it is asked: an invocation waiting for one of the runtime's few environments is one that
 * AWS would have started at once in an environment of its own, so a burst of connections on a laptop is
 * slow, not refused. `startedAt` is that start, for the latency API Gateway reports.
 */
export async function invokeWithin(
  runner: FunctionRunner,
  event: unknown,
  timeoutMs: number,
): Promise<{ readonly invocation: Invocation | "timeout"; readonly startedAt: number }> {
  let startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let expire: (value: "timeout") => void = () => undefined;
  const timeout = new Promise<"timeout">((resolve) => (expire = resolve));
  const started = (): void => {
    startedAt = Date.now();
    timer = setTimeout(() => expire("timeout"), timeoutMs);
  };
  try {
    return { invocation: await Promise.race([runner.invoke(event, started), timeout]), startedAt };
  } finally {
    clearTimeout(timer);
  }
}

/** A Lambda proxy response: an object with a numeric statusCode; anything else is a malformed response. */
function proxyResponse(result: unknown, durationMs: number): IntegrationResult {
  const malformed = (why: string): IntegrationResult => ({ kind: "error", detail: `malformed Lambda proxy response: ${why}`, durationMs });
  if (result === null || typeof result !== "object" || Array.isArray(result)) {
    return malformed(`expected an object with a statusCode, got ${JSON.stringify(result)?.slice(0, 100)}`);
  }
  const response = result as Record<string, unknown>;
  const statusCode = typeof response.statusCode === "string" ? Number(response.statusCode) : response.statusCode;
  if (typeof statusCode !== "number" || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    return malformed(`statusCode ${JSON.stringify(response.statusCode)} is not an HTTP status`);
  }
  if (response.body !== undefined && response.body !== null && typeof response.body !== "string") {
    return malformed("body must be a string");
  }
  const headers: Record<string, string> = {};
  if (response.headers !== null && typeof response.headers === "object") {
    for (const [name, value] of Object.entries(response.headers as Record<string, unknown>)) headers[name] = String(value);
  }
  return {
    kind: "response",
    statusCode,
    headers,
    ...(typeof response.body === "string" ? { body: response.body } : {}),
    isBase64Encoded: response.isBase64Encoded === true,
    durationMs,
  };
}
