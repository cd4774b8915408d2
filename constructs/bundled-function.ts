import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { DataArchiveFile } from "@cdktf/provider-archive/lib/data-archive-file";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { BUNDLE_FILE, bundleHandler, DEFAULT_LAMBDA_RUNTIME, type LambdaRuntime } from "./bundle";
import type { LogLevel } from "./config";
import { policyDocument, type PolicyStatement } from "./policy";

/** How a function runs and logs: one object, passed whole from the config to every function of a stack. */
export interface FunctionSettings {
  /** Memory in MB (CPU grows with it). @default FUNCTION_DEFAULTS.memorySize */
  readonly memorySize?: number;
  /** Timeout in seconds. @default FUNCTION_DEFAULTS.timeout */
  readonly timeout?: number;
  /** Retention of the function's log group in days. @default FUNCTION_DEFAULTS.logRetentionDays */
  readonly logRetentionDays?: number;
  /**
   * Lambda's application log level (JSON log format): console calls below it are dropped by the runtime.
   * The platform's own lines (START, END, REPORT) are kept at INFO, or DEBUG when this is finer. @default FUNCTION_DEFAULTS.logLevel
   */
  readonly logLevel?: LogLevel;
  /** Leave the AWS SDK out of the bundle (see bundle.ts). @default false */
  readonly externalAwsSdk?: boolean;
  /** The Lambda runtime; the bundle targets its Node version. @default FUNCTION_DEFAULTS.runtime */
  readonly runtime?: LambdaRuntime;
  /**
   * Reserved concurrency: the function never runs more than this many at once, and this many are kept for it
   * whatever else in the account runs. Lambda refuses a reservation that leaves the account fewer than its
   * minimum unreserved (100, or the whole quota of a new account's 10), so a stack that sets it may not deploy
   * everywhere (docs/capacity.md). @default none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
}

export interface BundledFunctionProps extends FunctionSettings {
  /** Name of the Lambda function; also names its role and its log group `/aws/lambda/<name>`. */
  readonly functionName: string;
  /**
   * The stack's region. IAM role names are account-wide while the function is regional: the role is named
   * `<functionName>-<region>-fn`, so the same stack in two regions of one account does not collide.
   */
  readonly region: string;
  /** Absolute path of the handler's TypeScript entry file, which exports `handler`. */
  readonly entry: string;
  /** Environment variables of the function. @default {} */
  readonly environment?: Record<string, string>;
  /** What the function may do besides writing its own logs; least privilege is the caller's job. */
  readonly statements: readonly PolicyStatement[];
}

/** What a function gets where its props say nothing; config.ts reads these for the CHAT_LAMBDA_* and log settings. */
export const FUNCTION_DEFAULTS = {
  memorySize: 256,
  /** Seconds; API Gateway waits at most 29 for a route's function (MAX_LAMBDA_TIMEOUT_SECONDS). */
  timeout: 10,
  /** Also the API's log groups' retention: one retention for every log group of the stack. */
  logRetentionDays: 30,
  logLevel: "INFO",
  runtime: DEFAULT_LAMBDA_RUNTIME,
} as const satisfies { memorySize: number; timeout: number; logRetentionDays: number; logLevel: LogLevel; runtime: LambdaRuntime };

/** IAM's limit on a role's name. */
const MAX_ROLE_NAME = 64;

/**
 * One Lambda function with everything it owns: its esbuild bundle zipped by `data.archive_file`, its own
 * role and inline policy, and its own log group with retention.
 */
export class BundledFunction extends Construct {
  public readonly function: LambdaFunction;
  public readonly role: IamRole;
  public readonly logGroup: CloudwatchLogGroup;
  /** The folder esbuild built the function's bundle in, for its runtime (synth copies it into the stack). */
  public readonly bundleDir: string;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    const name = props.functionName;
    const runtime = props.runtime ?? FUNCTION_DEFAULTS.runtime;
    const reserved = props.reservedConcurrency;
    // 0 is valid to Lambda but stops the function altogether: never what a setting here means.
    if (reserved !== undefined && !(Number.isInteger(reserved) && reserved >= 1)) {
      throw new Error(`BundledFunction "${name}": reservedConcurrency must be a whole number of at least 1, got ${reserved}`);
    }

    // The asset is copied into cdktf.out/stacks/<stack>/assets and referenced by a path relative to the
    // stack folder, so `terraform plan` finds it on any machine, not only where synth ran.
    this.bundleDir = bundleHandler(props.entry, { externalAwsSdk: props.externalAwsSdk, runtime });
    const bundle = new TerraformAsset(this, "bundle", {
      path: this.bundleDir,
      type: AssetType.DIRECTORY,
    });
    const archive = new DataArchiveFile(this, "archive", {
      type: "zip",
      sourceDir: bundle.path,
      outputPath: `\${path.module}/dist/${name}.zip`,
    });

    // Created before the function, so Lambda never creates it itself without retention.
    this.logGroup = new CloudwatchLogGroup(this, "logs", {
      name: `/aws/lambda/${name}`,
      retentionInDays: props.logRetentionDays ?? FUNCTION_DEFAULTS.logRetentionDays,
    });

    const roleName = `${name}-${props.region}-fn`;
    if (roleName.length > MAX_ROLE_NAME) {
      throw new Error(
        `BundledFunction "${name}": its role name "${roleName}" is over IAM's ${MAX_ROLE_NAME} characters; shorten CHAT_NAME_PREFIX (AWS_REGION is ${props.region})`,
      );
    }
    this.role = new IamRole(this, "role", {
      name: roleName,
      assumeRolePolicy: policyDocument([
        { effect: "Allow", actions: ["sts:AssumeRole"], principals: { Service: "lambda.amazonaws.com" } },
      ]),
    });
    const policy = new IamRolePolicy(this, "policy", {
      role: this.role.id,
      name: `${name}-fn`,
      policy: policyDocument([
        ...props.statements,
        // Lambda names its log streams itself, so the stream part of the ARN cannot be known in advance.
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
          resources: [`${this.logGroup.arn}:log-stream:*`],
        },
      ]),
    });

    this.function = new LambdaFunction(this, "function", {
      functionName: name,
      role: this.role.arn,
      runtime,
      architectures: ["arm64"],
      handler: `${BUNDLE_FILE.replace(/\.js$/, "")}.handler`,
      filename: archive.outputPath,
      sourceCodeHash: archive.outputBase64Sha256,
      memorySize: props.memorySize ?? FUNCTION_DEFAULTS.memorySize,
      timeout: props.timeout ?? FUNCTION_DEFAULTS.timeout,
      ...(reserved !== undefined ? { reservedConcurrentExecutions: reserved } : {}),
      environment: { variables: { ...props.environment } },
      // Lambda's JSON format wraps each console call in {timestamp, level, requestId, message}, so every line
      // carries the invocation's request id without code of ours, and Logs Insights reads the fields.
      // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
      loggingConfig: {
        logFormat: "JSON",
        applicationLogLevel: props.logLevel ?? FUNCTION_DEFAULTS.logLevel,
        systemLogLevel: props.logLevel === "TRACE" || props.logLevel === "DEBUG" ? "DEBUG" : "INFO",
        logGroup: this.logGroup.name,
      },
      dependsOn: [this.logGroup, policy],
    });
  }
}
