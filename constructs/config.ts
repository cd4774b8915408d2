/**
 * Settings of the chat stack, read from environment variables and validated up front, so a bad value fails
 * `synth` with a message that names the variable and what it accepts instead of failing `terraform apply`.
 */
import {
  MAX_FANOUT_CONCURRENCY,
  MAX_HISTORY_DAYS,
  MAX_MAX_CONNECTIONS_PER_USER,
  MAX_MAX_ROOMS_PER_CONNECTION,
  MAX_USER_BURST,
  MAX_USER_RATE,
} from "../handlers/lib/env/contract";
import { MAX_RECIPIENTS_PER_JOB } from "../handlers/lib/fan-out/fan-out-job";
import { LAMBDA_RUNTIMES, type LambdaRuntime } from "./bundle";
import { FUNCTION_DEFAULTS, type FunctionSettings } from "./bundled-function";
import { DEFAULT_THRESHOLDS } from "./chat-alarms";
import { DEFAULT_ACCOUNT_CONCURRENCY, reservable, reservedTotal } from "./concurrency";
import { TABLE_DEFAULTS, type TableSettings } from "./connections-table";
import { API_DEFAULTS, type ApiSettings, MAX_LAMBDA_TIMEOUT_SECONDS } from "./websocket-api";
import { type AuthSettings, BROADCAST_POLICIES, type BroadcastPolicy } from "../handlers/lib/env/contract";
import { DEFAULT_ADMIN_GROUP, DEFAULT_GROUPS_CLAIM, DEFAULT_NAME_CLAIM } from "./websocket-authorizer";
import {
  CHAT_ROUTES,
  DEFAULT_BROADCAST,
  DEFAULT_METRICS_NAMESPACE,
  FAN_OUT_DEFAULTS,
  type FanOutSettings,
  HISTORY_DEFAULTS,
  type HistorySettings,
  LIMIT_DEFAULTS,
  type LimitSettings,
} from "./websocket-chat";

export type BillingMode = "PAY_PER_REQUEST" | "PROVISIONED";

export type BackendConfig =
  | { readonly kind: "local" }
  | { readonly kind: "s3"; readonly bucket: string; readonly key: string; readonly region: string }
  | { readonly kind: "cloud"; readonly organization: string; readonly workspace: string; readonly hostname: string };

/**
 * Who may connect: anyone (`none`, the tutorial's behaviour), or holders of a JWT from one OIDC issuer,
 * verified by a $connect authorizer (`jwt`); and who may send to everyone (`broadcast`).
 */
export type AuthConfig =
  | { readonly mode: "none"; readonly broadcast: BroadcastPolicy }
  // The verifier's settings, as the authorizer function reads them (handlers/lib/env/contract.ts).
  | ({ readonly mode: "jwt"; readonly broadcast: BroadcastPolicy } & AuthSettings);

/**
 * A custom domain for the WebSocket API. With a hosted zone the stack issues an ACM certificate (DNS
 * validation) and creates the alias record; with an existing certificate it uses that one.
 */
export interface DomainConfig {
  /** e.g. `chat.example.com`. */
  readonly name: string;
  /** Route 53 public hosted zone holding `name`: validation and alias records go there. */
  readonly hostedZoneId?: string;
  /** An ACM certificate for `name` in the stack's region, used instead of issuing one. */
  readonly certificateArn?: string;
}

/**
 * The stack's settings, grouped by what consumes them; each group is passed whole to its construct, which
 * owns the group's defaults.
 */
export interface ChatConfig {
  readonly stackName: string;
  readonly region: string;
  readonly namePrefix: string;
  /** Every function's memory, timeout, runtime, log level and log retention (the retention also of the API's logs). */
  readonly functions: Required<Omit<FunctionSettings, "externalAwsSdk" | "reservedConcurrency">> & Pick<FunctionSettings, "reservedConcurrency">;
  /** The API's stage and its throttling. */
  readonly api: Required<ApiSettings>;
  /** The connections table's billing; capacities only with PROVISIONED. */
  readonly table: TableSettings & { readonly billingMode: BillingMode };
  /** Posts in flight per invocation, and the asynchronous fan-out through SQS. */
  readonly fanOut: Required<FanOutSettings>;
  /** How long rooms remember their messages. */
  readonly history: Required<HistorySettings>;
  /** Per-user frame rate, connections per user, rooms per connection (docs/limits.md). */
  readonly limits: Required<LimitSettings>;
  readonly auth: AuthConfig;
  /** Unset: clients use the API's execute-api URL. */
  readonly domain?: DomainConfig;
  readonly backend: BackendConfig;
  readonly observability: ObservabilityConfig;
}

/**
 * Lambda's application log levels that keep the metrics: the EMF lines the metrics are made of carry no
 * level, so Lambda files them as INFO and drops them at WARN and above
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** When an alarm fires: each is "this many or more in one 5-minute period". */
export interface AlarmThresholds {
  /** Lambda Errors of one function. */
  readonly functionErrors: number;
  /** Lambda Throttles of one function. */
  readonly functionThrottles: number;
  /** Messages visible in the fan-out dead-letter queue. */
  readonly deadLetterMessages: number;
  /** API Gateway ExecutionError of the stage: a function could not be called or did not answer. */
  readonly apiExecutionErrors: number;
  /** API Gateway IntegrationError of the stage: a 4XX/5XX from a function (rejected frames included). */
  readonly apiIntegrationErrors: number;
  /** Recipients counted `failed` by fan-outs. */
  readonly failedDeliveries: number;
  /** Seconds the fan-out queue's oldest message has waited (the Maximum of a period). */
  readonly fanOutQueueAgeSeconds: number;
  /** API Gateway ConnectCount of the stage: handshakes. */
  readonly connects: number;
  /** API Gateway MessageCount of the stage: frames from and to clients. */
  readonly messages: number;
}

/** Metrics, alarms and the dashboard (the functions' log level is a function setting). */
export interface ObservabilityConfig {
  /** CloudWatch namespace of the handlers' metrics. */
  readonly metricsNamespace: string;
  /** Where alarms send notifications (an SNS topic with an email subscription); none without. */
  readonly alarmEmail?: string;
  readonly thresholds: AlarmThresholds;
}

/** Thrown for a setting that cannot be used; its message names the variable and the allowed values. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Who synthesizes. */
export interface ReadOptions {
  /**
   * The local runtime (`npm start`, local/terraform/synth.ts), whose stack never leaves this machine: an
   * unset CHAT_AUTH means `none`, and a loopback issuer (its own local issuer) may be trusted. It is an
   * argument, not an environment variable, so a deploy environment cannot claim it by accident.
   * @default false: `cdktf synth` and `npm run synth`, whose stack is deployed
   */
  readonly localRuntime?: boolean;
}

export function readConfig(env: Env = process.env, options: ReadOptions = {}): ChatConfig {
  const read = reader(env);
  const manageAccount = env.CHAT_MANAGE_API_GATEWAY_ACCOUNT?.trim();
  if (manageAccount && manageAccount !== "false") {
    // Migration shim: "false" is what the chat stack always does; anything else asked for the account
    // setting, which silently ignoring would leave without the CloudWatch role its stage logging needs.
    // Remove together with chat-stack.ts's forgetAccountSettingOfEarlierVersions, when no deployment
    // predates the account stack (and so none has a reason to set the variable).
    throw new ConfigError(
      `CHAT_MANAGE_API_GATEWAY_ACCOUNT=${JSON.stringify(manageAccount)} is no longer supported: the chat stack never changes the account's API Gateway settings. ` +
        "The CloudWatch role API Gateway logs with is in the separate <stack>-account stack; deploy it once in an account and region " +
        "that has none (npx cdktf deploy chat-account chat --parallelism 1), and unset the variable",
    );
  }
  const region = read.matching("AWS_REGION", "us-east-1", /^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as us-east-1");
  const billingMode = read.oneOf("CHAT_BILLING_MODE", TABLE_DEFAULTS.billingMode as BillingMode, ["PAY_PER_REQUEST", "PROVISIONED"] as const);
  const provisioned = billingMode === "PROVISIONED";
  const stackName = read.matching(
    "CHAT_STACK_NAME",
    "chat",
    /^[A-Za-z][A-Za-z0-9-]{0,62}$/,
    "a letter followed by up to 62 letters, digits or '-'",
  );

  const config: ChatConfig = {
    stackName,
    region,
    namePrefix: read.matching(
      "CHAT_NAME_PREFIX",
      "chat",
      /^[a-z][a-z0-9-]{0,29}$/,
      "a lowercase letter followed by up to 29 lowercase letters, digits or '-'",
    ),
    functions: {
      memorySize: read.integer("CHAT_LAMBDA_MEMORY_MB", FUNCTION_DEFAULTS.memorySize, 128, 10240),
      timeout: read.integer("CHAT_LAMBDA_TIMEOUT_SECONDS", FUNCTION_DEFAULTS.timeout, 1, MAX_LAMBDA_TIMEOUT_SECONDS),
      logRetentionDays: read.oneOfNumbers("CHAT_LOG_RETENTION_DAYS", FUNCTION_DEFAULTS.logRetentionDays, LOG_RETENTION_DAYS),
      logLevel: readLogLevel(read),
      runtime: read.oneOf<LambdaRuntime>("CHAT_LAMBDA_RUNTIME", FUNCTION_DEFAULTS.runtime, LAMBDA_RUNTIMES),
    },
    api: {
      stageName: read.matching("CHAT_STAGE", API_DEFAULTS.stageName, /^[A-Za-z0-9_-]{1,128}$/, "1-128 letters, digits, '-' or '_'"),
      throttlingBurstLimit: read.integer("CHAT_THROTTLE_BURST", API_DEFAULTS.throttlingBurstLimit, 1, 5000),
      throttlingRateLimit: read.integer("CHAT_THROTTLE_RATE", API_DEFAULTS.throttlingRateLimit, 1, 10000),
    },
    table: {
      billingMode,
      readCapacity: provisioned ? read.integer("CHAT_READ_CAPACITY", TABLE_DEFAULTS.readCapacity, 1, 40000) : read.absent("CHAT_READ_CAPACITY", "CHAT_BILLING_MODE=PROVISIONED"),
      writeCapacity: provisioned ? read.integer("CHAT_WRITE_CAPACITY", TABLE_DEFAULTS.writeCapacity, 1, 40000) : read.absent("CHAT_WRITE_CAPACITY", "CHAT_BILLING_MODE=PROVISIONED"),
    },
    fanOut: {
      postsInFlight: read.integer("CHAT_FANOUT_CONCURRENCY", FAN_OUT_DEFAULTS.postsInFlight, 1, MAX_FANOUT_CONCURRENCY),
      inlineLimit: read.integer("CHAT_INLINE_FANOUT_LIMIT", FAN_OUT_DEFAULTS.inlineLimit, 0, 100_000),
      jobSize: read.integer("CHAT_FANOUT_JOB_SIZE", FAN_OUT_DEFAULTS.jobSize, 1, MAX_RECIPIENTS_PER_JOB),
      // Lambda takes at most 10 SQS messages per batch without a batching window, which would delay fan-out.
      batchSize: read.integer("CHAT_FANOUT_BATCH_SIZE", FAN_OUT_DEFAULTS.batchSize, 1, 10),
      consumerConcurrency: read.integer("CHAT_FANOUT_MAX_CONCURRENCY", FAN_OUT_DEFAULTS.consumerConcurrency, 2, 1000),
      // Lambda's own limit is 900 s.
      consumerTimeoutSeconds: read.integer("CHAT_FANOUT_TIMEOUT_SECONDS", FAN_OUT_DEFAULTS.consumerTimeoutSeconds, 10, 900),
    },
    history: {
      days: read.integer("CHAT_HISTORY_DAYS", HISTORY_DEFAULTS.days, 0, MAX_HISTORY_DAYS),
    },
    limits: {
      // 0 switches the limiter off (docs/limits.md says what that costs in safety).
      userRate: read.integer("CHAT_USER_RATE", LIMIT_DEFAULTS.userRate, 0, MAX_USER_RATE),
      userBurst: read.integer("CHAT_USER_BURST", LIMIT_DEFAULTS.userBurst, 1, MAX_USER_BURST),
      maxConnectionsPerUser: read.integer("CHAT_MAX_CONNECTIONS_PER_USER", LIMIT_DEFAULTS.maxConnectionsPerUser, 1, MAX_MAX_CONNECTIONS_PER_USER),
      maxRoomsPerConnection: read.integer("CHAT_MAX_ROOMS_PER_CONNECTION", LIMIT_DEFAULTS.maxRoomsPerConnection, 1, MAX_MAX_ROOMS_PER_CONNECTION),
    },
    auth: readAuth(read, options.localRuntime ?? false),
    domain: readDomain(read, region),
    backend: readBackend(env, read, stackName, region),
    observability: readObservability(read),
  };
  const reservedConcurrency = readReservedConcurrency(read, config.fanOut.consumerConcurrency, config.auth.mode === "jwt" ? 1 : 0);
  return reservedConcurrency === undefined ? config : { ...config, functions: { ...config.functions, reservedConcurrency } };
}

/**
 * CHAT_RESERVED_CONCURRENCY, opt-in: each route's function (and the authorizer) reserves that many, the fan-out
 * worker its queue's consumer concurrency. The total must fit what the account lets be reserved, or the deploy
 * fails halfway with Lambda's InvalidParameterValueException. CHAT_ACCOUNT_CONCURRENCY is the account's quota,
 * for that check only (other stacks' reservations in the account are not known here).
 */
function readReservedConcurrency(read: Reader, consumerConcurrency: number, authorizers: number): number | undefined {
  const perFunction = read.optionalInteger("CHAT_RESERVED_CONCURRENCY", 1, 1000);
  if (perFunction === undefined) {
    read.absent("CHAT_ACCOUNT_CONCURRENCY", "CHAT_RESERVED_CONCURRENCY is set");
    return undefined;
  }
  const account = read.integer("CHAT_ACCOUNT_CONCURRENCY", DEFAULT_ACCOUNT_CONCURRENCY, 10, 1_000_000);
  const functions = CHAT_ROUTES.length + authorizers;
  const total = reservedTotal(perFunction, functions, consumerConcurrency);
  const allowed = reservable(account);
  const most = Math.floor((allowed - consumerConcurrency) / functions);
  if (total > allowed && most < 1) {
    throw new ConfigError(
      `CHAT_RESERVED_CONCURRENCY=${JSON.stringify(String(perFunction))} is invalid: an account of ${account} (CHAT_ACCOUNT_CONCURRENCY) may reserve ${allowed} ` +
        `of its Lambda concurrency, too little for ${functions} functions and CHAT_FANOUT_MAX_CONCURRENCY=${consumerConcurrency} for the fan-out worker. ` +
        "Expected no value (the stage throttle and the queue's maximum concurrency bound the stack, docs/capacity.md), or a larger CHAT_ACCOUNT_CONCURRENCY once the account's quota is raised",
    );
  }
  if (total > allowed) {
    throw new ConfigError(
      `CHAT_RESERVED_CONCURRENCY=${JSON.stringify(String(perFunction))} is invalid: it reserves ${total} of the account's Lambda concurrency ` +
        `(${perFunction} for each of ${functions} functions, and CHAT_FANOUT_MAX_CONCURRENCY=${consumerConcurrency} for the fan-out worker), ` +
        `and an account of ${account} (CHAT_ACCOUNT_CONCURRENCY) may reserve ${allowed}, Lambda keeping ${account - allowed} unreserved. ` +
        `Expected an integer from 1 to ${most}, or a larger CHAT_ACCOUNT_CONCURRENCY once the account's quota is raised`,
    );
  }
  return perFunction;
}

/** CloudWatch's namespace rules (PutMetricData), minus the `AWS/` prefix reserved for AWS's own. */
const METRICS_NAMESPACE = /^(?!AWS\/)(?=.*\S)[0-9A-Za-z.\-_/#: ]{1,255}$/;

function readLogLevel(read: Reader): LogLevel {
  const logLevel = read.oneOf("CHAT_LOG_LEVEL", FUNCTION_DEFAULTS.logLevel as LogLevel, [...LOG_LEVELS, "WARN", "ERROR", "FATAL"] as const);
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(
      `CHAT_LOG_LEVEL=${JSON.stringify(logLevel)} is invalid: expected one of ${LOG_LEVELS.join(", ")}. ` +
        "Lambda files the metrics' EMF lines as INFO, so at WARN and above it would drop every metric, and the alarms built on them would never fire",
    );
  }
  return logLevel as LogLevel;
}

function readObservability(read: Reader): ObservabilityConfig {
  const alarmEmail = read.matching("CHAT_ALARM_EMAIL", "", /^$|^[^\s@]+@[^\s@]+\.[^\s@]+$/, "an email address such as oncall@example.com");
  return {
    metricsNamespace: read.matching(
      "CHAT_METRICS_NAMESPACE",
      DEFAULT_METRICS_NAMESPACE,
      METRICS_NAMESPACE,
      "1-255 letters, digits, spaces or . - _ / # :, not starting with AWS/",
    ),
    ...(alarmEmail ? { alarmEmail } : {}),
    thresholds: {
      functionErrors: read.integer("CHAT_ALARM_FUNCTION_ERRORS", DEFAULT_THRESHOLDS.functionErrors, 1, 100_000),
      functionThrottles: read.integer("CHAT_ALARM_FUNCTION_THROTTLES", DEFAULT_THRESHOLDS.functionThrottles, 1, 100_000),
      deadLetterMessages: read.integer("CHAT_ALARM_DLQ_MESSAGES", DEFAULT_THRESHOLDS.deadLetterMessages, 1, 100_000),
      apiExecutionErrors: read.integer("CHAT_ALARM_API_EXECUTION_ERRORS", DEFAULT_THRESHOLDS.apiExecutionErrors, 1, 100_000),
      apiIntegrationErrors: read.integer("CHAT_ALARM_API_INTEGRATION_ERRORS", DEFAULT_THRESHOLDS.apiIntegrationErrors, 1, 100_000),
      failedDeliveries: read.integer("CHAT_ALARM_FAILED_DELIVERIES", DEFAULT_THRESHOLDS.failedDeliveries, 1, 100_000),
      // SQS keeps a message at most 14 days.
      fanOutQueueAgeSeconds: read.integer("CHAT_ALARM_FANOUT_AGE_SECONDS", DEFAULT_THRESHOLDS.fanOutQueueAgeSeconds, 1, 1_209_600),
      connects: read.integer("CHAT_ALARM_CONNECTS", DEFAULT_THRESHOLDS.connects, 1, 100_000_000),
      messages: read.integer("CHAT_ALARM_MESSAGES", DEFAULT_THRESHOLDS.messages, 1, 1_000_000_000),
    },
  };
}

/** An issuer's URL: https, or http only on this machine (the local issuer of `npm start`). */
const ISSUER_URL = /^(https:\/\/[^\s/?#]+|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)(\/[^\s?#]*)?$/;
const URL_ALLOWED = "an https:// URL (http:// only for 127.0.0.1 or localhost)";
/** A URL on this machine: what only the local runtime's authorizer can reach. */
const LOOPBACK_URL = /^https?:\/\/(127(\.\d{1,3}){3}|localhost|\[::1\])([:/]|$)/i;
const CLAIM_NAME = /^[\x21-\x7e]{1,256}$/;

function readAuth(read: Reader, localRuntime: boolean): AuthConfig {
  const mode = localRuntime
    ? read.oneOf("CHAT_AUTH", "none", ["none", "jwt"] as const)
    : read.required(
        "CHAT_AUTH",
        /^(none|jwt)$/,
        "one of none, jwt",
        "choose who may connect: none (anyone who knows the URL) or jwt (holders of a token from your identity provider, docs/authentication.md)",
      ) as "none" | "jwt";
  const broadcast = read.oneOf("CHAT_BROADCAST", DEFAULT_BROADCAST[mode], BROADCAST_POLICIES);
  if (mode === "none") {
    for (const name of ["CHAT_JWT_ISSUER", "CHAT_JWT_AUDIENCE", "CHAT_JWT_JWKS_URL", "CHAT_JWT_NAME_CLAIM", "CHAT_JWT_GROUPS_CLAIM", "CHAT_ADMIN_GROUP"]) read.absent(name, "CHAT_AUTH=jwt");
    return { mode, broadcast };
  }
  const issuer = read.required("CHAT_JWT_ISSUER", ISSUER_URL, URL_ALLOWED, "CHAT_AUTH=jwt needs the issuer of your tokens (their iss claim)");
  const jwksUrl = read.matching("CHAT_JWT_JWKS_URL", `${issuer.replace(/\/+$/, "")}/.well-known/jwks.json`, ISSUER_URL, URL_ALLOWED);
  if (!localRuntime) {
    for (const [name, url] of [["CHAT_JWT_ISSUER", issuer], ["CHAT_JWT_JWKS_URL", jwksUrl]] as const) {
      if (LOOPBACK_URL.test(url)) {
        throw new ConfigError(
          `${name}=${JSON.stringify(url)} is on this machine: a deployed stack's authorizer cannot reach a laptop's issuer and would fail every handshake. ` +
            "Only npm start (the local runtime) may trust a loopback issuer; to deploy, set your identity provider's https:// issuer",
        );
      }
    }
  }
  return {
    mode,
    broadcast,
    issuer,
    audience: read.required("CHAT_JWT_AUDIENCE", CLAIM_NAME, "1-256 printable characters without spaces", "CHAT_AUTH=jwt needs the audience your tokens carry (their aud claim)"),
    // Where Cognito and Auth0 publish their keys; OIDC discovery names it jwks_uri.
    jwksUrl,
    nameClaim: read.matching("CHAT_JWT_NAME_CLAIM", DEFAULT_NAME_CLAIM, CLAIM_NAME, "a claim name of 1-256 printable characters without spaces"),
    groupsClaim: read.matching("CHAT_JWT_GROUPS_CLAIM", DEFAULT_GROUPS_CLAIM, CLAIM_NAME, "a claim name of 1-256 printable characters without spaces"),
    adminGroup: read.matching("CHAT_ADMIN_GROUP", DEFAULT_ADMIN_GROUP, /^[^\s,]{1,256}$/, "a group name of 1-256 characters without spaces or commas"),
  };
}

/** What synth prints (to stderr, once) about a configuration that works but may not be what was meant. */
export function configWarnings(config: ChatConfig): string[] {
  return config.auth.mode === "none"
    ? ["CHAT_AUTH=none: anyone who knows the URL can connect and chat, as in the tutorial. Set CHAT_AUTH=jwt (docs/authentication.md) to require a token from your identity provider."]
    : [];
}

function readDomain(read: Reader, region: string): DomainConfig | undefined {
  const name = read.optional(
    "CHAT_DOMAIN_NAME",
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    "a lowercase DNS name such as chat.example.com",
  );
  if (name === undefined) {
    read.absent("CHAT_HOSTED_ZONE_ID", "CHAT_DOMAIN_NAME is set");
    read.absent("CHAT_CERTIFICATE_ARN", "CHAT_DOMAIN_NAME is set");
    return undefined;
  }
  const hostedZoneId = read.optional("CHAT_HOSTED_ZONE_ID", /^Z[A-Z0-9]{1,31}$/, "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ");
  // A regional API Gateway domain needs its certificate in the API's own region.
  // https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-wss-custom-domain-names.html
  const certificateArn = read.optional(
    "CHAT_CERTIFICATE_ARN",
    new RegExp(`^arn:aws[a-z-]*:acm:${region}:\\d{12}:certificate/[0-9a-f-]{36}$`),
    `the ARN of an ACM certificate in ${region} (AWS_REGION), where the API is`,
  );
  if (!hostedZoneId && !certificateArn) {
    throw new ConfigError(
      "CHAT_DOMAIN_NAME is set without CHAT_HOSTED_ZONE_ID or CHAT_CERTIFICATE_ARN: set the Route 53 hosted zone of the domain (a certificate is then issued and validated, and the alias record created), or the ARN of an existing ACM certificate for it",
    );
  }
  return { name, ...(hostedZoneId ? { hostedZoneId } : {}), ...(certificateArn ? { certificateArn } : {}) };
}

/** The account stack's name is the chat stack's with this suffix, and so is its HCP Terraform workspace. */
export const ACCOUNT_STACK_SUFFIX = "account";

function readBackend(env: Env, read: Reader, stackName: string, region: string): BackendConfig {
  const bucket = env.TF_STATE_BUCKET?.trim();
  const organization = env.TF_CLOUD_ORGANIZATION?.trim();
  const workspace = env.TF_CLOUD_WORKSPACE?.trim();
  const cloudSettings = "TF_CLOUD_ORGANIZATION and TF_CLOUD_WORKSPACE are set (HCP Terraform state)";
  if (bucket && (organization || workspace)) {
    throw new ConfigError(
      "TF_STATE_BUCKET and TF_CLOUD_ORGANIZATION/TF_CLOUD_WORKSPACE are both set: choose one backend, S3 (TF_STATE_BUCKET) or HCP Terraform (TF_CLOUD_ORGANIZATION and TF_CLOUD_WORKSPACE)",
    );
  }
  if (bucket) {
    read.absent("TF_CLOUD_HOSTNAME", cloudSettings);
    return {
      kind: "s3",
      bucket: read.matching("TF_STATE_BUCKET", "", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name (3-63 lowercase letters, digits, '.' or '-')"),
      key: read.matching("TF_STATE_KEY", `${stackName}/terraform.tfstate`, /^[^\s]{1,1024}$/, "an S3 object key without spaces"),
      region: read.matching("TF_STATE_REGION", region, /^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as us-east-1"),
    };
  }
  // Without the bucket they would be ignored and the state kept locally: a typo in TF_STATE_BUCKET must not do that silently.
  for (const name of ["TF_STATE_KEY", "TF_STATE_REGION"]) read.absent(name, "TF_STATE_BUCKET is set (S3 state)");
  if (organization || workspace) {
    if (!organization || !workspace) {
      throw new ConfigError(
        `${organization ? "TF_CLOUD_WORKSPACE" : "TF_CLOUD_ORGANIZATION"} is not set: HCP Terraform state needs both TF_CLOUD_ORGANIZATION and TF_CLOUD_WORKSPACE`,
      );
    }
    // Terraform reads TF_WORKSPACE itself, and a cloud block naming another workspace (the account stack's
    // "<workspace>-account") then fails init with "Specified workspace conflicts with TF_WORKSPACE".
    if (env.TF_WORKSPACE?.trim()) {
      throw new ConfigError(
        `TF_WORKSPACE is set: Terraform reads it itself, and with HCP Terraform state it conflicts with the workspaces these stacks name (${workspace} and ${workspace}-${ACCOUNT_STACK_SUFFIX}); name the workspace with TF_CLOUD_WORKSPACE only and unset TF_WORKSPACE`,
      );
    }
    return {
      kind: "cloud",
      organization: read.matching("TF_CLOUD_ORGANIZATION", "", /^[A-Za-z0-9_-]+$/, "an HCP Terraform organization name (letters, digits, '-' or '_')"),
      workspace: read.matching(
        "TF_CLOUD_WORKSPACE",
        "",
        /^[A-Za-z0-9_-]{1,82}$/,
        `1-82 letters, digits, '-' or '_' (HCP Terraform allows 90 and the account stack adds "-${ACCOUNT_STACK_SUFFIX}")`,
      ),
      hostname: read.matching("TF_CLOUD_HOSTNAME", "app.terraform.io", /^[A-Za-z0-9.-]+$/, "a host name such as app.terraform.io"),
    };
  }
  read.absent("TF_CLOUD_HOSTNAME", cloudSettings);
  return { kind: "local" };
}

type Reader = ReturnType<typeof reader>;

function reader(env: Env) {
  const raw = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const fail = (name: string, value: string, allowed: string): never => {
    throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${allowed}`);
  };
  return {
    matching(name: string, fallback: string, pattern: RegExp, allowed: string): string {
      const value = raw(name) ?? fallback;
      return pattern.test(value) ? value : fail(name, value, allowed);
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const value = raw(name) ?? fallback;
      return (allowed as readonly string[]).includes(value) ? (value as T) : fail(name, value, `one of ${allowed.join(", ")}`);
    },
    oneOfNumbers(name: string, fallback: number, allowed: readonly number[]): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const n = Number(value);
      return /^\d+$/.test(value) && allowed.includes(n) ? n : fail(name, value, `one of ${allowed.join(", ")}`);
    },
    integer(name: string, fallback: number, min: number, max: number): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const n = Number(value);
      return /^\d+$/.test(value) && n >= min && n <= max ? n : fail(name, value, `an integer from ${min} to ${max}`);
    },
    optional(name: string, pattern: RegExp, allowed: string): string | undefined {
      const value = raw(name);
      return value === undefined || pattern.test(value) ? value : fail(name, value, allowed);
    },
    /** A setting with no default: missing, it fails saying why it is needed. */
    required(name: string, pattern: RegExp, allowed: string, why: string): string {
      const value = raw(name);
      if (value === undefined) throw new ConfigError(`${name} is not set: ${why}; expected ${allowed}`);
      return pattern.test(value) ? value : fail(name, value, allowed);
    },
    optionalInteger(name: string, min: number, max: number): number | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      const n = Number(value);
      return /^\d+$/.test(value) && n >= min && n <= max ? n : fail(name, value, `an integer from ${min} to ${max}`);
    },
    absent(name: string, requires: string): undefined {
      const value = raw(name);
      return value === undefined ? undefined : fail(name, value, `no value unless ${requires}`);
    },
  };
}
