/**
 * Stacks for the local runtime's tests: the real chat stack synthesized into a temp folder, and variants of
 * it written as cdk.tf.json next to it: the same resources with small edits (a function's bundle swapped
 * for a probe, a route added, a grant removed), so each test reads as "the real stack, except ...".
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { localIssuerSettings } from "../../local/identity-provider/local-issuer";
import { synthesizeStack } from "../../local/terraform/synth";

export type TerraformJson = { resource: Record<string, Record<string, any>>; data: Record<string, Record<string, any>>; [key: string]: any };

export interface Workspace {
  readonly dir: string;
  /** The real chat stack, synthesized with default settings. */
  readonly stackDir: string;
  remove(): void;
}

/** Synthesizes the chat stack into a fresh temp folder (one per test file: it takes a couple of seconds). */
export function synthesizeWorkspace(prefix: string): Workspace {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const stackDir = synthesizeStack({ outdir: join(dir, "cdktf.out"), env: { CHAT_AUTH: "none" }, warn: () => undefined });
  return { dir, stackDir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Synthesizes the chat stack in auth mode jwt, trusting the local issuer of a runtime at `httpUrl`, into
 * `<dir>/<name>`: call it from startLocalRuntime's stackDir callback, once the port is known.
 */
export function synthesizeJwtWorkspace(dir: string, name: string, httpUrl: string): Workspace {
  const stackDir = synthesizeStack({ outdir: join(dir, name), env: localIssuerSettings(httpUrl), warn: () => undefined });
  return { dir, stackDir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readStack(stackDir: string): TerraformJson {
  return JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8")) as TerraformJson;
}

/**
 * Writes a variant of a stack into `<workspace>/<name>`: the stack's JSON after `edit`, with archive
 * sources made absolute so the variant keeps using the original bundles unless `edit` swaps them.
 * Returns the variant's stack folder.
 */
export function writeVariant(workspace: Workspace, name: string, edit: (tf: TerraformJson, variantDir: string) => void): string {
  const tf = readStack(workspace.stackDir);
  for (const archive of Object.values(tf.data.archive_file ?? {})) {
    if (typeof archive.source_dir === "string" && !isAbsolute(archive.source_dir)) archive.source_dir = resolve(workspace.stackDir, archive.source_dir);
  }
  const variantDir = join(workspace.dir, name);
  mkdirSync(variantDir, { recursive: true });
  edit(tf, variantDir);
  writeFileSync(join(variantDir, "cdk.tf.json"), JSON.stringify(tf, null, 2));
  return variantDir;
}

/** Writes a one-file bundle (`index.js`) under the variant's assets and returns its folder, relative to the variant. */
export function writeBundle(variantDir: string, name: string, code: string): string {
  const relative = join("assets", name);
  mkdirSync(join(variantDir, relative), { recursive: true });
  writeFileSync(join(variantDir, relative, "index.js"), code);
  return relative;
}

/** The Terraform name of the aws_lambda_function whose function_name is `functionName`. */
export function functionResource(tf: TerraformJson, functionName: string): [string, any] {
  const entry = Object.entries(tf.resource.aws_lambda_function).find(([, fn]) => fn.function_name === functionName);
  if (!entry) throw new Error(`No aws_lambda_function named ${functionName}`);
  return entry;
}

/** Points a function's archive at another source folder (`writeBundle`'s result). */
export function useBundle(tf: TerraformJson, functionName: string, sourceDir: string): void {
  const [, fn] = functionResource(tf, functionName);
  const archive = /^\$\{data\.archive_file\.([^.]+)\.output_path\}$/.exec(fn.filename)?.[1];
  if (!archive) throw new Error(`${functionName}'s filename is not an archive_file output: ${fn.filename}`);
  tf.data.archive_file[archive].source_dir = sourceDir;
}

/** The route resource of a route key. */
export function routeResource(tf: TerraformJson, routeKey: string): [string, any] {
  const entry = Object.entries(tf.resource.aws_apigatewayv2_route).find(([, route]) => route.route_key === routeKey);
  if (!entry) throw new Error(`No route ${routeKey}`);
  return entry;
}

/**
 * Adds a route with its own AWS_PROXY integration to an existing function, written the way the constructs
 * write one (references, not literals): the permission for API Gateway to invoke the function from this
 * route, and optionally a route response.
 */
export function addRoute(tf: TerraformJson, options: { routeKey: string; functionName: string; replies: boolean; integrationTimeoutMs?: number }): void {
  const [apiName] = Object.entries(tf.resource.aws_apigatewayv2_api)[0]!;
  const [fnName] = functionResource(tf, options.functionName);
  const id = `test_${options.routeKey.replace(/\W/g, "_")}`;
  const apiId = `\${aws_apigatewayv2_api.${apiName}.id}`;
  tf.resource.aws_apigatewayv2_integration[`${id}_integration`] = {
    api_id: apiId,
    integration_type: "AWS_PROXY",
    integration_method: "POST",
    integration_uri: `\${aws_lambda_function.${fnName}.invoke_arn}`,
    timeout_milliseconds: options.integrationTimeoutMs ?? 29000,
  };
  tf.resource.aws_apigatewayv2_route[`${id}_route`] = {
    api_id: apiId,
    route_key: options.routeKey,
    target: `integrations/\${aws_apigatewayv2_integration.${id}_integration.id}`,
    ...(options.replies ? { route_response_selection_expression: "$default" } : {}),
  };
  const stage = Object.values(tf.resource.aws_apigatewayv2_stage)[0].name;
  tf.resource.aws_lambda_permission[`${id}_permission`] = {
    action: "lambda:InvokeFunction",
    function_name: `\${aws_lambda_function.${fnName}.function_name}`,
    principal: "apigateway.amazonaws.com",
    source_arn: `\${aws_apigatewayv2_api.${apiName}.execution_arn}/${stage}/${options.routeKey}`,
  };
  if (options.replies) {
    tf.resource.aws_apigatewayv2_route_response[`${id}_response`] = {
      api_id: apiId,
      route_id: `\${aws_apigatewayv2_route.${id}_route.id}`,
      route_response_key: "$default",
    };
  }
}

/** Removes a route (and its integration and route response) from the stack. */
export function removeRoute(tf: TerraformJson, routeKey: string): void {
  const [name, route] = routeResource(tf, routeKey);
  delete tf.resource.aws_apigatewayv2_route[name];
  const integration = /integrations\/\$\{aws_apigatewayv2_integration\.([^.]+)\.id\}/.exec(route.target)?.[1];
  if (integration) delete tf.resource.aws_apigatewayv2_integration[integration];
  for (const [responseName, response] of Object.entries(tf.resource.aws_apigatewayv2_route_response ?? {})) {
    if ((response as any).route_id === `\${aws_apigatewayv2_route.${name}.id}`) delete tf.resource.aws_apigatewayv2_route_response[responseName];
  }
}

/** The policy document of a function's role (its aws_iam_role_policy), parsed, for editing. */
export function editRolePolicy(tf: TerraformJson, functionName: string, edit: (statements: any[]) => any[]): void {
  const [, fn] = functionResource(tf, functionName);
  const role = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(fn.role)?.[1];
  const policy = Object.values(tf.resource.aws_iam_role_policy).find((p: any) => p.role === `\${aws_iam_role.${role}.id}`) as any;
  if (!policy) throw new Error(`No aws_iam_role_policy for ${functionName}'s role`);
  const document = JSON.parse(policy.policy);
  document.Statement = edit(document.Statement);
  policy.policy = JSON.stringify(document);
}

/**
 * A handler for probing the runtime, driven by the frame (or the $connect query string):
 * `{"sleep": ms}` waits, `{"throw": "why"}` throws, `{"reply": "none"}` returns no body, `{"env": true}`
 * returns process.env, anything else returns `{ routeKey, event, context }`. `?status=<code>` makes $connect
 * answer that status, `?protocol=<name>` makes it accept that subprotocol. With PROBE_LOG set, every event
 * is appended to that file as one JSON line.
 */
export const PROBE_HANDLER = `
"use strict";
const fs = require("node:fs");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
exports.handler = async (event, context) => {
  if (process.env.PROBE_LOG) fs.appendFileSync(process.env.PROBE_LOG, JSON.stringify(event) + "\\n");
  const query = event.queryStringParameters || {};
  let frame = {};
  try { frame = JSON.parse(event.body || "{}") || {}; } catch {}
  const wait = Number(frame.sleep || query.sleep || 0);
  if (wait) await sleep(wait);
  if (frame.throw || query.throw) throw new Error(frame.throw || query.throw);
  if (query.status) return { statusCode: Number(query.status) };
  if (query.protocol) return { statusCode: 200, headers: { "Sec-WebSocket-Protocol": query.protocol } };
  if (frame.reply === "none") return { statusCode: 200 };
  if (frame.env) return { statusCode: 200, body: JSON.stringify({ env: process.env }) };
  const info = {
    functionName: context.functionName,
    memoryLimitInMB: context.memoryLimitInMB,
    invokedFunctionArn: context.invokedFunctionArn,
    remainingTimeInMillis: context.getRemainingTimeInMillis(),
    awsRequestId: context.awsRequestId,
  };
  return { statusCode: 200, body: JSON.stringify({ routeKey: event.requestContext.routeKey, event, context: info }) };
};
`;

/** Reads the probe's event log: one event per line. */
export function readProbeLog(file: string): any[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}
