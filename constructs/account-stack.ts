import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { ApiGatewayCloudWatchAccount } from "./api-gateway-account";
import { ACCOUNT_STACK_SUFFIX, type ChatConfig } from "./config";
import { companionBackend, configureBackend } from "./state-backend";

/** The account stack's name: the chat stack's with ACCOUNT_STACK_SUFFIX. */
export function accountStackName(config: ChatConfig): string {
  return `${config.stackName}-${ACCOUNT_STACK_SUFFIX}`;
}

/**
 * Account-wide settings the chat needs but must not own: deployed once per account and region that has
 * no API Gateway CloudWatch role yet (`cdktf deploy chat-account chat --parallelism 1`), never touched by
 * deploying or destroying the chat stack.
 */
export class AccountStack extends TerraformStack {
  public readonly apiGateway: ApiGatewayCloudWatchAccount;

  constructor(scope: Construct, config: ChatConfig) {
    const name = accountStackName(config);
    super(scope, name);
    new AwsProvider(this, "aws", {
      region: config.region,
      defaultTags: [{ tags: { Project: config.namePrefix, ManagedBy: "cdktf" } }],
    });
    configureBackend(this, companionBackend(config.backend, name, ACCOUNT_STACK_SUFFIX));

    this.apiGateway = new ApiGatewayCloudWatchAccount(this, "apigateway", {
      // IAM names are account-wide and the setting is per region: the region keeps two regions apart (≤ 64 characters).
      roleName: `${config.namePrefix}-apigw-logs-${config.region}`,
      region: config.region,
    });
    new TerraformOutput(this, "apigateway_cloudwatch_role_arn", {
      value: this.apiGateway.role.arn,
      description: "The role API Gateway writes every API's logs with in this account and region",
    });
  }
}
