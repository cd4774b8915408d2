/**
 * The attributes Terraform computes for a resource beyond its arguments (`arn`, `id`, `invoke_arn`, ...),
 * given local values: ARNs in the local account and the provider's region, ids that are stable for a
 * resource address, and endpoints of the local gateway when it has one.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { LocalContext, TerraformBlock } from "./terraform-document";

type Json = unknown;

/** Computes the attributes a resource type has beyond its arguments (arn, id, ...). */
export type ComputedAttributes = (resource: ResourceView) => Record<string, () => Json>;

/** What a computed attribute may look at. */
export interface ResourceView {
  readonly block: TerraformBlock;
  readonly region: string;
  readonly account: string;
  readonly context: LocalContext;
  /** The resolved argument; throws if it is missing. */
  arg(name: string): Json;
  /** The resolved argument, or undefined. */
  optionalArg(name: string): Json;
  /** A stable pseudo-random id of `length` lowercase letters and digits, derived from the address. */
  generatedId(length: number): string;
}

const str = (value: Json): string => String(value);

/** AWS's id alphabet for API Gateway and friends: lowercase letters and digits. */
export function stableId(seed: string, length: number): string {
  const digest = createHash("sha256").update(seed).digest();
  let id = "";
  for (let i = 0; id.length < length; i += 1) id += (digest[i % digest.length]! % 36).toString(36);
  return id;
}

function websocketEndpoint(view: ResourceView, apiId: string): string {
  const endpoint = view.context.endpoint;
  return endpoint ? `ws://${endpoint.host}:${endpoint.port}` : `wss://${apiId}.execute-api.${view.region}.amazonaws.com`;
}

/** Terraform's name for a queue without `name`: `name_prefix` or "terraform-", then a generated suffix. */
function queueName(r: ResourceView): string {
  const name = r.optionalArg("name");
  if (name !== undefined) return str(name);
  const suffix = `${r.generatedId(26)}${r.optionalArg("fifo_queue") === true ? ".fifo" : ""}`;
  return `${str(r.optionalArg("name_prefix") ?? "terraform-")}${suffix}`;
}

/** A queue's URL: the local runtime's endpoint when there is one, so the SDK's requests come back here. */
function queueUrl(r: ResourceView, name: string): string {
  const endpoint = r.context.endpoint;
  const origin = endpoint ? `http://${endpoint.host}:${endpoint.port}` : `https://sqs.${r.region}.amazonaws.com`;
  return `${origin}/${r.account}/${name}`;
}

/** A UUID that is stable for a resource address, like the ids Lambda gives event source mappings. */
function stableUuid(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** SQS queues, their policies, and Lambda's event source mappings. */
const SQS_COMPUTED: Readonly<Record<string, ComputedAttributes>> = {
  aws_sqs_queue: (r) => {
    const name = () => queueName(r);
    const url = () => queueUrl(r, name());
    return { id: url, url, name, arn: () => `arn:aws:sqs:${r.region}:${r.account}:${name()}` };
  },
  // These are keyed by the queue they attach to.
  aws_sqs_queue_policy: (r) => ({ id: () => r.arg("queue_url") }),
  aws_sqs_queue_redrive_policy: (r) => ({ id: () => r.arg("queue_url") }),
  aws_sqs_queue_redrive_allow_policy: (r) => ({ id: () => r.arg("queue_url") }),
  aws_lambda_event_source_mapping: (r) => {
    const uuid = () => stableUuid(r.block.address);
    return {
      id: uuid,
      uuid,
      arn: () => `arn:aws:lambda:${r.region}:${r.account}:event-source-mapping:${uuid()}`,
      state: () => (r.optionalArg("enabled") === false ? "Disabled" : "Enabled"),
      state_transition_reason: () => "USER_INITIATED",
      function_arn: () => {
        const fn = str(r.arg("function_name"));
        return fn.startsWith("arn:") ? fn : `arn:aws:lambda:${r.region}:${r.account}:function:${fn}`;
      },
    };
  },
};

/**
 * The attributes Terraform computes for the resource types a serverless stack uses. An attribute not
 * listed here is read from the resource's own arguments; anything else is an unknown attribute.
 */
export const COMPUTED: Readonly<Record<string, ComputedAttributes>> = {
  aws_apigatewayv2_api: (r) => {
    const id = () => r.generatedId(10);
    return {
      id,
      arn: () => `arn:aws:apigateway:${r.region}::/apis/${id()}`,
      execution_arn: () => `arn:aws:execute-api:${r.region}:${r.account}:${id()}`,
      api_endpoint: () =>
        r.optionalArg("protocol_type") === "WEBSOCKET" ? websocketEndpoint(r, id()) : `https://${id()}.execute-api.${r.region}.amazonaws.com`,
    };
  },
  aws_apigatewayv2_stage: (r) => ({
    id: () => r.arg("name"),
    arn: () => `arn:aws:apigateway:${r.region}::/apis/${str(r.arg("api_id"))}/stages/${str(r.arg("name"))}`,
    execution_arn: () => `arn:aws:execute-api:${r.region}:${r.account}:${str(r.arg("api_id"))}/${str(r.arg("name"))}`,
    invoke_url: () => `${websocketEndpoint(r, str(r.arg("api_id")))}/${str(r.arg("name"))}`,
  }),
  aws_apigatewayv2_integration: (r) => ({ id: () => r.generatedId(7) }),
  aws_apigatewayv2_route: (r) => ({ id: () => r.generatedId(7) }),
  aws_apigatewayv2_route_response: (r) => ({ id: () => r.generatedId(7) }),
  aws_apigatewayv2_deployment: (r) => ({ id: () => r.generatedId(6) }),
  aws_apigatewayv2_authorizer: (r) => ({ id: () => r.generatedId(6) }),
  aws_lambda_function: (r) => {
    const arn = () => `arn:aws:lambda:${r.region}:${r.account}:function:${str(r.arg("function_name"))}`;
    const invokeArn = (functionArn: string) => `arn:aws:apigateway:${r.region}:lambda:path/2015-03-31/functions/${functionArn}/invocations`;
    return {
      id: () => r.arg("function_name"),
      arn,
      invoke_arn: () => invokeArn(arn()),
      qualified_arn: () => `${arn()}:$LATEST`,
      qualified_invoke_arn: () => invokeArn(`${arn()}:$LATEST`),
      version: () => "$LATEST",
      // Terraform's defaults, so a reference to an unset argument still has its deployed value.
      timeout: () => r.optionalArg("timeout") ?? 3,
      memory_size: () => r.optionalArg("memory_size") ?? 128,
    };
  },
  aws_lambda_permission: (r) => ({ id: () => r.optionalArg("statement_id") ?? `terraform-${r.generatedId(26)}` }),
  aws_iam_role: (r) => ({
    id: () => r.arg("name"),
    arn: () => `arn:aws:iam::${r.account}:role${str(r.optionalArg("path") ?? "/")}${str(r.arg("name"))}`,
    unique_id: () => `AROA${r.generatedId(17).toUpperCase()}`,
  }),
  aws_iam_role_policy: (r) => ({ id: () => `${str(r.arg("role"))}:${str(r.arg("name"))}` }),
  aws_iam_policy: (r) => {
    const arn = () => `arn:aws:iam::${r.account}:policy${str(r.optionalArg("path") ?? "/")}${str(r.arg("name"))}`;
    return { id: arn, arn, policy_id: () => `ANPA${r.generatedId(17).toUpperCase()}` };
  },
  aws_iam_role_policy_attachment: (r) => ({ id: () => `${str(r.arg("role"))}-${r.generatedId(26)}` }),
  aws_dynamodb_table: (r) => {
    const arn = () => `arn:aws:dynamodb:${r.region}:${r.account}:table/${str(r.arg("name"))}`;
    // A fixed label: the stream's creation time on AWS.
    const label = "1970-01-01T00:00:00.000";
    return { id: () => r.arg("name"), arn, stream_arn: () => `${arn()}/stream/${label}`, stream_label: () => label };
  },
  aws_cloudwatch_log_group: (r) => ({
    id: () => r.arg("name"),
    arn: () => `arn:aws:logs:${r.region}:${r.account}:log-group:${str(r.arg("name"))}`,
  }),
  aws_api_gateway_account: () => ({ id: () => "api-gateway-account" }),
  aws_cloudwatch_metric_alarm: (r) => ({
    id: () => r.arg("alarm_name"),
    arn: () => `arn:aws:cloudwatch:${r.region}:${r.account}:alarm:${str(r.arg("alarm_name"))}`,
  }),
  ...SQS_COMPUTED,
  "data.archive_file": (r) => {
    const digest = (algorithm: string, encoding: "hex" | "base64") => () => archiveSourceDigest(r, algorithm, encoding);
    return {
      id: digest("sha1", "hex"),
      output_sha: digest("sha1", "hex"),
      output_md5: digest("md5", "hex"),
      output_sha256: digest("sha256", "hex"),
      output_base64sha256: digest("sha256", "base64"),
      output_sha512: digest("sha512", "hex"),
      output_base64sha512: digest("sha512", "base64"),
    };
  },
  "data.aws_region": (r) => ({ id: () => r.region, name: () => r.region, region: () => r.region, endpoint: () => `${r.region}.amazonaws.com` }),
  "data.aws_caller_identity": (r) => ({
    id: () => r.account,
    account_id: () => r.account,
    arn: () => `arn:aws:iam::${r.account}:root`,
    user_id: () => r.account,
  }),
  "data.aws_partition": () => ({
    id: () => "aws",
    partition: () => "aws",
    dns_suffix: () => "amazonaws.com",
    reverse_dns_prefix: () => "com.amazonaws",
  }),
};

/**
 * A hash of the archive's sources, standing in for the hash of the zip (which the local runtime never
 * builds): it changes exactly when the sources change, which is what `source_code_hash` is for.
 */
function archiveSourceDigest(r: ResourceView, algorithm: string, encoding: "hex" | "base64"): string {
  const hash = createHash(algorithm);
  const sourceDir = r.optionalArg("source_dir");
  const sourceFile = r.optionalArg("source_file");
  const root = resolve(r.context.stackDir, str(sourceDir ?? sourceFile ?? r.context.stackDir));
  const files = sourceDir !== undefined ? listFiles(root) : [root];
  for (const file of files) hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  return hash.digest(encoding);
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    });
}
