/**
 * What the local runtime serves, read from the synthesized Terraform JSON and nothing else: the WebSocket
 * API and its stage, routes and the functions behind them, each function's code, settings and IAM
 * policies, and the DynamoDB tables. Every link (route → integration → function → role → policies) is
 * followed by comparing resolved values, so it does not matter whether the stack wrote a reference or a
 * literal.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parsePolicy, type Policy } from "../iam/policy";
import { authorizerModel } from "./authorizer-model";
import { StackModelError } from "./stack-errors";
import type { ApiModel, AuthorizerModel, FunctionModel, IndexModel, KeyAttribute, RouteModel, StackModel, StageModel, TableModel } from "./stack-model-types";
import { blockList, stackPath, type TerraformBlock, TerraformDocument, type LocalContext } from "./terraform-document";
import { eventSourceMappingModels, mappedFunctionBlocks, queueModels, queueNotes, SQS_RESOURCE_TYPES } from "./queue-model";

/** API Gateway stops waiting for any integration after 29 seconds. */
export const MAX_INTEGRATION_TIMEOUT_MS = 29_000;

/** Resource types the runtime reads or that have no behaviour to emulate (logs, permissions, ...). */
const UNDERSTOOD_TYPES = new Set([
  "aws_apigatewayv2_api",
  "aws_apigatewayv2_stage",
  "aws_apigatewayv2_route",
  "aws_apigatewayv2_route_response",
  "aws_apigatewayv2_integration",
  "aws_apigatewayv2_deployment",
  "aws_apigatewayv2_authorizer",
  "aws_lambda_function",
  "aws_lambda_permission",
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_policy",
  "aws_iam_role_policy_attachment",
  "aws_dynamodb_table",
  "aws_cloudwatch_log_group",
  "aws_api_gateway_account",
  ...SQS_RESOURCE_TYPES,
  // Evaluated and drawn by local/observability from the same JSON.
  "aws_cloudwatch_metric_alarm",
  "aws_cloudwatch_dashboard",
]);

/**
 * What a custom domain consists of: DNS and TLS in front of the API, which the local runtime has no use
 * for. Summed up in one note instead of one per type.
 */
const CUSTOM_DOMAIN_TYPES = new Set([
  "aws_apigatewayv2_domain_name",
  "aws_apigatewayv2_api_mapping",
  "aws_acm_certificate",
  "aws_acm_certificate_validation",
  "aws_route53_record",
]);

/** The policy ARNs AWS owns (`arn:aws:iam::aws:policy/...`): their documents are not in the stack. */
const AWS_MANAGED_POLICY = /^arn:[^:]+:iam::aws:policy\//;

/** Loads `<stackDir>/cdk.tf.json` and builds the model; throws on anything it cannot serve faithfully. */
export function loadStackModel(context: LocalContext): StackModel {
  return buildStackModel(TerraformDocument.load(context));
}

export function buildStackModel(doc: TerraformDocument): StackModel {
  const region = doc.region();
  const api = findApi(doc);
  const stage = findStage(doc, api);
  const { routes, routedFunctions } = routeModels(doc, api, stage.name);
  // Only functions a route or an event source mapping reaches run here; the others need not be runnable locally.
  const invoked = [...new Set([...routedFunctions, ...mappedFunctionBlocks(doc)])];
  const functions = invoked.map((block) => functionModel(doc, block));
  const tables = doc.resources("aws_dynamodb_table").map((block) => tableModel(doc, block));
  const queues = queueModels(doc);
  const eventSourceMappings = eventSourceMappingModels(doc, queues, functions);

  const notes: string[] = [];
  const domains = doc.resources("aws_apigatewayv2_domain_name").map((block) => String(doc.argument(block.address, "domain_name")));
  if (domains.length > 0) notes.push(`custom domain ${domains.join(", ")}: ignored locally; clients connect to the local WebSocket URL instead`);
  for (const type of doc.resourceTypes()) {
    if (!UNDERSTOOD_TYPES.has(type) && !(domains.length > 0 && CUSTOM_DOMAIN_TYPES.has(type))) notes.push(`${type}: not emulated locally`);
  }
  for (const block of doc.resources("aws_lambda_function")) {
    if (!invoked.includes(block)) notes.push(`${block.address}: no route or event source mapping invokes it, so it never runs locally`);
  }
  for (const route of routes) if (route.invokeDenied) notes.push(`route ${route.routeKey}: ${route.invokeDenied}; every invocation will fail, as on AWS`);
  for (const { authorizer } of routes) {
    if (authorizer?.invokeDenied) notes.push(`authorizer ${authorizer.name}: ${authorizer.invokeDenied}; every $connect will fail with 500, as on AWS`);
    if (authorizer?.resultTtlSeconds) notes.push(`authorizer ${authorizer.name}: authorizer_result_ttl_in_seconds is ignored, as API Gateway caches authorizers of HTTP APIs only`);
  }
  notes.push(...queueNotes(doc, queues, eventSourceMappings));
  return { stackDir: doc.stackDir, region, account: doc.account, api, stage, routes, functions, tables, queues, eventSourceMappings, notes };
}

function findApi(doc: TerraformDocument): ApiModel {
  const apis = doc.resources("aws_apigatewayv2_api").filter((b) => doc.argument(b.address, "protocol_type") === "WEBSOCKET");
  if (apis.length !== 1) {
    throw new StackModelError(
      apis.length === 0
        ? "The stack has no aws_apigatewayv2_api with protocol_type WEBSOCKET: there is nothing to serve"
        : `The local runtime serves one WebSocket API, but the stack has ${apis.length}: ${apis.map((a) => a.address).join(", ")}`,
    );
  }
  const block = apis[0]!;
  const expression = doc.argument(block.address, "route_selection_expression");
  if (typeof expression !== "string") throw new StackModelError(`${block.address}: route_selection_expression is not set`);
  return {
    address: block.address,
    id: String(doc.attribute(block.address, "id")),
    name: String(doc.argument(block.address, "name")),
    routeSelectionExpression: expression,
  };
}

function findStage(doc: TerraformDocument, api: ApiModel): StageModel {
  const stages = doc.resources("aws_apigatewayv2_stage").filter((b) => doc.argument(b.address, "api_id") === api.id);
  if (stages.length !== 1) {
    throw new StackModelError(
      stages.length === 0
        ? `${api.address} has no aws_apigatewayv2_stage: clients connect to a stage`
        : `The local runtime serves one stage, but ${api.address} has ${stages.length}: ${stages.map((s) => s.address).join(", ")}`,
    );
  }
  const block = stages[0]!;
  const variables = doc.argument(block.address, "stage_variables") as Record<string, unknown> | undefined;
  return {
    address: block.address,
    name: String(doc.argument(block.address, "name")),
    ...(variables ? { variables: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])) } : {}),
  };
}

function routeModels(doc: TerraformDocument, api: ApiModel, stage: string): { routes: RouteModel[]; routedFunctions: TerraformBlock[] } {
  const routedFunctions: TerraformBlock[] = [];
  const ofApi = (type: string) => doc.resources(type).filter((b) => doc.argument(b.address, "api_id") === api.id);
  const integrations = ofApi("aws_apigatewayv2_integration");
  const routeResponses = ofApi("aws_apigatewayv2_route_response");
  const routes = ofApi("aws_apigatewayv2_route").map((block): RouteModel => {
    const routeKey = String(doc.argument(block.address, "route_key"));
    const where = `${block.address} (route "${routeKey}")`;
    const authorization = doc.argument(block.address, "authorization_type") ?? "NONE";
    let authorizer: AuthorizerModel | undefined;
    if (authorization === "CUSTOM") {
      const authorizerId = doc.argument(block.address, "authorizer_id");
      const lookups = { functionByUri: (uri: unknown) => functionByUri(doc, uri), mayInvoke: (fn: TerraformBlock, arn: string) => mayInvoke(doc, fn, arn) };
      const built = authorizerModel(doc, { api, stage, routeKey, where, authorizerId }, lookups);
      authorizer = built.model;
      if (!routedFunctions.includes(built.fn)) routedFunctions.push(built.fn);
    } else if (authorization !== "NONE") {
      throw new StackModelError(`${where}: authorization_type ${String(authorization)} is not supported locally`);
    }
    if (doc.argument(block.address, "api_key_required") === true) {
      throw new StackModelError(`${where}: api_key_required is not supported locally`);
    }
    const target = doc.argument(block.address, "target");
    const integration = integrations.find((i) => target === `integrations/${String(doc.attribute(i.address, "id"))}`);
    if (!integration) {
      throw new StackModelError(`${where}: target ${JSON.stringify(target)} is not an integration of ${api.address} in this stack`);
    }
    const id = doc.attribute(block.address, "id");
    const fn = integrationFunction(doc, integration);
    if (!routedFunctions.includes(fn)) routedFunctions.push(fn);
    const functionName = String(doc.argument(fn.address, "function_name"));
    const sourceArn = `arn:aws:execute-api:${doc.region(api.address)}:${doc.account}:${api.id}/${stage}/${routeKey}`;
    return {
      address: block.address,
      routeKey,
      functionName,
      integrationTimeoutMs: Math.min(Number(doc.argument(integration.address, "timeout_milliseconds") ?? MAX_INTEGRATION_TIMEOUT_MS), MAX_INTEGRATION_TIMEOUT_MS),
      hasRouteResponse:
        doc.argument(block.address, "route_response_selection_expression") !== undefined &&
        routeResponses.some((r) => doc.argument(r.address, "route_id") === id),
      ...(mayInvoke(doc, fn, sourceArn) ? {} : { invokeDenied: `no aws_lambda_permission lets apigateway.amazonaws.com invoke ${functionName} from ${sourceArn}` }),
      ...(authorizer ? { authorizer } : {}),
    };
  });
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.routeKey)) throw new StackModelError(`${api.address} has two routes with route_key "${route.routeKey}"`);
    seen.add(route.routeKey);
  }
  return { routes, routedFunctions };
}

function integrationFunction(doc: TerraformDocument, integration: TerraformBlock): TerraformBlock {
  const type = doc.argument(integration.address, "integration_type");
  if (type !== "AWS_PROXY") {
    throw new StackModelError(`${integration.address}: integration_type ${String(type)} is not supported locally (only AWS_PROXY to a Lambda function)`);
  }
  const uri = doc.argument(integration.address, "integration_uri");
  const fn = functionByUri(doc, uri);
  if (!fn) {
    throw new StackModelError(`${integration.address}: integration_uri ${JSON.stringify(uri)} is not a Lambda function of this stack`);
  }
  return fn;
}

/** The aws_lambda_function whose ARN or invoke ARN (qualified or not) `uri` is. */
function functionByUri(doc: TerraformDocument, uri: unknown): TerraformBlock | undefined {
  return doc
    .resources("aws_lambda_function")
    .find((f) => ["arn", "invoke_arn", "qualified_arn", "qualified_invoke_arn"].some((attribute) => doc.attribute(f.address, attribute) === uri));
}

/** Whether the function's resource-based policy (its aws_lambda_permissions) lets API Gateway invoke it from `sourceArn`. */
function mayInvoke(doc: TerraformDocument, fn: TerraformBlock, sourceArn: string): boolean {
  const names = [doc.argument(fn.address, "function_name"), doc.attribute(fn.address, "arn")];
  return doc.resources("aws_lambda_permission").some((permission) => {
    const arg = (name: string) => doc.argument(permission.address, name);
    const target = arg("function_name");
    const sourceArnPattern = arg("source_arn");
    const sourceAccount = arg("source_account");
    return (
      names.includes(target) &&
      arg("qualifier") === undefined &&
      ["lambda:InvokeFunction", "lambda:*"].includes(String(arg("action"))) &&
      ["apigateway.amazonaws.com", "*"].includes(String(arg("principal"))) &&
      (sourceArnPattern === undefined || arnLike(String(sourceArnPattern), sourceArn)) &&
      (sourceAccount === undefined || sourceAccount === doc.account)
    );
  });
}

/** IAM's ArnLike: each of the six colon-separated parts matched on its own, with `*` and `?` wildcards. */
export function arnLike(pattern: string, arn: string): boolean {
  const parts = (value: string) => {
    const split = value.split(":");
    return [...split.slice(0, 5), split.slice(5).join(":")];
  };
  const want = parts(pattern);
  const have = parts(arn);
  return want.length === have.length && want.every((p, i) => globMatch(p, have[i]!));
}

/** -1 (or nothing) is Lambda's "unreserved"; 0 stops every invocation, as a reservation of 0 does on AWS. */
function reservedConcurrencyOf(value: unknown): { reservedConcurrency?: number } {
  const reserved = value === undefined || value === null ? -1 : Number(value);
  return Number.isInteger(reserved) && reserved >= 0 ? { reservedConcurrency: reserved } : {};
}

function globMatch(pattern: string, value: string): boolean {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`, "s").test(value);
}

function functionModel(doc: TerraformDocument, block: TerraformBlock): FunctionModel {
  const arg = (name: string) => doc.argument(block.address, name);
  const name = String(arg("function_name"));
  const where = `${block.address} (function ${name})`;
  const fail = (message: string): never => {
    throw new StackModelError(`${where}: ${message}`);
  };

  const runtime = String(arg("runtime") ?? "");
  if (arg("package_type") === "Image") fail("container image functions are not supported locally");
  if (!runtime.startsWith("nodejs")) fail(`runtime "${runtime}" is not supported locally (only nodejs*)`);
  const layers = arg("layers");
  if (Array.isArray(layers) && layers.length > 0) fail("layers are not supported locally");

  const handler = String(arg("handler") ?? "");
  const dot = handler.lastIndexOf(".");
  if (dot <= 0 || dot === handler.length - 1) fail(`handler "${handler}" is not of the form file.export`);
  const { bundleDir, moduleRoot } = bundleOf(doc, block, fail);
  const modulePath = handler.slice(0, dot);
  const moduleFile = [".js", ".mjs", ".cjs"].map((ext) => join(moduleRoot, `${modulePath}${ext}`)).find((file) => existsSync(file));
  if (!moduleFile) fail(`handler "${handler}": no ${modulePath}.js, .mjs or .cjs in ${moduleRoot}`);

  const variables = blockList(arg("environment"))[0]?.variables;
  const environment = Object.fromEntries(
    Object.entries((variables as Record<string, unknown> | undefined) ?? {}).map(([key, value]) => [key, String(value)]),
  );
  const logging = blockList(arg("logging_config"))[0];
  const logGroup = logging?.log_group;

  return {
    address: block.address,
    name,
    arn: String(doc.attribute(block.address, "arn")),
    handler,
    moduleFile: moduleFile!,
    exportName: handler.slice(dot + 1),
    bundleDir,
    runtime,
    timeoutSeconds: Number(doc.attribute(block.address, "timeout")),
    memoryMb: Number(doc.attribute(block.address, "memory_size")),
    ...reservedConcurrencyOf(arg("reserved_concurrent_executions")),
    environment,
    logGroupName: typeof logGroup === "string" ? logGroup : `/aws/lambda/${name}`,
    logging:
      logging?.log_format === "JSON"
        ? { format: "JSON", applicationLogLevel: String(logging.application_log_level ?? "INFO") }
        : { format: "Text" },
    ...roleOf(doc, String(arg("role")), fail),
  };
}

/** The folder `data.archive_file` zips into the function's `filename`. */
function bundleOf(doc: TerraformDocument, block: TerraformBlock, fail: (message: string) => never): { bundleDir: string; moduleRoot: string } {
  const filename = doc.argument(block.address, "filename");
  if (filename === undefined) fail("only code from `filename` (a data.archive_file) is supported locally, not s3_bucket or image_uri");
  const archive = doc.dataSources("archive_file").find((a) => doc.argument(a.address, "output_path") === filename);
  if (!archive) fail(`filename ${JSON.stringify(filename)} is not the output_path of a data.archive_file in this stack, so its sources are unknown`);
  const sourceDir = doc.argument(archive!.address, "source_dir");
  const sourceFile = doc.argument(archive!.address, "source_file");
  if (typeof sourceDir === "string") {
    const dir = stackPath(doc, sourceDir);
    if (!existsSync(dir)) fail(`${archive!.address}: source_dir ${dir} does not exist`);
    return { bundleDir: dir, moduleRoot: dir };
  }
  if (typeof sourceFile === "string") {
    // The zip holds the file at its root: the handler's module is the file's base name.
    const file = stackPath(doc, sourceFile);
    if (!existsSync(file)) fail(`${archive!.address}: source_file ${file} does not exist`);
    return { bundleDir: dirname(file), moduleRoot: dirname(file) };
  }
  return fail(`${archive!.address} has neither source_dir nor source_file; archives built from inline content are not supported locally`);
}

function roleOf(doc: TerraformDocument, roleArn: string, fail: (message: string) => never): Pick<FunctionModel, "role" | "policies"> {
  const roleBlock = doc.resources("aws_iam_role").find((r) => doc.attribute(r.address, "arn") === roleArn);
  if (!roleBlock) return fail(`role ${roleArn} is not an aws_iam_role of this stack, so its policies cannot be checked locally`);
  const role = {
    address: roleBlock.address,
    name: String(doc.attribute(roleBlock.address, "name")),
    arn: roleArn,
  };
  const forRole = (value: unknown) => value === role.name || value === doc.attribute(roleBlock.address, "id");
  const policies: Policy[] = [];
  const add = (document: unknown, label: string) => {
    try {
      policies.push(parsePolicy(document, label));
    } catch (error) {
      fail(`policy ${label} is invalid: ${(error as Error).message}`);
    }
  };

  if (doc.argument(roleBlock.address, "permissions_boundary") !== undefined) {
    fail(`role ${role.name} has a permissions_boundary, which the local IAM check does not evaluate`);
  }
  for (const inline of blockList(doc.argument(roleBlock.address, "inline_policy"))) {
    if (inline.policy !== undefined) add(inline.policy, `${roleBlock.address} inline_policy ${String(inline.name)}`);
  }
  for (const policy of doc.resources("aws_iam_role_policy")) {
    if (forRole(doc.argument(policy.address, "role"))) add(doc.argument(policy.address, "policy"), `${policy.address} (${String(doc.argument(policy.address, "name"))})`);
  }
  const attached = [
    ...((doc.argument(roleBlock.address, "managed_policy_arns") as unknown[] | undefined) ?? []),
    ...doc
      .resources("aws_iam_role_policy_attachment")
      .filter((a) => forRole(doc.argument(a.address, "role")))
      .map((a) => doc.argument(a.address, "policy_arn")),
  ];
  for (const arn of attached) {
    if (AWS_MANAGED_POLICY.test(String(arn))) {
      fail(`role ${role.name} attaches the AWS-managed policy ${String(arn)}, which is not supported locally: its document is not in the stack. Grant the actions with an inline policy instead`);
    }
    const policy = doc.resources("aws_iam_policy").find((p) => doc.attribute(p.address, "arn") === arn);
    if (!policy) fail(`role ${role.name} attaches the policy ${String(arn)}, which is not an aws_iam_policy of this stack`);
    add(doc.argument(policy!.address, "policy"), `${policy!.address} (${String(doc.argument(policy!.address, "name"))})`);
  }
  return { role, policies };
}

function tableModel(doc: TerraformDocument, block: TerraformBlock): TableModel {
  const arg = (name: string) => doc.argument(block.address, name);
  const index = (raw: Record<string, unknown>, hashKey: string): IndexModel => ({
    name: String(raw.name),
    hashKey,
    ...(raw.range_key === undefined ? {} : { rangeKey: String(raw.range_key) }),
    projectionType: String(raw.projection_type ?? "ALL") as IndexModel["projectionType"],
    ...(Array.isArray(raw.non_key_attributes) ? { nonKeyAttributes: raw.non_key_attributes.map(String) } : {}),
  });
  const hashKey = String(arg("hash_key"));
  const ttl = blockList(arg("ttl"))[0];
  return {
    address: block.address,
    name: String(arg("name")),
    arn: String(doc.attribute(block.address, "arn")),
    hashKey,
    ...(arg("range_key") === undefined ? {} : { rangeKey: String(arg("range_key")) }),
    attributes: blockList(arg("attribute")).map((a) => ({ name: String(a.name), type: String(a.type) as KeyAttribute["type"] })),
    globalSecondaryIndexes: blockList(arg("global_secondary_index")).map((raw) => index(raw, String(raw.hash_key))),
    localSecondaryIndexes: blockList(arg("local_secondary_index")).map((raw) => index(raw, hashKey)),
    ...(ttl?.enabled === true && typeof ttl.attribute_name === "string" ? { ttlAttribute: ttl.attribute_name } : {}),
  };
}
