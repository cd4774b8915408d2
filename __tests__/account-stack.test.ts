import { ApiGatewayAccount } from "@cdktf/provider-aws/lib/api-gateway-account";
import { ref, resources, synthAccount, type SynthesizedStack, type TerraformJson } from "./support/synth";
import type { AccountStack } from "../constructs/account-stack";

let account: SynthesizedStack<AccountStack>;
let tf: TerraformJson;
beforeAll(() => {
  account = synthAccount({ AWS_REGION: "eu-west-1" });
  tf = account.tf;
});

const list = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

describe("the account stack", () => {
  test("is named after the chat stack and holds the region's API Gateway account setting", () => {
    expect(account.stack.node.id).toBe("chat-account");
    expect(synthAccount({ CHAT_STACK_NAME: "chat-staging" }).stack.node.id).toBe("chat-staging-account");
    expect(account.json).toHaveResource(ApiGatewayAccount);
  });

  test("sets a CloudWatch role that only API Gateway may assume", () => {
    const [, setting] = resources(tf, "aws_api_gateway_account")[0];
    const [roleName, role] = resources(tf, "aws_iam_role")[0];
    expect(setting.cloudwatch_role_arn).toBe(ref("aws_iam_role", roleName, "arn"));
    expect(JSON.parse(role.assume_role_policy).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(role.name).toBe("chat-apigw-logs-eu-west-1");
  });

  test("the role may write to API Gateway's log groups in this region and account only", () => {
    const [, policy] = resources(tf, "aws_iam_role_policy")[0];
    const [partitionName] = Object.entries(tf.data.aws_partition)[0];
    const [callerName] = Object.entries(tf.data.aws_caller_identity)[0];
    const prefix = `arn:\${data.aws_partition.${partitionName}.partition}:logs:eu-west-1:\${data.aws_caller_identity.${callerName}.account_id}:log-group:`;
    const statements = JSON.parse(policy.policy).Statement as Array<{ Action: string | string[]; Resource: string | string[] }>;
    for (const statement of statements) {
      expect(list(statement.Action).every((action) => action.startsWith("logs:") && !action.includes("*"))).toBe(true);
    }
    expect(statements.flatMap((s) => list(s.Resource)).sort()).toEqual(
      [
        `${prefix}API-Gateway-Execution-Logs_*`,
        `${prefix}/aws/apigateway/*`,
        `${prefix}API-Gateway-Execution-Logs_*:log-stream:*`,
        `${prefix}/aws/apigateway/*:log-stream:*`,
      ].sort(),
    );
  });

  test("neither the setting nor its role can be destroyed by accident: other APIs in the region log with them", () => {
    expect(resources(tf, "aws_api_gateway_account")[0][1].lifecycle).toEqual({ prevent_destroy: true });
    expect(resources(tf, "aws_iam_role")[0][1].lifecycle).toEqual({ prevent_destroy: true });
  });

  test("keeps its state apart from the chat's: its own S3 key, its own HCP Terraform workspace", () => {
    const s3 = synthAccount({ TF_STATE_BUCKET: "acme-tf-state", TF_STATE_KEY: "prod/chat.tfstate" }).tf;
    expect(s3.terraform?.backend).toEqual({
      s3: { bucket: "acme-tf-state", key: "chat-account/terraform.tfstate", region: "us-east-1", encrypt: true, use_lockfile: true },
    });
    const cloud = synthAccount({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod" }).tf;
    expect(cloud.terraform?.cloud).toMatchObject({ organization: "acme", workspaces: { name: "chat-prod-account" } });
  });
});
