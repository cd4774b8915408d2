/**
 * The configurations a user can choose, as the Terraform plan checks see them: each is synthesized with its
 * settings and planned, and must plan exactly the chat's resources plus its `adds`.
 *
 * Adding a variant is one entry. Addresses are written without cdktf's hash suffix, with a for_each key
 * in brackets, as `stableAddress` prints them. For example, when auth lands:
 *
 *   { name: "auth_jwt", env: { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://issuer.example.com/", ... },
 *     adds: ["aws_apigatewayv2_authorizer.chat_websocket_authorizer", "aws_lambda_function.chat_authorizer_function", ...] },
 */
import { CHAT_ROUTES } from "../../constructs/websocket-chat";

export interface PlanVariant {
  /** Names the variant in test titles and its module in the combined configuration. */
  readonly name: string;
  /** Settings, as `cdktf synth` reads them from the environment. */
  readonly env: Readonly<Record<string, string>>;
  /** The synthesized stack to plan. @default "chat" */
  readonly stack?: "chat" | "account";
  /** Resources planned beyond the stack's base set (chatAddresses or ACCOUNT_ADDRESSES). @default [] */
  readonly adds?: readonly string[];
  /** Account-wide resource types the user asks for by choosing this variant. @default [] */
  readonly accountWide?: readonly string[];
}

export const DOMAIN = "chat.example.com";
export const HOSTED_ZONE_ID = "Z0123456789ABCDEFGHIJ";
export const CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0b3e9f1c-6a8d-4c2e-9f7a-1d2c3b4a5e6f";

/**
 * The backend variants (S3, HCP Terraform) plan the same resources as the default; their backends are
 * checked as root configurations in terraform-backends.test.ts (a module cannot hold a backend).
 */
export const PLAN_VARIANTS: readonly PlanVariant[] = [
  { name: "default", env: { CHAT_AUTH: "none" } },
  { name: "provisioned", env: { CHAT_AUTH: "none", CHAT_BILLING_MODE: "PROVISIONED", CHAT_READ_CAPACITY: "7", CHAT_WRITE_CAPACITY: "3" } },
  // Reservations are attributes of the same functions: planned to check the provider takes them.
  { name: "reserved", env: { CHAT_AUTH: "none", CHAT_RESERVED_CONCURRENCY: "5" } },
  {
    name: "domain_zone",
    env: { CHAT_AUTH: "none", CHAT_DOMAIN_NAME: DOMAIN, CHAT_HOSTED_ZONE_ID: HOSTED_ZONE_ID },
    adds: [
      "aws_acm_certificate.domain_certificate",
      `aws_route53_record.domain_validation-record["${DOMAIN}"]`,
      "aws_acm_certificate_validation.domain_validation",
      "aws_apigatewayv2_domain_name.domain_domain-name",
      "aws_apigatewayv2_api_mapping.domain_mapping",
      "aws_route53_record.domain_alias",
    ],
  },
  {
    name: "domain_certificate",
    env: { CHAT_AUTH: "none", CHAT_DOMAIN_NAME: DOMAIN, CHAT_CERTIFICATE_ARN: CERTIFICATE_ARN },
    adds: ["aws_apigatewayv2_domain_name.domain_domain-name", "aws_apigatewayv2_api_mapping.domain_mapping"],
  },
  {
    name: "auth_jwt",
    env: { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://idp.example.com/", CHAT_JWT_AUDIENCE: "chat" },
    adds: [
      "aws_apigatewayv2_authorizer.chat_authorizer",
      "aws_lambda_function.chat_authorizer_function",
      "aws_iam_role.chat_authorizer_function_role",
      "aws_iam_role_policy.chat_authorizer_function_policy",
      "aws_cloudwatch_log_group.chat_authorizer_function_logs",
      "aws_lambda_permission.chat_authorizer_permission",
      ...functionAlarms("authorizer"),
    ],
  },
  {
    name: "alarm_email",
    env: { CHAT_AUTH: "none", CHAT_ALARM_EMAIL: "oncall@example.com" },
    adds: ["aws_sns_topic.chat_alarms_topic", "aws_sns_topic_subscription.chat_alarms_email"],
  },
  {
    name: "account",
    stack: "account",
    env: { CHAT_AUTH: "none" },
    accountWide: ["aws_api_gateway_account"],
  },
];

/** A function's errors and throttles alarms. */
function functionAlarms(name: string): string[] {
  return [`aws_cloudwatch_metric_alarm.chat_alarms_${name}-errors`, `aws_cloudwatch_metric_alarm.chat_alarms_${name}-throttles`];
}

/** What the chat stack plans with default settings: the shared pieces and, per route, its nine or ten. */
export function chatAddresses(): string[] {
  const shared = [
    "aws_dynamodb_table.chat_connections_table",
    "aws_apigatewayv2_api.chat_websocket_api",
    "aws_apigatewayv2_stage.chat_websocket_stage",
    "aws_cloudwatch_log_group.chat_websocket_access-logs",
    "aws_cloudwatch_log_group.chat_websocket_execution-logs",
    "aws_lambda_function.chat_fan-out-worker_function",
    "aws_iam_role.chat_fan-out-worker_role",
    "aws_iam_role_policy.chat_fan-out-worker_policy",
    "aws_cloudwatch_log_group.chat_fan-out-worker_logs",
    "aws_sqs_queue.chat_fan-out_queue",
    "aws_sqs_queue.chat_fan-out_dead-letter-queue",
    "aws_sqs_queue_redrive_allow_policy.chat_fan-out_dead-letter-allow-policy",
    "aws_iam_role_policy.chat_fan-out_consumer-policy",
    "aws_lambda_event_source_mapping.chat_fan-out_event-source-mapping",
    "aws_cloudwatch_dashboard.chat_dashboard",
    "aws_cloudwatch_metric_alarm.chat_alarms_api-execution-errors",
    "aws_cloudwatch_metric_alarm.chat_alarms_api-integration-errors",
    "aws_cloudwatch_metric_alarm.chat_alarms_failed-deliveries",
    "aws_cloudwatch_metric_alarm.chat_alarms_dead-letter-queue",
    "aws_cloudwatch_metric_alarm.chat_alarms_fan-out-queue-age",
    "aws_cloudwatch_metric_alarm.chat_alarms_api-connects",
    "aws_cloudwatch_metric_alarm.chat_alarms_api-messages",
    ...functionAlarms("fan-out-worker"),
  ];
  const perRoute = CHAT_ROUTES.flatMap((route) => {
    const id = route.routeKey.replace(/^\$/, "");
    return [
      `aws_apigatewayv2_integration.chat_websocket_${id}-integration`,
      `aws_apigatewayv2_route.chat_websocket_${id}-route`,
      `aws_lambda_permission.chat_websocket_${id}-permission`,
      ...(route.replies ? [`aws_apigatewayv2_route_response.chat_websocket_${id}-response`] : []),
      `aws_lambda_function.chat_${route.handler}_function`,
      `aws_iam_role.chat_${route.handler}_role`,
      `aws_iam_role_policy.chat_${route.handler}_policy`,
      `aws_cloudwatch_log_group.chat_${route.handler}_logs`,
      ...functionAlarms(route.handler),
    ];
  });
  return [...shared, ...perRoute];
}

/** What the account stack plans. */
export const ACCOUNT_ADDRESSES = [
  "aws_iam_role.apigateway_role",
  "aws_iam_role_policy.apigateway_policy",
  "aws_api_gateway_account.apigateway_account",
];

export function expectedAddresses(variant: PlanVariant): string[] {
  const base = variant.stack === "account" ? ACCOUNT_ADDRESSES : chatAddresses();
  return [...base, ...(variant.adds ?? [])].sort();
}

/**
 * Resource types whose one instance per account (or account and region) is a setting every workload there
 * shares: creating, changing or destroying one changes other people's stacks. A plan may hold one only in
 * a variant that lists it in `accountWide`.
 */
export const ACCOUNT_WIDE_TYPES = [
  "aws_api_gateway_account",
  "aws_account_alternate_contact",
  "aws_account_primary_contact",
  "aws_iam_account_alias",
  "aws_iam_account_password_policy",
  "aws_iam_security_token_service_preferences",
  "aws_s3_account_public_access_block",
  "aws_ebs_encryption_by_default",
  "aws_ebs_default_kms_key",
  "aws_ec2_serial_console_access",
  "aws_ec2_image_block_public_access",
  "aws_default_vpc",
  "aws_default_subnet",
  "aws_default_security_group",
  "aws_default_network_acl",
  "aws_default_route_table",
  "aws_ecr_registry_policy",
  "aws_ecr_registry_scanning_configuration",
  "aws_ecr_account_setting",
  "aws_ecs_account_setting_default",
  "aws_cloudwatch_log_account_policy",
  "aws_xray_encryption_config",
  "aws_guardduty_detector",
  "aws_securityhub_account",
  "aws_macie2_account",
  "aws_inspector2_enabler",
  "aws_config_configuration_recorder",
  "aws_sns_sms_preferences",
];
