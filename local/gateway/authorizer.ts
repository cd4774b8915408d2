/**
 * A WebSocket API's Lambda REQUEST authorizer as API Gateway runs it on $connect, before the route's
 * integration (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html):
 * - An identity source that is missing or empty: 401, and the function is not invoked.
 * - The function gets `{ type: "REQUEST", methodArn, headers, multiValueHeaders, queryStringParameters,
 *   multiValueQueryStringParameters, stageVariables, requestContext }` (the $connect request's fields).
 * - Its answer `{ principalId, policyDocument, context }` is evaluated for `execute-api:Invoke` on the
 *   methodArn: allowed lets the connection through, with `principalId` and the flat `context` in
 *   `requestContext.authorizer` of every event of the connection; an explicit or implicit deny is 403.
 * - A function that fails with the error "Unauthorized" gets 401, any other failure (an error, a
 *   timeout, an answer that is not a valid authorizer response) 500: the AWS documentation's example
 *   authorizers say so (`callback("Unauthorized")` "Return a 401 Unauthorized response", any other error
 *   "Return a 500"), https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
 * The token (or any identity source) is never logged.
 */
import type { FunctionRunner } from "../functions/function-runner";
import { evaluate, parsePolicy, type Policy } from "../iam/policy";
import type { AuthorizerModel, IdentitySource } from "../terraform/stack-model-types";
import { MAX_INTEGRATION_TIMEOUT_MS } from "../terraform/stack-model";
import type { GatewayEvent } from "./events";
import { invokeWithin } from "./integration";

/** The flat values API Gateway accepts in an authorizer's `context`. */
export type AuthorizerContext = Readonly<Record<string, string | number | boolean>>;

export type AuthorizerDecision =
  | { readonly allowed: true; readonly principalId: string; readonly context: AuthorizerContext; readonly durationMs: number }
  | {
      readonly allowed: false;
      readonly status: 401 | 403 | 500;
      /** The body's message, as API Gateway words it. */
      readonly message: string;
      /** Why, for the runtime's log. */
      readonly detail: string;
      readonly durationMs: number;
    };

/** Runs the authorizer for a $connect request; `connectEvent` is the event the $connect integration will get. */
export async function authorizeConnect(authorizer: AuthorizerModel, runner: () => FunctionRunner, connectEvent: GatewayEvent): Promise<AuthorizerDecision> {
  const startedAt = Date.now();
  const refuse = (status: 401 | 403 | 500, detail: string): AuthorizerDecision => ({
    allowed: false,
    status,
    message: status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : "Internal server error",
    detail,
    durationMs: Date.now() - startedAt,
  });

  const missing = authorizer.identitySources.find((source) => !identityValue(source, connectEvent));
  if (missing) return refuse(401, `identity source ${missing.expression} is missing or empty, so the authorizer was not invoked`);
  if (authorizer.invokeDenied) return refuse(500, `Invalid permissions on Lambda function: ${authorizer.invokeDenied}`);

  const { isBase64Encoded: _notInAuthorizerEvents, body: _none, ...request } = connectEvent;
  const event = { type: "REQUEST", methodArn: authorizer.methodArn, ...request };
  const { invocation } = await invokeWithin(runner(), event, MAX_INTEGRATION_TIMEOUT_MS);
  if (invocation === "timeout") return refuse(500, `the authorizer did not answer within ${MAX_INTEGRATION_TIMEOUT_MS} ms`);
  if (!invocation.ok) {
    return invocation.errorMessage === "Unauthorized"
      ? refuse(401, 'the authorizer failed with "Unauthorized"')
      : refuse(500, `the authorizer failed: ${invocation.errorType}: ${invocation.errorMessage}`);
  }

  const response = authorizerResponse(invocation.result);
  if (typeof response === "string") return refuse(500, `invalid authorizer response: ${response}`);
  const decision = evaluate([response.policy], { action: "execute-api:Invoke", resource: authorizer.methodArn });
  if (!decision.allowed) {
    return refuse(403, decision.reason === "explicit-deny" ? "the authorizer's policy denies it explicitly" : "the authorizer's policy does not allow it");
  }
  return { allowed: true, principalId: response.principalId, context: response.context, durationMs: Date.now() - startedAt };
}

/** What `requestContext.authorizer` holds in every event of an authorized connection. */
export function requestAuthorizer(decision: Extract<AuthorizerDecision, { allowed: true }>): AuthorizerContext {
  return { ...decision.context, principalId: decision.principalId };
}

/** The value of an identity source in the $connect request: headers match case-insensitively, as HTTP's do. */
function identityValue(source: IdentitySource, event: GatewayEvent): string | undefined {
  const pick = (values: unknown, caseInsensitive: boolean): string | undefined => {
    if (values === null || typeof values !== "object") return undefined;
    const entry = Object.entries(values as Record<string, unknown>).find(([key]) => (caseInsensitive ? key.toLowerCase() === source.name.toLowerCase() : key === source.name));
    return typeof entry?.[1] === "string" && entry[1] !== "" ? entry[1] : undefined;
  };
  switch (source.from) {
    case "header":
      return pick(event.headers, true);
    case "querystring":
      return pick(event.queryStringParameters, false);
    case "stageVariable":
      return pick(event.stageVariables, false);
  }
}

/** A valid authorizer response, or why it is not one (API Gateway then answers 500). */
function authorizerResponse(result: unknown): { principalId: string; policy: Policy; context: AuthorizerContext } | string {
  if (result === null || typeof result !== "object" || Array.isArray(result)) return `expected an object, got ${JSON.stringify(result)?.slice(0, 100)}`;
  const { principalId, policyDocument, context } = result as Record<string, unknown>;
  if (typeof principalId !== "string" || principalId === "") return "principalId must be a non-empty string";
  let policy: Policy;
  try {
    policy = parsePolicy(policyDocument, "the authorizer's policyDocument");
  } catch (error) {
    return (error as Error).message;
  }
  if (context === undefined || context === null) return { principalId, policy, context: {} };
  if (typeof context !== "object" || Array.isArray(context)) return "context must be an object";
  for (const [key, value] of Object.entries(context)) {
    if (!["string", "number", "boolean"].includes(typeof value)) return `context.${key} must be a string, number or boolean: API Gateway takes no nested values`;
  }
  return { principalId, policy, context: context as AuthorizerContext };
}
