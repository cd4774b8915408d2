/**
 * How the local runtime reads the synthesized Terraform JSON: references resolved to local values, the model
 * of routes, functions, policies and tables built from the JSON alone, and a clear stop for anything it
 * cannot run faithfully.
 */
import { join } from "node:path";
import { lambdaEnvironment } from "../local/functions/function-runner";
import { startLocalRuntime } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { routeSelector } from "../local/gateway/route-selection";
import { StackModelError } from "../local/terraform/stack-errors";
import { arnLike, loadStackModel } from "../local/terraform/stack-model";
import { TerraformDocument, TerraformResolutionError, type TerraformJson as LocalTerraformJson } from "../local/terraform/terraform-document";
import { addRoute, functionResource, readStack, synthesizeWorkspace, writeVariant, type Workspace } from "./support/local-stacks";

let workspace: Workspace;

beforeAll(() => {
  workspace = synthesizeWorkspace("local-model");
}, 60_000);

afterAll(() => workspace?.remove());

/** A document of a few resources, for the resolver's own rules. */
function documentOf(resource: Record<string, Record<string, Record<string, unknown>>>, extra: Partial<LocalTerraformJson> = {}): TerraformDocument {
  return new TerraformDocument({ provider: { aws: [{ region: "eu-west-1" }] }, resource, ...extra }, { stackDir: "/stacks/demo" });
}

describe("resolving references", () => {
  test("a computed attribute resolves to a local value in the provider's region and the local account", () => {
    const doc = documentOf({ aws_dynamodb_table: { t: { name: "things", hash_key: "id" } }, aws_iam_role: { r: { name: "worker" } } });
    expect(doc.attribute("aws_dynamodb_table.t", "arn")).toBe("arn:aws:dynamodb:eu-west-1:000000000000:table/things");
    expect(doc.attribute("aws_iam_role.r", "arn")).toBe("arn:aws:iam::000000000000:role/worker");
  });

  test("references embedded in strings resolve recursively, and a whole-string reference keeps its type", () => {
    const doc = documentOf({
      aws_iam_role: { r: { name: "${aws_dynamodb_table.t.name}-role" } },
      aws_dynamodb_table: { t: { name: "things", hash_key: "id", attribute: [{ name: "id", type: "S" }] } },
      aws_iam_role_policy: { p: { role: "${aws_iam_role.r.id}", name: "p", policy: '{"Resource":"${aws_dynamodb_table.t.arn}/index/*"}' } },
    });
    expect(doc.attribute("aws_iam_role_policy.p", "id")).toBe("things-role:p");
    expect(doc.argument("aws_iam_role_policy.p", "policy")).toBe('{"Resource":"arn:aws:dynamodb:eu-west-1:000000000000:table/things/index/*"}');
    expect(doc.resolveValue("${aws_dynamodb_table.t.attribute}", { address: "test", attribute: "x" })).toEqual([{ name: "id", type: "S" }]);
    expect(doc.resolveValue("${aws_dynamodb_table.t.attribute[0].name}", { address: "test", attribute: "x" })).toBe("id");
  });

  test("path.module is the stack folder, and $${ is a literal ${", () => {
    const doc = documentOf({});
    expect(doc.resolveValue("${path.module}/dist/f.zip", { address: "test", attribute: "x" })).toBe("/stacks/demo/dist/f.zip");
    expect(doc.resolveValue("$${aws:username}", { address: "test", attribute: "x" })).toBe("${aws:username}");
  });

  test("generated ids are stable for a resource address", () => {
    const json = { aws_apigatewayv2_api: { api: { name: "a", protocol_type: "WEBSOCKET" } } };
    expect(documentOf(json).attribute("aws_apigatewayv2_api.api", "id")).toBe(documentOf(json).attribute("aws_apigatewayv2_api.api", "id"));
    expect(documentOf(json).attribute("aws_apigatewayv2_api.api", "id")).toMatch(/^[a-z0-9]{10}$/);
  });

  test.each([
    ["a function call", "${upper(aws_dynamodb_table.t.name)}", /only references .* are supported locally/],
    ["an operator", "${aws_dynamodb_table.t.name == \"x\" ? 1 : 2}", /only references/],
    ["a resource that is not in the stack", "${aws_sqs_queue.q.arn}", /aws_sqs_queue\.q is not in the synthesized stack/],
    ["an attribute the runtime does not know", "${aws_dynamodb_table.t.stream_view_type}", /has no attribute "stream_view_type"/],
    ["a variable without a default", "${var.table}", /variable "table" has no default/],
  ])("%s stops resolution with an error naming the resource, the attribute and the expression", (_what, expression, reason) => {
    const doc = documentOf({
      aws_dynamodb_table: { t: { name: "things", hash_key: "id" } },
      aws_lambda_function: { f: { function_name: "f", environment: { variables: { TABLE: expression } } } },
    }, { variable: { table: {} } });
    let error: unknown;
    try {
      doc.argument("aws_lambda_function.f", "environment");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TerraformResolutionError);
    expect(error).toMatchObject({ address: "aws_lambda_function.f", attribute: "environment.variables.TABLE", expression });
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).toContain(`Cannot resolve ${expression} in aws_lambda_function.f, attribute "environment.variables.TABLE"`);
  });

  test("a bad expression inside a referenced resource is reported where it is, and where it was needed", () => {
    const doc = documentOf({
      aws_dynamodb_table: { t: { name: "${lower(\"X\")}", hash_key: "id" } },
      aws_lambda_function: { f: { function_name: "f", environment: { variables: { TABLE: "${aws_dynamodb_table.t.arn}" } } } },
    });
    expect(() => doc.argument("aws_lambda_function.f", "environment")).toThrow(
      /Cannot resolve \$\{lower\("X"\)\} in aws_dynamodb_table\.t, attribute "name".*needed by \$\{aws_dynamodb_table\.t\.arn\} in aws_lambda_function\.f, attribute "environment\.variables\.TABLE"/,
    );
  });
});

describe("the model of the synthesized chat stack", () => {
  test("routes, their functions and route responses come from the JSON", () => {
    const model = loadStackModel({ stackDir: workspace.stackDir });
    expect(model.api.routeSelectionExpression).toBe("$request.body.action");
    expect(model.stage.name).toBe("prod");
    const routes = Object.fromEntries(model.routes.map((r) => [r.routeKey, r]));
    expect(Object.keys(routes).sort()).toEqual(["$connect", "$default", "$disconnect", "ban", "create-room", "history", "invite", "join", "kick", "leave", "members", "send-message"]);
    expect(routes["send-message"]).toMatchObject({ functionName: "chat-send-message", hasRouteResponse: true, integrationTimeoutMs: 10_000 });
    expect(routes.$connect).toMatchObject({ functionName: "chat-connect", hasRouteResponse: false });
  });

  test("functions run the bundle their archive zips, with their environment resolved", () => {
    const tf = readStack(workspace.stackDir);
    const model = loadStackModel({ stackDir: workspace.stackDir });
    const join = model.functions.find((f) => f.name === "chat-join")!;
    const archive = Object.values(tf.data.archive_file).find((a) => a.output_path === "${path.module}/dist/chat-join.zip");
    expect(join.bundleDir).toBe(`${workspace.stackDir}/${archive.source_dir}`);
    expect(join.moduleFile).toBe(`${join.bundleDir}/index.js`);
    expect(join.exportName).toBe("handler");
    expect(join.environment).toEqual({
      TABLE_NAME: "chat-connections",
      FANOUT_CONCURRENCY: "25",
      CALLBACK_URL: `https://${model.api.id}.execute-api.us-east-1.amazonaws.com/prod`,
      USER_RATE: "5",
      USER_BURST: "20",
      MAX_ROOMS_PER_CONNECTION: "50",
    });
    expect(join.role).toMatchObject({ name: "chat-join-us-east-1-fn", arn: "arn:aws:iam::000000000000:role/chat-join-us-east-1-fn" });
    expect(join.policies[0]!.statements[0]).toMatchObject({
      action: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"],
      resource: ["arn:aws:dynamodb:us-east-1:000000000000:table/chat-connections"],
    });
  });

  test("functions run as the synthesized runtime says: Lambda's AWS_EXECUTION_ENV follows CHAT_LAMBDA_RUNTIME", () => {
    const credentials = { accessKeyId: "A", secretAccessKey: "S", sessionToken: "T" };
    const options = { region: "us-east-1", credentials, dynamodbEndpoint: "", managementApiEndpoint: "", sqsEndpoint: "", nodePath: "" };
    const executionEnvs = (stackDir: string) => new Set(loadStackModel({ stackDir }).functions.map((fn) => lambdaEnvironment(fn, options).AWS_EXECUTION_ENV));
    expect(executionEnvs(workspace.stackDir)).toEqual(new Set(["AWS_Lambda_nodejs22.x"]));
    const node24 = synthesizeStack({ outdir: join(workspace.dir, "node24"), env: { CHAT_LAMBDA_RUNTIME: "nodejs24.x" }, warn: () => undefined });
    expect(executionEnvs(node24)).toEqual(new Set(["AWS_Lambda_nodejs24.x"]));
  }, 60_000);

  test("tables keep their keys and TTL attribute", () => {
    const [table] = loadStackModel({ stackDir: workspace.stackDir }).tables;
    expect(table).toMatchObject({ name: "chat-connections", hashKey: "pk", rangeKey: "sk", globalSecondaryIndexes: [], ttlAttribute: "expiresAt" });
  });

  test("a table's global secondary indexes are read with their keys and projection", () => {
    const stackDir = writeVariant(workspace, "indexed", (tf) => {
      const table = Object.values(tf.resource.aws_dynamodb_table)[0] as any;
      table.attribute.push({ name: "room", type: "S" });
      table.global_secondary_index = [{ name: "room-index", hash_key: "room", range_key: "pk", projection_type: "KEYS_ONLY" }];
    });
    const [table] = loadStackModel({ stackDir }).tables;
    expect(table!.globalSecondaryIndexes).toEqual([{ name: "room-index", hashKey: "room", rangeKey: "pk", projectionType: "KEYS_ONLY" }]);
  });

  test("a route and a table added to the JSON appear with no change to the runtime", () => {
    const stackDir = writeVariant(workspace, "grown", (tf) => {
      addRoute(tf, { routeKey: "typing", functionName: "chat-default", replies: true });
      tf.resource.aws_dynamodb_table.audit = { name: "chat-audit", hash_key: "id", billing_mode: "PAY_PER_REQUEST", attribute: [{ name: "id", type: "S" }] };
    });
    const model = loadStackModel({ stackDir });
    expect(model.routes.find((r) => r.routeKey === "typing")).toMatchObject({ functionName: "chat-default", hasRouteResponse: true });
    expect(model.tables.map((t) => t.name).sort()).toEqual(["chat-audit", "chat-connections"]);
  });

  test("a function no route invokes is only noted: it never runs locally, so it need not be runnable here", () => {
    const stackDir = writeVariant(workspace, "extra-function", (tf) => {
      tf.resource.aws_lambda_function.nightly = { function_name: "nightly-report", runtime: "python3.13", handler: "app.main", role: "arn:aws:iam::123456789012:role/elsewhere" };
    });
    const model = loadStackModel({ stackDir });
    expect(model.functions.map((f) => f.name)).not.toContain("nightly-report");
    expect(model.notes).toContain("aws_lambda_function.nightly: no route or event source mapping invokes it, so it never runs locally");
  });

  test("a role's attached customer-managed policy is part of its policies", () => {
    const stackDir = writeVariant(workspace, "attached-policy", (tf) => {
      const [roleName] = Object.entries(tf.resource.aws_iam_role).find(([, r]) => (r as { name: string }).name === "chat-leave-us-east-1-fn")!;
      tf.resource.aws_iam_policy = {
        extra: { name: "extra", policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "dynamodb:Scan", Resource: "*" }] }) },
      };
      tf.resource.aws_iam_role_policy_attachment = { attach: { role: `\${aws_iam_role.${roleName}.name}`, policy_arn: "${aws_iam_policy.extra.arn}" } };
    });
    const leave = loadStackModel({ stackDir }).functions.find((f) => f.name === "chat-leave")!;
    expect(leave.policies.map((p) => p.name)).toContain("aws_iam_policy.extra (extra)");
  });
});

describe("what stops startup", () => {
  test("an unresolvable expression in a function's environment stops startup, naming resource, attribute and expression", async () => {
    const stackDir = writeVariant(workspace, "bad-expression", (tf) => {
      functionResource(tf, "chat-join")[1].environment.variables.GREETING = "${upper(aws_dynamodb_table.nope.name)}";
    });
    await expect(startLocalRuntime({ stackDir, port: 0, log: () => undefined })).rejects.toThrow(
      /Cannot resolve \$\{upper\(aws_dynamodb_table\.nope\.name\)\} in aws_lambda_function\.chat_join_function_\w+, attribute "environment\.variables\.GREETING"/,
    );
  });

  test("an AWS-managed policy attachment is refused: its document is not in the stack", () => {
    const stackDir = writeVariant(workspace, "managed-policy", (tf) => {
      const [roleName] = Object.entries(tf.resource.aws_iam_role).find(([, r]) => (r as { name: string }).name === "chat-join-us-east-1-fn")!;
      tf.resource.aws_iam_role_policy_attachment = {
        basic: { role: `\${aws_iam_role.${roleName}.name}`, policy_arn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" },
      };
    });
    expect(() => loadStackModel({ stackDir })).toThrow(StackModelError);
    expect(() => loadStackModel({ stackDir })).toThrow(/chat-join.*AWS-managed policy arn:aws:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole, which is not supported locally/);
  });

  test("a missing cdk.tf.json says to synthesize first", () => {
    expect(() => loadStackModel({ stackDir: `${workspace.dir}/nowhere` })).toThrow(/No synthesized stack at .*cdk\.tf\.json/);
  });
});

describe("API Gateway's permission to invoke a function", () => {
  test("ArnLike matches each of the six ARN parts on its own, with * and ?", () => {
    const arn = "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/$connect";
    expect(arnLike("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/$connect", arn)).toBe(true);
    expect(arnLike("arn:aws:execute-api:*:*:abc123/*/*", arn)).toBe(true);
    expect(arnLike("arn:aws:execute-api:us-east-?:000000000000:abc123/prod/*", arn)).toBe(true);
    expect(arnLike("arn:aws:execute-api:us-east-1:000000000000:abc123/prod/join", arn)).toBe(false);
    expect(arnLike("arn:aws:execute-api:*:abc123/prod/$connect", arn)).toBe(false);
  });

  test("a route whose function has no matching aws_lambda_permission is marked, as AWS would refuse to invoke it", () => {
    const stackDir = writeVariant(workspace, "no-permission", (tf) => {
      const [name] = Object.entries(tf.resource.aws_lambda_permission).find(([, p]) => String(p.source_arn).endsWith("/prod/leave"))!;
      delete tf.resource.aws_lambda_permission[name];
    });
    const routes = loadStackModel({ stackDir }).routes;
    expect(routes.find((r) => r.routeKey === "leave")!.invokeDenied).toMatch(/no aws_lambda_permission lets apigateway\.amazonaws\.com invoke chat-leave from arn:aws:execute-api:us-east-1:000000000000:\w+\/prod\/leave/);
    expect(routes.filter((r) => r.invokeDenied).map((r) => r.routeKey)).toEqual(["leave"]);
  });
});

describe("route selection", () => {
  const keys = ["$connect", "$disconnect", "$default", "send-message", "chat/send", "7"];

  test("$request.body.<field> picks the route named by the field", () => {
    const select = routeSelector("$request.body.action", keys);
    expect(select('{"action":"send-message"}')).toBe("send-message");
    expect(select('{"action":7}')).toBe("7");
    expect(select('{"action":"$disconnect"}')).toBe("$default");
    expect(select('{"action":{"nested":true}}')).toBe("$default");
    expect(select("send-message")).toBe("$default");
  });

  test("nested paths and templates of paths are evaluated on the body", () => {
    expect(routeSelector("$request.body.meta.action", keys)('{"meta":{"action":"send-message"}}')).toBe("send-message");
    const template = routeSelector("${request.body.service}/${request.body.action}", keys);
    expect(template('{"service":"chat","action":"send"}')).toBe("chat/send");
    expect(template('{"service":"chat"}')).toBe("$default");
  });

  test("an expression API Gateway's local stand-in cannot evaluate is refused", () => {
    expect(() => routeSelector("$request.header.x", keys)).toThrow(/route_selection_expression "\$request\.header\.x" is not supported locally/);
  });
});
