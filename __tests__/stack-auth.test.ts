/**
 * Auth mode `jwt` in the synthesized stack: the $connect REQUEST authorizer, its function, role and
 * permission; and auth mode `none`, which has none of them.
 */
import { Testing } from "cdktf";
import { Apigatewayv2Authorizer } from "@cdktf/provider-aws/lib/apigatewayv2-authorizer";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { TerraformStack } from "cdktf";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebsocketApi } from "../constructs/websocket-api";
import { synthesizeStack } from "../local/terraform/synth";
import { WebsocketAuthorizer } from "../constructs/websocket-authorizer";
import { ref, resources, resourceWhere, synthChat, type SynthesizedStack, type TerraformJson } from "./support/synth";

const JWT_ENV = {
  CHAT_AUTH: "jwt",
  CHAT_JWT_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
  CHAT_JWT_AUDIENCE: "4example7client0id",
};

let chat: SynthesizedStack;
let tf: TerraformJson;
beforeAll(() => {
  chat = synthChat(JWT_ENV);
  tf = chat.tf;
});

const apiName = () => resources(tf, "aws_apigatewayv2_api")[0]![0];
const authorizer = () => resources(tf, "aws_apigatewayv2_authorizer");
const authorizerFunction = () => resourceWhere(tf, "aws_lambda_function", "function_name", "chat-authorizer");
const nameOf = (reference: string) => /^\$\{(?:data\.)?[a-z0-9_]+\.([^.]+)\.[a-z_0-9]+\}/.exec(reference)![1]!;

describe("auth mode jwt", () => {
  test("puts a REQUEST authorizer reading ?token= on the $connect route", () => {
    expect(authorizer()).toHaveLength(1);
    const [name] = authorizer()[0]!;
    expect(chat.json).toHaveResourceWithProperties(Apigatewayv2Authorizer, {
      api_id: ref("aws_apigatewayv2_api", apiName(), "id"),
      authorizer_type: "REQUEST",
      identity_sources: ["route.request.querystring.token"],
      name: "chat-authorizer",
    });
    const [, connect] = resourceWhere(tf, "aws_apigatewayv2_route", "route_key", "$connect");
    expect(connect).toMatchObject({ authorization_type: "CUSTOM", authorizer_id: ref("aws_apigatewayv2_authorizer", name, "id") });
  });

  test("leaves every other route without authorization, as API Gateway authorizes only $connect", () => {
    const others = resources(tf, "aws_apigatewayv2_route").filter(([, r]) => r.route_key !== "$connect");
    expect(others.length).toBeGreaterThan(0);
    for (const [, route] of others) {
      expect(route.authorization_type).toBeUndefined();
      expect(route.authorizer_id).toBeUndefined();
    }
  });

  test("the authorizer runs its own bundled function, which no route integrates", () => {
    const [functionName, fn] = authorizerFunction();
    expect(authorizer()[0]![1].authorizer_uri).toBe(ref("aws_lambda_function", functionName, "invoke_arn"));
    expect(fn).toMatchObject({ runtime: "nodejs22.x", architectures: ["arm64"], handler: "index.handler", memory_size: 256, timeout: 10 });
    const archive = tf.data.archive_file[nameOf(fn.filename)]!;
    expect(archive.source_dir).toMatch(/^assets\/[^/]+\/[0-9A-F]+$/);
    const integrated = resources(tf, "aws_apigatewayv2_integration").map(([, i]) => i.integration_uri);
    expect(integrated).not.toContain(ref("aws_lambda_function", functionName, "invoke_arn"));
  });

  test("the function gets the issuer, the audience, the JWKS URL derived from the issuer, the name and groups claims, the admin group and the table of bans", () => {
    expect(authorizerFunction()[1].environment.variables).toEqual({
      JWT_ISSUER: JWT_ENV.CHAT_JWT_ISSUER,
      JWT_AUDIENCE: JWT_ENV.CHAT_JWT_AUDIENCE,
      JWT_JWKS_URL: `${JWT_ENV.CHAT_JWT_ISSUER}/.well-known/jwks.json`,
      JWT_NAME_CLAIM: "name",
      JWT_GROUPS_CLAIM: "groups",
      ADMIN_GROUP: "chat-admins",
      METRICS_NAMESPACE: "WebsocketChat",
      METRICS_SERVICE: "chat",
      TABLE_NAME: ref("aws_dynamodb_table", resources(tf, "aws_dynamodb_table")[0]![0], "name"),
    });
  });

  test("CHAT_JWT_JWKS_URL and CHAT_JWT_NAME_CLAIM reach the function as given", () => {
    const { json } = synthChat({ ...JWT_ENV, CHAT_JWT_JWKS_URL: "https://idp.example.com/keys", CHAT_JWT_NAME_CLAIM: "cognito:username" });
    expect(json).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "chat-authorizer",
      environment: { variables: expect.objectContaining({ JWT_JWKS_URL: "https://idp.example.com/keys", JWT_NAME_CLAIM: "cognito:username" }) },
    });
  });

  test("CHAT_JWT_GROUPS_CLAIM and CHAT_ADMIN_GROUP reach the function as given", () => {
    const { json } = synthChat({ ...JWT_ENV, CHAT_JWT_GROUPS_CLAIM: "cognito:groups", CHAT_ADMIN_GROUP: "ops" });
    expect(json).toHaveResourceWithProperties(LambdaFunction, {
      function_name: "chat-authorizer",
      environment: { variables: expect.objectContaining({ JWT_GROUPS_CLAIM: "cognito:groups", ADMIN_GROUP: "ops" }) },
    });
  });

  test("the broadcast policy (admins by default with tokens) reaches send-message, which enforces it, and $default, which tells the page", () => {
    for (const name of ["chat-send-message", "chat-default"]) {
      expect(resourceWhere(tf, "aws_lambda_function", "function_name", name)[1].environment.variables.BROADCAST).toBe("admins");
    }
    expect(resourceWhere(tf, "aws_lambda_function", "function_name", "chat-join")[1].environment.variables.BROADCAST).toBeUndefined();
    const open = synthChat({ CHAT_AUTH: "none" }).tf;
    expect(resourceWhere(open, "aws_lambda_function", "function_name", "chat-send-message")[1].environment.variables.BROADCAST).toBe("everyone");
    const off = synthChat({ ...JWT_ENV, CHAT_BROADCAST: "off" }).tf;
    expect(resourceWhere(off, "aws_lambda_function", "function_name", "chat-send-message")[1].environment.variables.BROADCAST).toBe("off");
  });

  test("API Gateway may invoke the function only as this authorizer of this API", () => {
    const [functionName] = authorizerFunction();
    const [, permission] = resourceWhere(tf, "aws_lambda_permission", "function_name", ref("aws_lambda_function", functionName, "function_name"));
    expect(permission).toMatchObject({
      action: "lambda:InvokeFunction",
      principal: "apigateway.amazonaws.com",
      source_arn: `${ref("aws_apigatewayv2_api", apiName(), "execution_arn")}/authorizers/${ref("aws_apigatewayv2_authorizer", authorizer()[0]![0], "id")}`,
    });
  });

  test("the $connect route is created only once API Gateway may invoke the authorizer", () => {
    const [functionName] = authorizerFunction();
    const [permissionName] = resourceWhere(tf, "aws_lambda_permission", "function_name", ref("aws_lambda_function", functionName, "function_name"));
    const [, connect] = resourceWhere(tf, "aws_apigatewayv2_route", "route_key", "$connect");
    expect(connect.depends_on).toContain(`aws_lambda_permission.${permissionName}`);
  });

  test("the function's own role, which only Lambda may assume, allows nothing but writing its own logs and reading ban# items", () => {
    const [, fn] = authorizerFunction();
    const roleName = nameOf(fn.role);
    const role = tf.resource.aws_iam_role[roleName]!;
    expect(role.name).toBe("chat-authorizer-us-east-1-fn");
    expect(JSON.parse(role.assume_role_policy).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    const policies = resources(tf, "aws_iam_role_policy").filter(([, p]) => p.role === ref("aws_iam_role", roleName, "id"));
    expect(policies).toHaveLength(1);
    const [logsName, logs] = resourceWhere(tf, "aws_cloudwatch_log_group", "name", "/aws/lambda/chat-authorizer");
    expect(JSON.parse(policies[0]![1].policy).Statement).toEqual([
      // Its one AWS call: the GetItem of the user's account ban, on no other partitions.
      {
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: ref("aws_dynamodb_table", resources(tf, "aws_dynamodb_table")[0]![0], "arn"),
        Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ban#*"] }, Null: { "dynamodb:LeadingKeys": "false" } },
      },
      { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${ref("aws_cloudwatch_log_group", logsName, "arn")}:log-stream:*` },
    ]);
    expect(logs.retention_in_days).toBe(30);
    expect(fn.logging_config.log_group).toBe(ref("aws_cloudwatch_log_group", logsName, "name"));
  });

  test("no other role is shared with the authorizer function", () => {
    const roles = resources(tf, "aws_lambda_function").map(([, fn]) => fn.role);
    expect(new Set(roles).size).toBe(roles.length);
  });
});

describe("auth mode none", () => {
  test("has no authorizer, no authorizer function, and an open $connect", () => {
    const { tf: open } = synthChat({ CHAT_AUTH: "none" });
    expect(resources(open, "aws_apigatewayv2_authorizer")).toEqual([]);
    expect(resources(open, "aws_lambda_function").map(([, fn]) => fn.function_name)).not.toContain("chat-authorizer");
    expect(resourceWhere(open, "aws_apigatewayv2_route", "route_key", "$connect")[1].authorization_type).toBeUndefined();
  });
});

describe("the synth-time warning", () => {
  test.each([
    ["none", { CHAT_AUTH: "none" }, 1],
    ["jwt", JWT_ENV, 0],
  ] as const)("auth mode %s: synth prints the anyone-can-connect warning %i time(s), and synthesizes anyway", (_mode, env, times) => {
    const outdir = mkdtempSync(join(tmpdir(), "synth-warning-"));
    try {
      const warnings: string[] = [];
      synthesizeStack({ outdir, env, warn: (warning) => warnings.push(warning) });
      expect(warnings).toHaveLength(times);
      for (const warning of warnings) expect(warning).toMatch(/anyone who knows the URL can connect.*CHAT_AUTH=jwt/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe("WebsocketApi.addRoute", () => {
  test("refuses an authorizer on a route other than $connect, naming the route", () => {
    const stack = new TerraformStack(Testing.app(), "authorizer-placement");
    const api = new WebsocketApi(stack, "api", { name: "t" });
    const guard = new WebsocketAuthorizer(stack, "guard", { api, name: "t-authorizer", region: "us-east-1", issuer: "https://idp.example.com", audience: "a", jwksUrl: "https://idp.example.com/jwks", bans: { tableName: "t-connections", tableArn: "arn:aws:dynamodb:us-east-1:000000000000:table/t-connections" } });
    expect(() => api.addRoute({ routeKey: "send-message", handler: guard.function.function, authorizer: guard })).toThrow(
      /route "send-message" has an authorizer, but API Gateway runs WebSocket authorizers on "\$connect" only/,
    );
  });
});
