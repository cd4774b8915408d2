/**
 * The shapes of the stack model: what local/terraform reads from the synthesized JSON and the rest of the
 * runtime serves. Types only, so any module may import them without importing the readers that build them.
 */
import type { Policy } from "../iam/policy";

export interface ApiModel {
  readonly address: string;
  readonly id: string;
  readonly name: string;
  /** e.g. `$request.body.action`. */
  readonly routeSelectionExpression: string;
}

export interface StageModel {
  readonly address: string;
  readonly name: string;
  /** `stage_variables`, passed to every integration as the event's `stageVariables`. */
  readonly variables?: Readonly<Record<string, string>>;
}

export interface RouteModel {
  readonly address: string;
  readonly routeKey: string;
  /** Name of the function its AWS_PROXY integration invokes. */
  readonly functionName: string;
  /** API Gateway stops waiting for the function after this long (integration timeout, at most 29 s). */
  readonly integrationTimeoutMs: number;
  /** A route response exists (and a selection expression is set): the integration's `body` goes back to the caller. */
  readonly hasRouteResponse: boolean;
  /**
   * Set when no aws_lambda_permission lets API Gateway invoke the function for this route: on AWS every
   * invocation then fails ("Invalid permissions on Lambda function"), and so it does locally.
   */
  readonly invokeDenied?: string;
  /** The Lambda authorizer that runs before the integration (authorization_type CUSTOM; $connect only). */
  readonly authorizer?: AuthorizerModel;
}

export interface FunctionModel {
  readonly address: string;
  readonly name: string;
  readonly arn: string;
  /** `index.handler` as configured. */
  readonly handler: string;
  /** The module file the handler lives in, inside the bundle folder. */
  readonly moduleFile: string;
  /** The exported function the handler names. */
  readonly exportName: string;
  /** The folder that `data.archive_file` zips for deployment: the code that runs here is the code that deploys. */
  readonly bundleDir: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** `reserved_concurrent_executions` when it reserves some (not -1, unreserved): invocations beyond it are throttled. */
  readonly reservedConcurrency?: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly logGroupName: string;
  /**
   * `logging_config`: JSON, with an application log level, or Text. Lambda hands them to the runtime as
   * AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL, and its console follows them.
   */
  readonly logging: { readonly format: "JSON" | "Text"; readonly applicationLogLevel?: string };
  readonly role: { readonly address: string; readonly name: string; readonly arn: string };
  /** Every identity policy of the role: inline policies, role policies and attached customer-managed policies. */
  readonly policies: readonly Policy[];
}

export interface KeyAttribute {
  readonly name: string;
  readonly type: "S" | "N" | "B";
}

export interface IndexModel {
  readonly name: string;
  readonly hashKey: string;
  readonly rangeKey?: string;
  readonly projectionType: "ALL" | "KEYS_ONLY" | "INCLUDE";
  readonly nonKeyAttributes?: readonly string[];
}

export interface TableModel {
  readonly address: string;
  readonly name: string;
  readonly arn: string;
  readonly hashKey: string;
  readonly rangeKey?: string;
  readonly attributes: readonly KeyAttribute[];
  readonly globalSecondaryIndexes: readonly IndexModel[];
  readonly localSecondaryIndexes: readonly IndexModel[];
  /** The TTL attribute when TTL is enabled. */
  readonly ttlAttribute?: string;
}

export interface StackModel {
  readonly stackDir: string;
  readonly region: string;
  readonly account: string;
  readonly api: ApiModel;
  readonly stage: StageModel;
  readonly routes: readonly RouteModel[];
  readonly functions: readonly FunctionModel[];
  readonly tables: readonly TableModel[];
  readonly queues: readonly QueueModel[];
  /** Lambda's pollers: which function each queue's messages go to, in what batches. */
  readonly eventSourceMappings: readonly EventSourceMappingModel[];
  /** Things in the stack the local runtime does not emulate, worth one line each at startup. */
  readonly notes: readonly string[];
}

/** Where an identity source is read from in the $connect request. */
export interface IdentitySource {
  /** As written, e.g. `route.request.querystring.token`. */
  readonly expression: string;
  readonly from: "header" | "querystring" | "stageVariable";
  readonly name: string;
}

export interface AuthorizerModel {
  readonly address: string;
  readonly id: string;
  readonly name: string;
  /** Every source must be present and non-empty, or API Gateway answers 401 without invoking the function. */
  readonly identitySources: readonly IdentitySource[];
  readonly functionName: string;
  /** `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/$connect`: what the authorizer's policy must allow. */
  readonly methodArn: string;
  /**
   * `authorizer_result_ttl_in_seconds` as set. API Gateway caches authorizer results for HTTP APIs only
   * (terraform-provider-aws docs for aws_apigatewayv2_authorizer), so every handshake runs the function.
   */
  readonly resultTtlSeconds?: number;
  /** Set when no aws_lambda_permission lets API Gateway invoke the function as this authorizer: every $connect then fails. */
  readonly invokeDenied?: string;
}

export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

export interface QueueModel {
  readonly address: string;
  readonly name: string;
  readonly arn: string;
  /** The queue URL the SDK is given; it points at the local runtime. */
  readonly url: string;
  readonly visibilityTimeoutSeconds: number;
  readonly messageRetentionSeconds: number;
  readonly maximumMessageSizeBytes: number;
  readonly delaySeconds: number;
  readonly receiveWaitTimeSeconds: number;
  readonly redrivePolicy?: RedrivePolicy;
  /** As written (JSON text), for GetQueueAttributes. */
  readonly redriveAllowPolicy?: string;
  readonly sqsManagedSseEnabled: boolean;
  readonly kmsMasterKeyId?: string;
}

export interface EventSourceMappingModel {
  readonly address: string;
  readonly uuid: string;
  readonly queueArn: string;
  /** The function it invokes (a function of the model). */
  readonly functionName: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  /** scaling_config.maximum_concurrency; Lambda's own scaling (up to 1,000 batches) when unset. */
  readonly maximumConcurrency?: number;
  /** function_response_types contains ReportBatchItemFailures. */
  readonly reportBatchItemFailures: boolean;
  readonly enabled: boolean;
}
