/**
 * The `aws_apigatewayv2_authorizer` of a route, read from the synthesized JSON: which function runs it,
 * what it reads from the handshake, and whether API Gateway may invoke the function as this authorizer.
 * WebSocket APIs have Lambda REQUEST authorizers only, on `$connect` only.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
 */
import { StackModelError } from "./stack-errors";
import type { AuthorizerModel, IdentitySource } from "./stack-model-types";
import type { TerraformBlock, TerraformDocument } from "./terraform-document";

export interface AuthorizerLookups {
  /** The aws_lambda_function an ARN or invoke ARN names. */
  readonly functionByUri: (uri: unknown) => TerraformBlock | undefined;
  /** Whether the function's aws_lambda_permissions let API Gateway invoke it from `sourceArn`. */
  readonly mayInvoke: (fn: TerraformBlock, sourceArn: string) => boolean;
}

export interface RouteAuthorization {
  readonly api: { readonly address: string; readonly id: string };
  readonly stage: string;
  readonly routeKey: string;
  /** The route's address and key, for errors. */
  readonly where: string;
  readonly authorizerId: unknown;
}

const IDENTITY_SOURCE = /^(?:route\.request\.(header|querystring)|(stageVariables))\.(.+)$/;

/** The model of a route's CUSTOM authorizer and the function behind it; stops at anything API Gateway would not run. */
export function authorizerModel(doc: TerraformDocument, route: RouteAuthorization, lookups: AuthorizerLookups): { model: AuthorizerModel; fn: TerraformBlock } {
  const fail = (message: string): never => {
    throw new StackModelError(`${route.where}: ${message}`);
  };
  if (route.routeKey !== "$connect") fail('authorization_type CUSTOM: API Gateway runs WebSocket authorizers on the "$connect" route only');
  const block = doc
    .resources("aws_apigatewayv2_authorizer")
    .find((a) => doc.argument(a.address, "api_id") === route.api.id && doc.attribute(a.address, "id") === route.authorizerId);
  if (!block) return fail(`authorizer_id ${JSON.stringify(route.authorizerId)} is not an aws_apigatewayv2_authorizer of ${route.api.address} in this stack`);
  const arg = (name: string) => doc.argument(block.address, name);
  const where = `${block.address} (authorizer ${String(arg("name"))})`;
  const type = arg("authorizer_type");
  if (type !== "REQUEST") fail(`${where}: authorizer_type ${String(type)} is not supported locally (WebSocket APIs have REQUEST authorizers only)`);
  if (arg("authorizer_credentials_arn") !== undefined) fail(`${where}: authorizer_credentials_arn is not supported locally; grant the invoke with an aws_lambda_permission`);

  const sources = arg("identity_sources");
  const identitySources = (Array.isArray(sources) ? sources : []).map((expression): IdentitySource => {
    const match = IDENTITY_SOURCE.exec(String(expression));
    if (!match) {
      return fail(`${where}: identity source ${JSON.stringify(expression)} is not supported locally (route.request.header.<name>, route.request.querystring.<name> or stageVariables.<name>)`);
    }
    const from = match[2] ? "stageVariable" : (match[1] as "header" | "querystring");
    return { expression: String(expression), from, name: match[3]! };
  });

  const fn = lookups.functionByUri(arg("authorizer_uri"));
  if (!fn) return fail(`${where}: authorizer_uri ${JSON.stringify(arg("authorizer_uri"))} is not a Lambda function of this stack`);
  const functionName = String(doc.argument(fn.address, "function_name"));
  const id = String(doc.attribute(block.address, "id"));
  const region = doc.region(route.api.address);
  // API Gateway invokes an authorizer's function from the authorizer's ARN, not from the route's.
  const sourceArn = `arn:aws:execute-api:${region}:${doc.account}:${route.api.id}/authorizers/${id}`;
  const ttl = arg("authorizer_result_ttl_in_seconds");
  return {
    fn,
    model: {
      address: block.address,
      id,
      name: String(arg("name")),
      identitySources,
      functionName,
      methodArn: `arn:aws:execute-api:${region}:${doc.account}:${route.api.id}/${route.stage}/$connect`,
      ...(ttl === undefined ? {} : { resultTtlSeconds: Number(ttl) }),
      ...(lookups.mayInvoke(fn, sourceArn) ? {} : { invokeDenied: `no aws_lambda_permission lets apigateway.amazonaws.com invoke ${functionName} from ${sourceArn}` }),
    },
  };
}
