import { Apigatewayv2Api } from "@cdktf/provider-aws/lib/apigatewayv2-api";
import { Apigatewayv2Stage } from "@cdktf/provider-aws/lib/apigatewayv2-stage";
import { DynamodbTable } from "@cdktf/provider-aws/lib/dynamodb-table";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { TerraformStack, Testing } from "cdktf";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { bundleHandler, esbuildOptions } from "../constructs/bundle";
import { BundledFunction } from "../constructs/bundled-function";
import { AUTHORIZER_ENTRY } from "../constructs/websocket-authorizer";
import { CHAT_ROUTES } from "../constructs/websocket-chat";
import { ref, resources, resourceWhere, synthChat, type SynthesizedStack, type TerraformJson } from "./support/synth";

const PROTOCOL_ROUTES = ["$connect", "$disconnect", "$default", "send-message", "join", "leave", "members", "history", "create-room", "invite", "kick", "ban"];
const HANDLERS = join(__dirname, "..", "handlers");
const REPLYING_ROUTES = ["$default", "send-message", "join", "leave", "members", "history", "create-room", "invite", "kick", "ban"];

let chat: SynthesizedStack;
let tf: TerraformJson;
beforeAll(() => {
  chat = synthChat();
  tf = chat.tf;
});

/** The function a route's integration invokes, found by following the Terraform references. */
function functionOfRoute(routeKey: string, stack: TerraformJson = tf): [string, Record<string, any>] {
  const [, route] = resourceWhere(stack, "aws_apigatewayv2_route", "route_key", routeKey);
  const integrationName = /^integrations\/\$\{aws_apigatewayv2_integration\.([^.]+)\.id\}$/.exec(route.target)![1];
  const integration = stack.resource.aws_apigatewayv2_integration[integrationName];
  const functionName = /^\$\{aws_lambda_function\.([^.]+)\.invoke_arn\}$/.exec(integration.integration_uri)![1];
  return [functionName, stack.resource.aws_lambda_function[functionName]];
}

/** Every statement of every inline policy on the role of a Lambda function (the queue consumer's has two). */
function policyOfFunction(fn: Record<string, any>, stack: TerraformJson = tf): { Statement: Array<{ Effect: string; Action: string | string[]; Resource: string | string[] }> } {
  const roleName = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(fn.role)![1];
  const policies = resources(stack, "aws_iam_role_policy").filter(([, p]) => p.role === ref("aws_iam_role", roleName, "id"));
  expect(policies.length).toBeGreaterThan(0);
  return { Statement: policies.flatMap(([, p]) => JSON.parse(p.policy).Statement) };
}

/** The function that consumes the fan-out queue. */
function workerFunction(): [string, Record<string, any>] {
  return resourceWhere(tf, "aws_lambda_function", "function_name", "chat-fan-out-worker");
}

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

describe("WebSocket API", () => {
  test("is a WebSocket API that routes on the frame's action", () => {
    expect(chat.json).toHaveResourceWithProperties(Apigatewayv2Api, {
      protocol_type: "WEBSOCKET",
      route_selection_expression: "$request.body.action",
    });
  });

  test("has exactly the protocol's routes", () => {
    const routeKeys = resources(tf, "aws_apigatewayv2_route").map(([, r]) => r.route_key);
    expect(routeKeys.sort()).toEqual([...PROTOCOL_ROUTES].sort());
  });

  test.each(PROTOCOL_ROUTES)("route %s invokes its own function through an AWS_PROXY integration", (routeKey) => {
    const [, route] = resourceWhere(tf, "aws_apigatewayv2_route", "route_key", routeKey);
    const integrationName = /^integrations\/\$\{aws_apigatewayv2_integration\.([^.]+)\.id\}$/.exec(route.target)![1];
    expect(tf.resource.aws_apigatewayv2_integration[integrationName]).toMatchObject({
      integration_type: "AWS_PROXY",
      integration_method: "POST",
    });
    const [functionName] = functionOfRoute(routeKey);
    const othersUsingIt = PROTOCOL_ROUTES.filter((other) => other !== routeKey && functionOfRoute(other)[0] === functionName);
    expect(othersUsingIt).toEqual([]);
  });

  test.each(PROTOCOL_ROUTES)("API Gateway may invoke the function of %s from that route of this API only", (routeKey) => {
    const [functionName] = functionOfRoute(routeKey);
    const [, permission] = resourceWhere(
      tf,
      "aws_lambda_permission",
      "function_name",
      ref("aws_lambda_function", functionName, "function_name"),
    );
    const [apiName] = resources(tf, "aws_apigatewayv2_api")[0];
    expect(permission).toMatchObject({
      action: "lambda:InvokeFunction",
      principal: "apigateway.amazonaws.com",
      source_arn: `${ref("aws_apigatewayv2_api", apiName, "execution_arn")}/prod/${routeKey}`,
    });
  });

  test.each(PROTOCOL_ROUTES)("route %s is created only once API Gateway may invoke its function", (routeKey) => {
    // The stage deploys a route as soon as it exists: without the permission its first frames would fail.
    const [functionName] = functionOfRoute(routeKey);
    const [permissionName] = resourceWhere(tf, "aws_lambda_permission", "function_name", ref("aws_lambda_function", functionName, "function_name"));
    const [, route] = resourceWhere(tf, "aws_apigatewayv2_route", "route_key", routeKey);
    expect(route.depends_on).toContain(`aws_lambda_permission.${permissionName}`);
  });

  test("the same stack in two regions of one account shares no account-wide name (IAM roles, the dashboard)", () => {
    // A role or dashboard name taken twice fails the second apply (EntityAlreadyExists) or, for a
    // dashboard, silently takes over the first region's, which destroying either stack then deletes.
    const accountWide = (env: Record<string, string>) => {
      const { tf: synthesized } = synthChat({ ...env, CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://idp.example.com", CHAT_JWT_AUDIENCE: "chat" });
      return [
        ...resources(synthesized, "aws_iam_role").map(([, role]) => `role ${role.name}`),
        ...resources(synthesized, "aws_cloudwatch_dashboard").map(([, dashboard]) => `dashboard ${dashboard.dashboard_name}`),
      ];
    };
    const east = accountWide({ AWS_REGION: "us-east-1" });
    const west = accountWide({ AWS_REGION: "eu-west-1" });

    expect(east.filter((name) => name.startsWith("dashboard"))).toHaveLength(1);
    expect(east.filter((name) => west.includes(name))).toEqual([]);
  });

  test("a role name over IAM's 64 characters fails synth, naming the setting to shorten", () => {
    expect(() => synthChat({ CHAT_NAME_PREFIX: "c".repeat(30), AWS_REGION: "ap-southeasterly-1" })).toThrow(/over IAM's 64 characters; shorten CHAT_NAME_PREFIX/);
  });

  test("routes whose handler replies have a $default route response, the others none", () => {
    const routesWithResponse = resources(tf, "aws_apigatewayv2_route_response").map(([, response]) => {
      expect(response.route_response_key).toBe("$default");
      const routeName = /^\$\{aws_apigatewayv2_route\.([^.]+)\.id\}$/.exec(response.route_id)![1];
      const route = tf.resource.aws_apigatewayv2_route[routeName];
      expect(route.route_response_selection_expression).toBe("$default");
      return route.route_key;
    });
    expect(routesWithResponse.sort()).toEqual([...REPLYING_ROUTES].sort());
    expect(resourceWhere(tf, "aws_apigatewayv2_route", "route_key", "$connect")[1].route_response_selection_expression).toBeUndefined();
  });

  test("the stage auto-deploys, throttles by default and logs errors", () => {
    expect(chat.json).toHaveResourceWithProperties(Apigatewayv2Stage, {
      name: "prod",
      auto_deploy: true,
      default_route_settings: {
        throttling_burst_limit: 500,
        throttling_rate_limit: 1000,
        logging_level: "ERROR",
        data_trace_enabled: false,
      },
    });
  });

  test("the stage writes access logs to a log group with retention", () => {
    const [, stage] = resources(tf, "aws_apigatewayv2_stage")[0];
    const logGroupName = /^\$\{aws_cloudwatch_log_group\.([^.]+)\.arn\}$/.exec(stage.access_log_settings.destination_arn)![1];
    expect(tf.resource.aws_cloudwatch_log_group[logGroupName].retention_in_days).toBe(30);
    expect(JSON.parse(stage.access_log_settings.format)).toMatchObject({ routeKey: "$context.routeKey", status: "$context.status" });
  });

  test("each access log line says who: the source IP, user agent and authorizer principal, beside the connection, event and route", () => {
    const [, stage] = resources(tf, "aws_apigatewayv2_stage")[0];
    const format = stage.access_log_settings.format as string;
    expect(JSON.parse(format)).toMatchObject({
      sourceIp: "$context.identity.sourceIp",
      userAgent: "$context.identity.userAgent",
      principalId: "$context.authorizer.principalId",
      authorizerStatus: "$context.authorizer.status",
      connectionId: "$context.connectionId",
      eventType: "$context.eventType",
      routeKey: "$context.routeKey",
      status: "$context.status",
      requestId: "$context.requestId",
    });
    // API Gateway refuses an access log format over 3 KB.
    expect(Buffer.byteLength(format)).toBeLessThanOrEqual(3 * 1024);
    // A query string may carry a token; message bodies are the users' words.
    expect(format).not.toMatch(/querystring|body/i);
  });

  test("API Gateway's execution log group is created with retention before the stage enables logging", () => {
    const [apiName] = resources(tf, "aws_apigatewayv2_api")[0];
    const [logsName, logs] = resourceWhere(
      tf,
      "aws_cloudwatch_log_group",
      "name",
      `API-Gateway-Execution-Logs_${ref("aws_apigatewayv2_api", apiName, "id")}/prod`,
    );
    expect(logs.retention_in_days).toBe(30);
    expect(resources(tf, "aws_apigatewayv2_stage")[0][1].depends_on).toContain(`aws_cloudwatch_log_group.${logsName}`);
  });

  test("deploying the chat changes no account-wide setting: the stage relies on the account's CloudWatch role", () => {
    expect(resources(tf, "aws_api_gateway_account")).toEqual([]);
    expect(resources(tf, "aws_iam_role").map(([, r]) => JSON.parse(r.assume_role_policy).Statement[0].Principal.Service)).not.toContain(
      "apigateway.amazonaws.com",
    );
  });

  test("the account setting earlier versions created is forgotten on upgrade, never destroyed", () => {
    const removed = tf.removed ?? [];
    expect(removed.map((r) => r.from.split(".")[0]).sort()).toEqual(["aws_api_gateway_account", "aws_iam_role", "aws_iam_role_policy"]);
    for (const block of removed) expect(block.lifecycle).toEqual({ destroy: false });
  });
});

describe("connections table", () => {
  test("is on-demand, keyed by a generic partition and sort key, with TTL, point-in-time recovery and encryption", () => {
    expect(chat.json).toHaveResourceWithProperties(DynamodbTable, {
      name: "chat-connections",
      billing_mode: "PAY_PER_REQUEST",
      hash_key: "pk",
      range_key: "sk",
      ttl: { attribute_name: "expiresAt", enabled: true },
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true },
    });
  });

  test("has no secondary index: every read that decides who receives a message is a strongly consistent base-table read", () => {
    const [, table] = resources(tf, "aws_dynamodb_table")[0];
    expect(table.global_secondary_index).toBeUndefined();
    expect(table.local_secondary_index).toBeUndefined();
  });

  test("PROVISIONED billing sets the table's capacities", () => {
    const { tf: provisioned } = synthChat({ CHAT_BILLING_MODE: "PROVISIONED", CHAT_READ_CAPACITY: "7", CHAT_WRITE_CAPACITY: "3" });
    const [, table] = resources(provisioned, "aws_dynamodb_table")[0];
    expect(table).toMatchObject({ billing_mode: "PROVISIONED", read_capacity: 7, write_capacity: 3 });
  });
});

describe("functions", () => {
  test("one per route and one fan-out worker, on nodejs22.x arm64 with the configured memory and timeout", () => {
    expect(resources(tf, "aws_lambda_function")).toHaveLength(PROTOCOL_ROUTES.length + 1);
    for (const [, fn] of resources(tf, "aws_lambda_function")) {
      const timeout = fn.function_name === "chat-fan-out-worker" ? 60 : 10;
      expect(fn).toMatchObject({ runtime: "nodejs22.x", architectures: ["arm64"], memory_size: 256, timeout, handler: "index.handler" });
    }
  });

  test("CHAT_LAMBDA_RUNTIME=nodejs24.x runs every function on nodejs24.x, each bundled for Node 24", () => {
    const node24 = synthChat({ CHAT_LAMBDA_RUNTIME: "nodejs24.x", CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://issuer.example.com", CHAT_JWT_AUDIENCE: "client" });
    const runtimes = resources(node24.tf, "aws_lambda_function").map(([, fn]) => fn.runtime);
    // Every route, the fan-out worker and the authorizer.
    expect(runtimes).toHaveLength(PROTOCOL_ROUTES.length + 2);
    expect(new Set(runtimes)).toEqual(new Set(["nodejs24.x"]));
    const built = node24.stack.chat;
    const entries: Array<[BundledFunction, string]> = [
      ...Object.entries(built.functions).map(([handler, fn]): [BundledFunction, string] => [fn, join(HANDLERS, `${handler}.ts`)]),
      [built.fanOutWorker, join(HANDLERS, "fan-out-worker.ts")],
      [built.authorizer!.function, AUTHORIZER_ENTRY],
    ];
    for (const [fn, entry] of entries) {
      // Synth copies the bundle esbuild built with Node 24's options, a build of its own beside Node 22's.
      expect(fn.bundleDir).toBe(bundleHandler(entry, { runtime: "nodejs24.x" }));
      expect(fn.bundleDir).not.toBe(bundleHandler(entry, { runtime: "nodejs22.x" }));
    }
    expect(esbuildOptions({ runtime: "nodejs24.x" }).target).toBe("node24");
  });

  test("reserve no concurrency by default, so the stack deploys in an account of any quota", () => {
    for (const [, fn] of resources(tf, "aws_lambda_function")) expect(fn.reserved_concurrent_executions).toBeUndefined();
  });

  test("CHAT_RESERVED_CONCURRENCY reserves that many for each route's function and the authorizer, and the queue's maximum concurrency for its consumer", () => {
    const jwt = { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://issuer.example.com", CHAT_JWT_AUDIENCE: "client" };
    const { tf: reserved } = synthChat({ ...jwt, CHAT_RESERVED_CONCURRENCY: "20", CHAT_FANOUT_MAX_CONCURRENCY: "12" });
    const byName = Object.fromEntries(resources(reserved, "aws_lambda_function").map(([, fn]) => [fn.function_name, fn.reserved_concurrent_executions]));
    expect(byName).toEqual({
      ...Object.fromEntries(CHAT_ROUTES.map((route) => [`chat-${route.handler}`, 20])),
      "chat-authorizer": 20,
      "chat-fan-out-worker": 12,
    });
    // $disconnect has its own 20 whatever send-message takes: a flood of frames cannot throttle the cleanup.
    expect(byName["chat-disconnect"]).toBe(20);
    const [, mapping] = resources(reserved, "aws_lambda_event_source_mapping")[0]!;
    expect(mapping.scaling_config.maximum_concurrency).toBeLessThanOrEqual(byName["chat-fan-out-worker"]);
  });

  test("a reservation of 0, which would stop the function altogether, is refused by the construct", () => {
    const stack = new TerraformStack(Testing.app(), "zero");
    const make = (reservedConcurrency: number) => () =>
      new BundledFunction(stack, `fn-${reservedConcurrency}`, { functionName: `t-${reservedConcurrency}`, region: "us-east-1", entry: join(HANDLERS, "default.ts"), statements: [], reservedConcurrency });
    expect(make(0)).toThrow(/reservedConcurrency must be a whole number of at least 1, got 0/);
    expect(make(1.5)).toThrow(/got 1.5/);
    expect(make(1)).not.toThrow();
  });

  test("memory and timeout follow the configuration", () => {
    const { json } = synthChat({ CHAT_LAMBDA_MEMORY_MB: "1024", CHAT_LAMBDA_TIMEOUT_SECONDS: "25" });
    expect(json).toHaveResourceWithProperties(LambdaFunction, { memory_size: 1024, timeout: 25 });
  });

  test("code and its hash come from a zip that data.archive_file makes of the bundle", () => {
    for (const [, fn] of resources(tf, "aws_lambda_function")) {
      const archiveName = /^\$\{data\.archive_file\.([^.]+)\.output_path\}$/.exec(fn.filename)![1];
      expect(fn.source_code_hash).toBe(`\${data.archive_file.${archiveName}.output_base64sha256}`);
      const archive = tf.data.archive_file[archiveName];
      expect(archive.type).toBe("zip");
      // Relative to the stack folder, so terraform finds it wherever the repository is checked out.
      expect(archive.source_dir).toMatch(/^assets\/[^/]+\/[0-9A-F]+$/);
      expect(archive.output_path).toMatch(/^\$\{path\.module\}\/dist\/[a-z-]+\.zip$/);
    }
  });

  test("synth writes every bundle where its archive_file looks for it", () => {
    const { stack } = synthChat();
    const stackDir = join(Testing.fullSynth(stack), "stacks", "chat");
    for (const [, archive] of Object.entries(tf.data.archive_file)) {
      const bundle = join(stackDir, archive.source_dir, "index.js");
      expect(existsSync(bundle)).toBe(true);
      expect(statSync(bundle).size).toBeGreaterThan(1000);
    }
  });

  test("the functions get the table's name, the fan-out settings, the callback URL, the auth mode and the metrics settings where they use them", () => {
    const tableName = ref("aws_dynamodb_table", resources(tf, "aws_dynamodb_table")[0][0], "name");
    expect(functionOfRoute("send-message")[1].environment.variables).toEqual({
      TABLE_NAME: tableName,
      FANOUT_CONCURRENCY: "25",
      CALLBACK_URL: tf.output.callback_url.value,
      FANOUT_QUEUE_URL: ref("aws_sqs_queue", resourceWhere(tf, "aws_sqs_queue", "name", "chat-fan-out")[0], "url"),
      INLINE_FANOUT_LIMIT: "1000",
      FANOUT_JOB_SIZE: "500",
      HISTORY_DAYS: "7",
      METRICS_NAMESPACE: "WebsocketChat",
      METRICS_SERVICE: "chat",
      BROADCAST: "everyone",
      USER_RATE: "5",
      USER_BURST: "20",
    });
    expect(workerFunction()[1].environment.variables).toEqual({
      TABLE_NAME: tableName,
      FANOUT_CONCURRENCY: "25",
      CALLBACK_URL: tf.output.callback_url.value,
      METRICS_NAMESPACE: "WebsocketChat",
      METRICS_SERVICE: "chat",
    });
    expect(functionOfRoute("$connect")[1].environment.variables).toEqual({ TABLE_NAME: tableName, AUTH_MODE: "none" });
    expect(functionOfRoute("members")[1].environment.variables).toEqual({ TABLE_NAME: tableName, USER_RATE: "5", USER_BURST: "20" });
    expect(functionOfRoute("join")[1].environment.variables).toMatchObject({ MAX_ROOMS_PER_CONNECTION: "50" });
    expect(functionOfRoute("history")[1].environment.variables).toEqual({ TABLE_NAME: tableName, HISTORY_DAYS: "7", USER_RATE: "5", USER_BURST: "20" });
  });

  test("CHAT_HISTORY_DAYS reaches the functions that store and read history", () => {
    const { tf: off } = synthChat({ CHAT_HISTORY_DAYS: "0" });
    const variables = (route: string) => resources(off, "aws_lambda_function").find(([, fn]) => fn.function_name === `chat-${route}`)![1].environment.variables;
    expect(variables("send-message").HISTORY_DAYS).toBe("0");
    expect(variables("history").HISTORY_DAYS).toBe("0");
    expect(variables("join").HISTORY_DAYS).toBeUndefined();
  });

  test("each function has its own role, which only Lambda may assume", () => {
    const roles = resources(tf, "aws_lambda_function").map(([, fn]) => fn.role);
    expect(new Set(roles).size).toBe(roles.length);
    for (const role of roles) {
      const roleName = /^\$\{aws_iam_role\.([^.]+)\.arn\}$/.exec(role)![1];
      expect(JSON.parse(tf.resource.aws_iam_role[roleName].assume_role_policy).Statement).toEqual([
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
    }
  });

  test("each function logs to its own log group with retention and may write only there", () => {
    for (const [, fn] of resources(tf, "aws_lambda_function")) {
      const [logsName, logs] = resourceWhere(tf, "aws_cloudwatch_log_group", "name", `/aws/lambda/${fn.function_name}`);
      expect(logs.retention_in_days).toBe(30);
      expect(fn.logging_config.log_group).toBe(ref("aws_cloudwatch_log_group", logsName, "name"));
      expect(fn.depends_on).toContain(`aws_cloudwatch_log_group.${logsName}`);
      const logStatements = policyOfFunction(fn).Statement.filter((s) => list(s.Action).some((a) => a.startsWith("logs:")));
      expect(logStatements).toEqual([
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${ref("aws_cloudwatch_log_group", logsName, "arn")}:log-stream:*`,
        },
      ]);
    }
  });

  test("CHAT_LOG_RETENTION_DAYS sets the retention of every log group", () => {
    const { tf: week } = synthChat({ CHAT_LOG_RETENTION_DAYS: "7" });
    const retentions = resources(week, "aws_cloudwatch_log_group").map(([, g]) => g.retention_in_days);
    // One per function (the routes' and the fan-out worker's), and the API's access and execution logs.
    expect(retentions.length).toBe(PROTOCOL_ROUTES.length + 1 + 2);
    expect(new Set(retentions)).toEqual(new Set([7]));
  });
});

describe("least privilege", () => {
  const table = () => ref("aws_dynamodb_table", resources(tf, "aws_dynamodb_table")[0][0], "arn");
  const connections = () => `${ref("aws_apigatewayv2_api", resources(tf, "aws_apigatewayv2_api")[0][0], "execution_arn")}/prod/POST/@connections/*`;

  const expectedGrants: Record<string, () => Array<[string, string]>> = {
    // A transaction's items are authorized as their single-item actions: three puts.
    $connect: () => [["dynamodb:PutItem", table()]],
    $disconnect: () => [...removal(), ["execute-api:ManageConnections", connections()]],
    // Every client route takes a frame from its user's bucket: one conditional UpdateItem.
    $default: () => [["dynamodb:GetItem", table()], ["dynamodb:UpdateItem", table()]],
    // The sender's record and the target's (a room membership, a direct recipient) in one BatchGetItem.
    // A room message: its room's counter and its id in a BatchGetItem, then one transaction (an Update, two Puts).
    "send-message": () => [
      ...removal(),
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:PutItem", table()],
      ["execute-api:ManageConnections", connections()],
      ["sqs:SendMessage", queue()],
    ],
    // Reads in one BatchGetItem (and the counter by GetItem); one transaction whose check of the user's standing
    // in the room is authorized as ConditionCheckItem.
    join: () => [
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:GetItem", table()],
      ["dynamodb:UpdateItem", table()],
      ["dynamodb:PutItem", table()],
      ["dynamodb:ConditionCheckItem", table()],
      ["dynamodb:Query", table()],
      ["execute-api:ManageConnections", connections()],
    ],
    // No posts: the room is new, nobody else is in it to hear of it.
    "create-room": () => [
      ["dynamodb:GetItem", table()],
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:Query", table()],
      ["dynamodb:UpdateItem", table()],
      ["dynamodb:PutItem", table()],
      ["dynamodb:ConditionCheckItem", table()],
    ],
    // The caller and the room's record in one BatchGetItem, the user's standing, the user's list; posts the invitation.
    invite: () => [
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:UpdateItem", table()],
      ["dynamodb:Query", table()],
      ["execute-api:ManageConnections", connections()],
    ],
    // As invite, then leave's read and transaction for each of the user's connections; posts `removed` and presence.
    kick: () => [
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:UpdateItem", table()],
      ["dynamodb:Query", table()],
      ["dynamodb:GetItem", table()],
      ["dynamodb:DeleteItem", table()],
      ["execute-api:ManageConnections", connections()],
    ],
    leave: () => [
      ["dynamodb:GetItem", table()],
      ["dynamodb:DeleteItem", table()],
      ["dynamodb:Query", table()],
      ["dynamodb:UpdateItem", table()],
      ["execute-api:ManageConnections", connections()],
    ],
    members: () => [
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:Query", table()],
      ["dynamodb:UpdateItem", table()],
    ],
    // Reads only connections' items (its own record and membership) and rooms' history; writes only the
    // user's frame bucket (the next test).
    history: () => [
      ["dynamodb:BatchGetItem", table()],
      ["dynamodb:Query", table()],
      ["dynamodb:UpdateItem", table()],
    ],
    // The caller's record, the ban's Put or Delete, the user's list; the frame bucket (the next test). No
    // DELETE on @connections in none mode, where nobody is an admin.
    ban: () => [
      ["dynamodb:GetItem", table()],
      ["dynamodb:PutItem", table()],
      ["dynamodb:DeleteItem", table()],
      ["dynamodb:Query", table()],
      ["dynamodb:UpdateItem", table()],
    ],
  };

  test("the history role reads only conn# and hist# partitions and writes only limits#: LeadingKeys, and no request without a leading key", () => {
    const statements = policyOfFunction(functionOfRoute("history")[1]).Statement.filter((s) => !list(s.Action).some((a) => a.startsWith("logs:")));
    expect(statements).toEqual([
      {
        Effect: "Allow",
        Action: ["dynamodb:BatchGetItem", "dynamodb:Query"],
        Resource: table(),
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["conn#*", "hist#*"] },
          Null: { "dynamodb:LeadingKeys": "false" },
        },
      },
      {
        Effect: "Allow",
        Action: "dynamodb:UpdateItem",
        Resource: table(),
        Condition: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["limits#*"] },
          Null: { "dynamodb:LeadingKeys": "false" },
        },
      },
    ]);
    // No other role is held by a condition it does not know about.
    for (const route of PROTOCOL_ROUTES.filter((r) => r !== "history" && r !== "ban")) {
      for (const statement of policyOfFunction(functionOfRoute(route)[1]).Statement) expect((statement as { Condition?: unknown }).Condition).toBeUndefined();
    }
  });
  test("the ban role reads and writes only the caller's record (conn#), ban# items and users' lists (user#), and its frame bucket (limits#)", () => {
    const statements = policyOfFunction(functionOfRoute("ban")[1]).Statement.filter((s) => !list(s.Action).some((a) => a.startsWith("logs:")));
    const held = (patterns: string[]) => ({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": patterns }, Null: { "dynamodb:LeadingKeys": "false" } });
    expect(statements).toEqual([
      { Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"], Resource: table(), Condition: held(["conn#*", "ban#*", "user#*"]) },
      { Effect: "Allow", Action: "dynamodb:UpdateItem", Resource: table(), Condition: held(["limits#*"]) },
    ]);
  });

  const queue = () => ref("aws_sqs_queue", resourceWhere(tf, "aws_sqs_queue", "name", "chat-fan-out")[0], "arn");
  /** Removing a connection: mark it closing, read what lists it, delete all of it. */
  const removal = (): Array<[string, string]> =>
    ["UpdateItem", "GetItem", "Query", "BatchWriteItem", "DeleteItem"].map((action) => [`dynamodb:${action}`, table()]);

  test.each(PROTOCOL_ROUTES)("the role of %s allows exactly the calls its handler makes", (routeKey) => {
    const [, fn] = functionOfRoute(routeKey);
    const grants = policyOfFunction(fn)
      .Statement.filter((s) => !list(s.Action).some((a) => a.startsWith("logs:")))
      .flatMap((s) => {
        expect(s.Effect).toBe("Allow");
        return list(s.Action).flatMap((action) => list(s.Resource).map((resource) => [action, resource]));
      });
    expect(grants.sort()).toEqual(expectedGrants[routeKey]().sort());
  });

  const grantsOf = (routeKey: string, stack: TerraformJson) =>
    policyOfFunction(functionOfRoute(routeKey, stack)[1], stack)
      .Statement.filter((s) => !list(s.Action).some((a) => a.startsWith("logs:")))
      .flatMap((s) => list(s.Action).flatMap((action) => list(s.Resource).map((resource) => `${action} ${resource}`)));
  const CLIENT_ROUTES = PROTOCOL_ROUTES.filter((route) => route !== "$connect" && route !== "$disconnect");

  test("in jwt mode every client route, and nothing else, may DELETE this stage's connections (closing one whose token expired); $connect may GET them", () => {
    const { tf: jwt } = synthChat({ CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://idp.example.com", CHAT_JWT_AUDIENCE: "chat" });
    const api = ref("aws_apigatewayv2_api", resources(jwt, "aws_apigatewayv2_api")[0][0], "execution_arn");
    for (const routeKey of PROTOCOL_ROUTES) {
      const grants = grantsOf(routeKey, jwt);
      const deletes = grants.filter((grant) => grant.includes("/DELETE/"));
      expect(deletes).toEqual(CLIENT_ROUTES.includes(routeKey) ? [`execute-api:ManageConnections ${api}/prod/DELETE/@connections/*`] : []);
      // The TOKEN_EXPIRED frame goes out as a post before the close.
      if (CLIENT_ROUTES.includes(routeKey)) expect(grants).toContain(`execute-api:ManageConnections ${api}/prod/POST/@connections/*`);
    }
    // $connect takes a seat of the user's (UpdateItem), checks the account ban in the same transaction
    // (ConditionCheckItem) and probes possibly dead seats (GET), nothing more.
    expect(grantsOf("$connect", jwt).sort()).toEqual(
      [
        `dynamodb:PutItem ${table()}`,
        `dynamodb:UpdateItem ${table()}`,
        `dynamodb:ConditionCheckItem ${table()}`,
        `execute-api:ManageConnections ${api}/prod/GET/@connections/*`,
      ].sort(),
    );
    // ban waits out a listed connection's handshake (the authorizer's timeout, then $connect's) before a 410 is final.
    expect(functionOfRoute("ban", jwt)[1].environment.variables).toMatchObject({ HANDSHAKE_TIMEOUT_SECONDS: "20" });
    expect(functionOfRoute("ban", tf)[1].environment.variables).toMatchObject({ HANDSHAKE_TIMEOUT_SECONDS: "10" });
    expect(functionOfRoute("$connect", jwt)[1].environment.variables).toMatchObject({ MAX_CONNECTIONS_PER_USER: "10" });
    // In none mode no token expires and nothing closes connections.
    for (const routeKey of PROTOCOL_ROUTES) expect(grantsOf(routeKey, tf).filter((grant) => grant.includes("/DELETE/"))).toEqual([]);
  });

  test("CHAT_USER_RATE=0 switches the limiter off: no client route may write the table unless it did without", () => {
    const { tf: off } = synthChat({ CHAT_USER_RATE: "0" });
    for (const routeKey of ["$default", "members"]) expect(grantsOf(routeKey, off).filter((grant) => grant.startsWith("dynamodb:UpdateItem"))).toEqual([]);
    const [, fn] = functionOfRoute("send-message", off);
    expect(fn.environment.variables.USER_RATE).toBe("0");
  });

  test("the fan-out worker may post, remove gone recipients, keep a job's progress, and receive and delete from its queue only", () => {
    const grants = policyOfFunction(workerFunction()[1])
      .Statement.filter((s) => !list(s.Action).some((a) => a.startsWith("logs:")))
      .flatMap((s) => list(s.Action).flatMap((action) => list(s.Resource).map((resource) => [action, resource])));
    expect(grants.sort()).toEqual(
      [
        ...removal(),
        ["dynamodb:PutItem", table()],
        ["execute-api:ManageConnections", connections()],
        ["sqs:ReceiveMessage", queue()],
        ["sqs:DeleteMessage", queue()],
        ["sqs:GetQueueAttributes", queue()],
      ].sort(),
    );
  });

  test("no IAM action or resource has a wildcard beyond a connection or log stream suffix", () => {
    for (const [, policy] of resources(tf, "aws_iam_role_policy")) {
      for (const statement of JSON.parse(policy.policy).Statement) {
        for (const action of list(statement.Action)) expect(action).not.toContain("*");
        for (const resource of list(statement.Resource)) {
          expect(resource.replace(/\/@connections\/\*$|:log-stream:\*$/, "")).not.toContain("*");
        }
      }
    }
  });

  test("no AWS-managed policy is attached anywhere", () => {
    expect(resources(tf, "aws_iam_role_policy_attachment")).toEqual([]);
    for (const [, role] of resources(tf, "aws_iam_role")) expect(role.managed_policy_arns).toBeUndefined();
  });

  test("the route table in constructs/ covers every route of the protocol", () => {
    expect(CHAT_ROUTES.map((r) => r.routeKey).sort()).toEqual([...PROTOCOL_ROUTES].sort());
  });
});

describe("fan-out queue", () => {
  test("large audiences go to an encrypted queue with a dead-letter queue, consumed by the fan-out worker in batches", () => {
    const [queueName, queue] = resourceWhere(tf, "aws_sqs_queue", "name", "chat-fan-out");
    const [dlqName] = resourceWhere(tf, "aws_sqs_queue", "name", "chat-fan-out-dlq");
    expect(queue).toMatchObject({ sqs_managed_sse_enabled: true, visibility_timeout_seconds: 360 });
    expect(JSON.parse(queue.redrive_policy)).toEqual({ deadLetterTargetArn: ref("aws_sqs_queue", dlqName, "arn"), maxReceiveCount: 5 });
    const [, mapping] = resources(tf, "aws_lambda_event_source_mapping")[0];
    expect(mapping).toMatchObject({
      event_source_arn: ref("aws_sqs_queue", queueName, "arn"),
      function_name: ref("aws_lambda_function", workerFunction()[0], "arn"),
      batch_size: 1,
      scaling_config: { maximum_concurrency: 10 },
      function_response_types: ["ReportBatchItemFailures"],
    });
  });

  test("the inline limit, batch size, consumer concurrency and timeout follow the configuration", () => {
    const { tf: tuned } = synthChat({
      CHAT_INLINE_FANOUT_LIMIT: "100",
      CHAT_FANOUT_BATCH_SIZE: "10",
      CHAT_FANOUT_MAX_CONCURRENCY: "50",
      CHAT_FANOUT_TIMEOUT_SECONDS: "120",
    });
    expect(resourceWhere(tuned, "aws_lambda_function", "function_name", "chat-send-message")[1].environment.variables.INLINE_FANOUT_LIMIT).toBe("100");
    expect(resourceWhere(tuned, "aws_lambda_function", "function_name", "chat-fan-out-worker")[1].timeout).toBe(120);
    expect(resources(tuned, "aws_lambda_event_source_mapping")[0][1]).toMatchObject({ batch_size: 10, scaling_config: { maximum_concurrency: 50 } });
    // Six times the consumer's timeout, as AWS recommends for an event source mapping.
    expect(resourceWhere(tuned, "aws_sqs_queue", "name", "chat-fan-out")[1].visibility_timeout_seconds).toBe(720);
  });
});

describe("outputs", () => {
  test("give the wss:// URL, the https:// callback URL and the table name", () => {
    const [apiName] = resources(tf, "aws_apigatewayv2_api")[0];
    const [stageName] = resources(tf, "aws_apigatewayv2_stage")[0];
    const [tableName] = resources(tf, "aws_dynamodb_table")[0];
    expect(tf.output.websocket_url.value).toBe(ref("aws_apigatewayv2_stage", stageName, "invoke_url"));
    expect(tf.output.callback_url.value).toBe(
      `\${replace(aws_apigatewayv2_api.${apiName}.api_endpoint, "wss://", "https://")}/prod`,
    );
    expect(tf.output.table_name.value).toBe(ref("aws_dynamodb_table", tableName, "name"));
  });

  test("the callback URL is the API's own endpoint, so it is right in every partition (China's is amazonaws.com.cn)", () => {
    const { tf: china } = synthChat({ CHAT_STAGE: "staging", AWS_REGION: "cn-north-1" });
    expect(china.output.callback_url.value).not.toMatch(/amazonaws\.com|cn-north-1/);
    expect(china.output.callback_url.value).toMatch(/^\$\{replace\(aws_apigatewayv2_api\.\w+\.api_endpoint, "wss:\/\/", "https:\/\/"\)\}\/staging$/);
  });
});
