import { Construct } from "constructs";
import { join } from "node:path";
import { Apigatewayv2Authorizer } from "@cdktf/provider-aws/lib/apigatewayv2-authorizer";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import {
  ENV_ADMIN_GROUP,
  ENV_JWT_AUDIENCE,
  ENV_JWT_GROUPS_CLAIM,
  ENV_JWT_ISSUER,
  ENV_JWT_JWKS_URL,
  ENV_JWT_NAME_CLAIM,
  ENV_TABLE_NAME,
} from "../handlers/lib/env/contract";
import { TOKEN_QUERY_PARAMETER } from "../handlers/lib/auth/authorizer-handler";
import { BundledFunction, type FunctionSettings } from "./bundled-function";
import { leadingKeys } from "./policy";
import type { WebsocketApi } from "./websocket-api";

/** The authorizer's entry file, for callers that bundle every handler of a stack in one run. */
export const AUTHORIZER_ENTRY = join(__dirname, "..", "handlers", "authorizer.ts");

/** The claim most OIDC issuers put the user's display name in; config.ts reads it for CHAT_JWT_NAME_CLAIM. */
export const DEFAULT_NAME_CLAIM = "name";
/** The claim many issuers list groups in (Okta, Keycloak with its mapper); Cognito's is `cognito:groups`. */
export const DEFAULT_GROUPS_CLAIM = "groups";
/** Members of this group are admins (docs/authentication.md). */
export const DEFAULT_ADMIN_GROUP = "chat-admins";

export interface WebsocketAuthorizerProps {
  /** The API whose $connect route the authorizer guards. */
  readonly api: WebsocketApi;
  /** Name of the authorizer and of its function (and so of the function's role and log group). */
  readonly name: string;
  /** The stack's region (in the function's role name, see BundledFunction). */
  readonly region: string;
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must carry. */
  readonly audience: string;
  /** Where the issuer publishes its signing keys. */
  readonly jwksUrl: string;
  /** The claim holding the user's display name. @default DEFAULT_NAME_CLAIM */
  readonly nameClaim?: string;
  /** The claim listing the user's groups. @default DEFAULT_GROUPS_CLAIM */
  readonly groupsClaim?: string;
  /** The group whose members are admins. @default DEFAULT_ADMIN_GROUP */
  readonly adminGroup?: string;
  /** The table holding account bans (`ban#<userId>`), which the function reads on every handshake. */
  readonly bans: { readonly tableName: string; readonly tableArn: string };
  /** How the function runs and logs, as every function of the stack. @default FUNCTION_DEFAULTS */
  readonly functionSettings?: FunctionSettings;
  /** Where its denials are counted (handlers/lib/env/contract.ts). @default none: nothing is published */
  readonly metricsEnvironment?: Readonly<Record<string, string>>;
}

/**
 * A Lambda REQUEST authorizer for a WebSocket API's $connect route that verifies an OIDC JWT passed as
 * `?token=` (browsers cannot set headers on a WebSocket): the function, with its own role that may do
 * nothing but write its own logs and read account bans, the `aws_apigatewayv2_authorizer`, and the
 * permission for API Gateway to invoke the function as this authorizer only.
 *
 * A handshake without the token is refused with 401 by API Gateway before the function runs; the
 * function answers a Deny (403) for a token that does not verify, or for a banned user.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
 */
export class WebsocketAuthorizer extends Construct {
  public readonly authorizer: Apigatewayv2Authorizer;
  public readonly function: BundledFunction;
  /** API Gateway's leave to invoke the function as this authorizer; the route using it waits for it. */
  public readonly permission: LambdaPermission;

  constructor(scope: Construct, id: string, props: WebsocketAuthorizerProps) {
    super(scope, id);
    this.function = new BundledFunction(this, "function", {
      functionName: props.name,
      region: props.region,
      entry: AUTHORIZER_ENTRY,
      ...props.functionSettings,
      environment: {
        ...props.metricsEnvironment,
        [ENV_JWT_ISSUER]: props.issuer,
        [ENV_JWT_AUDIENCE]: props.audience,
        [ENV_JWT_JWKS_URL]: props.jwksUrl,
        [ENV_JWT_NAME_CLAIM]: props.nameClaim ?? DEFAULT_NAME_CLAIM,
        [ENV_JWT_GROUPS_CLAIM]: props.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
        [ENV_ADMIN_GROUP]: props.adminGroup ?? DEFAULT_ADMIN_GROUP,
        [ENV_TABLE_NAME]: props.bans.tableName,
      },
      // It fetches the issuer's public keys over HTTPS and checks signatures itself; its one AWS call is the
      // GetItem of the user's ban item, held to ban# partitions.
      statements: [{ actions: ["dynamodb:GetItem"], resources: [props.bans.tableArn], conditions: leadingKeys(["ban#*"]) }],
    });

    this.authorizer = new Apigatewayv2Authorizer(this, "authorizer", {
      apiId: props.api.api.id,
      name: props.name,
      authorizerType: "REQUEST",
      authorizerUri: this.function.function.invokeArn,
      // WebSocket authorizers are not cached (authorizer_result_ttl_in_seconds is for HTTP APIs only), so
      // every handshake is verified.
      identitySources: [`route.request.querystring.${TOKEN_QUERY_PARAMETER}`],
    });

    this.permission = new LambdaPermission(this, "permission", {
      statementId: "AllowInvokeAsAuthorizer",
      action: "lambda:InvokeFunction",
      functionName: this.function.function.functionName,
      principal: "apigateway.amazonaws.com",
      // Only as this authorizer of this API.
      sourceArn: `${props.api.api.executionArn}/authorizers/${this.authorizer.id}`,
    });
  }
}
