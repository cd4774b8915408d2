import { Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { Apigatewayv2Api } from "@cdktf/provider-aws/lib/apigatewayv2-api";
import { Apigatewayv2Integration } from "@cdktf/provider-aws/lib/apigatewayv2-integration";
import { Apigatewayv2Route } from "@cdktf/provider-aws/lib/apigatewayv2-route";
import { Apigatewayv2RouteResponse } from "@cdktf/provider-aws/lib/apigatewayv2-route-response";
import { Apigatewayv2Stage } from "@cdktf/provider-aws/lib/apigatewayv2-stage";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { FUNCTION_DEFAULTS } from "./bundled-function";

/** What a route needs of its $connect authorizer (a WebsocketAuthorizer is one). */
export interface RouteAuthorizer {
  /** The `aws_apigatewayv2_authorizer`, by its id. */
  readonly authorizer: { readonly id: string };
  /** API Gateway's leave to invoke the authorizer's function: the route is created after it. */
  readonly permission: ITerraformDependable;
}

/** API Gateway stops waiting for an integration after 29 seconds, so a longer Lambda timeout buys nothing. */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 29;

/** The stage and its default route throttling where props say nothing; config.ts reads these. */
export const API_DEFAULTS = {
  stageName: "prod",
  throttlingBurstLimit: 500,
  throttlingRateLimit: 1000,
} as const;

export interface WebsocketRoute {
  /** Route key: `$connect`, `$disconnect`, `$default` or a value of the frame's `action`. */
  readonly routeKey: string;
  /** The function that handles the route through an AWS_PROXY integration. */
  readonly handler: LambdaFunction;
  /** Send the handler's `body` back to the caller (a route response). @default false */
  readonly replies?: boolean;
  /** The handler's timeout in seconds; the integration waits as long, up to API Gateway's 29 s. @default 29 */
  readonly timeoutSeconds?: number;
  /** Who may connect; WebSocket APIs run an authorizer on `$connect` only. @default none: anyone */
  readonly authorizer?: RouteAuthorizer;
}

export interface WebsocketApiProps {
  readonly name: string;
  /** @default API_DEFAULTS.stageName */
  readonly stageName?: string;
  /** Default route throttling: burst. @default API_DEFAULTS.throttlingBurstLimit */
  readonly throttlingBurstLimit?: number;
  /** Default route throttling: requests per second. @default API_DEFAULTS.throttlingRateLimit */
  readonly throttlingRateLimit?: number;
  /** Retention of the access and execution log groups in days. @default FUNCTION_DEFAULTS.logRetentionDays */
  readonly logRetentionDays?: number;
}

/** The API's settings a stack's configuration chooses: its stage and the stage's default throttling. */
export type ApiSettings = Pick<WebsocketApiProps, "stageName" | "throttlingBurstLimit" | "throttlingRateLimit">;

/**
 * Fields of one access log line (WebSocket $context variables): enough to say who did what: the client's
 * address and user agent, the user the authorizer named (empty in auth mode none), the connection, and what
 * the authorizer answered, so a flood can be traced to an address or a user and told apart from denials.
 * No query string (it may carry a token) and no message body. API Gateway allows a format of at most 3 KB.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  extendedRequestId: "$context.extendedRequestId",
  requestTime: "$context.requestTime",
  eventType: "$context.eventType",
  routeKey: "$context.routeKey",
  connectionId: "$context.connectionId",
  connectedAt: "$context.connectedAt",
  messageId: "$context.messageId",
  sourceIp: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  principalId: "$context.authorizer.principalId",
  authorizerStatus: "$context.authorizer.status",
  authorizerError: "$context.authorizer.error",
  status: "$context.status",
  integrationStatus: "$context.integrationStatus",
  integrationLatency: "$context.integrationLatency",
  error: "$context.error.message",
  integrationError: "$context.integrationErrorMessage",
});

/**
 * A WebSocket API routed on the frame's `action`, one Lambda proxy integration per route with the
 * permission to invoke it from this API only, and a logged, throttled, auto-deployed stage.
 */
export class WebsocketApi extends Construct {
  public readonly api: Apigatewayv2Api;
  public readonly stage: Apigatewayv2Stage;
  /** `wss://` URL clients connect to. */
  public readonly url: string;
  /** `https://` endpoint of the @connections management API. */
  public readonly callbackUrl: string;
  /** ARN prefix of `execute-api:ManageConnections` on this stage's connections (append `<METHOD>/@connections/<id>`). */
  public readonly connectionsArnPrefix: string;
  public readonly stageName: string;
  private readonly routeKeys: string[] = [];

  constructor(scope: Construct, id: string, props: WebsocketApiProps) {
    super(scope, id);
    const stageName = props.stageName ?? API_DEFAULTS.stageName;
    const retentionInDays = props.logRetentionDays ?? FUNCTION_DEFAULTS.logRetentionDays;
    this.stageName = stageName;
    this.node.addValidation({
      validate: () =>
        this.routeKeys.includes("$default")
          ? []
          : [`WebsocketApi "${id}" has no "$default" route, where API Gateway sends frames no route matches`],
    });

    this.api = new Apigatewayv2Api(this, "api", {
      name: props.name,
      protocolType: "WEBSOCKET",
      routeSelectionExpression: "$request.body.action",
    });

    const accessLogs = new CloudwatchLogGroup(this, "access-logs", {
      name: `/aws/apigateway/${props.name}/${stageName}`,
      retentionInDays,
    });
    // API Gateway writes execution logs to this fixed name and would create it without retention.
    const executionLogs = new CloudwatchLogGroup(this, "execution-logs", {
      name: `API-Gateway-Execution-Logs_${this.api.id}/${stageName}`,
      retentionInDays,
    });

    this.stage = new Apigatewayv2Stage(this, "stage", {
      apiId: this.api.id,
      name: stageName,
      autoDeploy: true,
      defaultRouteSettings: {
        throttlingBurstLimit: props.throttlingBurstLimit ?? API_DEFAULTS.throttlingBurstLimit,
        throttlingRateLimit: props.throttlingRateLimit ?? API_DEFAULTS.throttlingRateLimit,
        loggingLevel: "ERROR",
        dataTraceEnabled: false,
      },
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
      // Enabling logging fails until the account has a CloudWatch role ("CloudWatch Logs role ARN must be
      // set"): an account-wide setting this stack leaves alone (see account-stack.ts).
      dependsOn: [executionLogs],
    });

    this.url = this.stage.invokeUrl;
    // The API's own endpoint (wss://<id>.execute-api.<region>.<partition's DNS suffix>) with the scheme
    // the management API speaks, so it is right in every partition.
    this.callbackUrl = `${Fn.replace(this.api.apiEndpoint, "wss://", "https://")}/${stageName}`;
    this.connectionsArnPrefix = `${this.api.executionArn}/${stageName}`;
  }

  /** Routes frames with this route key to the route's function. */
  public addRoute(route: WebsocketRoute): void {
    if (this.routeKeys.includes(route.routeKey)) {
      throw new Error(`WebsocketApi "${this.node.id}": route "${route.routeKey}" is added twice; each routeKey must be unique`);
    }
    if (route.authorizer && route.routeKey !== "$connect") {
      throw new Error(`WebsocketApi "${this.node.id}": route "${route.routeKey}" has an authorizer, but API Gateway runs WebSocket authorizers on "$connect" only`);
    }
    this.routeKeys.push(route.routeKey);
    const id = route.routeKey.replace(/^\$/, "");
    const integration = new Apigatewayv2Integration(this, `${id}-integration`, {
      apiId: this.api.id,
      integrationType: "AWS_PROXY",
      integrationMethod: "POST",
      integrationUri: route.handler.invokeArn,
      contentHandlingStrategy: "CONVERT_TO_TEXT",
      timeoutMilliseconds: Math.min(route.timeoutSeconds ?? MAX_LAMBDA_TIMEOUT_SECONDS, MAX_LAMBDA_TIMEOUT_SECONDS) * 1000,
    });
    const permission = new LambdaPermission(this, `${id}-permission`, {
      statementId: "AllowInvokeFromApiGateway",
      action: "lambda:InvokeFunction",
      functionName: route.handler.functionName,
      principal: "apigateway.amazonaws.com",
      // Only this route of this stage of this API may invoke the function.
      sourceArn: `${this.api.executionArn}/${this.stageName}/${route.routeKey}`,
    });
    const apiRoute = new Apigatewayv2Route(this, `${id}-route`, {
      apiId: this.api.id,
      routeKey: route.routeKey,
      target: `integrations/${integration.id}`,
      ...(route.replies ? { routeResponseSelectionExpression: "$default" } : {}),
      ...(route.authorizer ? { authorizationType: "CUSTOM", authorizerId: route.authorizer.authorizer.id } : {}),
      // The stage deploys a route as soon as it exists (auto_deploy): not before API Gateway may invoke its
      // functions, or the first frames after an apply fail with 500 until the permissions are created.
      dependsOn: [permission, ...(route.authorizer ? [route.authorizer.permission] : [])],
    });
    if (route.replies) {
      new Apigatewayv2RouteResponse(this, `${id}-response`, {
        apiId: this.api.id,
        routeId: apiRoute.id,
        routeResponseKey: "$default",
      });
    }
  }
}
