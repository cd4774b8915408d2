import { Construct } from "constructs";
import { ApiGatewayAccount } from "@cdktf/provider-aws/lib/api-gateway-account";
import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { policyDocument } from "./policy";

export interface ApiGatewayCloudWatchAccountProps {
  /** Name of the role API Gateway pushes logs with. */
  readonly roleName: string;
  /** Region of the account setting (API Gateway keeps one per region). */
  readonly region: string;
  /**
   * Names of the log groups the role may write to, `*` allowed at the end. Every API in the region logs
   * through this one role, so this must cover the other APIs' log groups too.
   * @default ["API-Gateway-Execution-Logs_*", "/aws/apigateway/*"]: every execution log group (API Gateway
   * names them itself) and access log groups under the conventional `/aws/apigateway/` prefix
   */
  readonly logGroupNamePatterns?: readonly string[];
}

/**
 * The region-wide API Gateway account setting (`aws_api_gateway_account`) and the CloudWatch role it
 * names, without which API Gateway refuses to enable stage logging ("CloudWatch Logs role ARN must be set
 * in account settings to enable logging"). There is one setting per account and region, shared by every
 * API there, so it lives in a stack of its own, deployed on purpose, never as a side effect of a chat.
 *
 * Both resources refuse `destroy`: with provider 6.x destroying `aws_api_gateway_account` resets the
 * account setting (hashicorp/terraform-provider-aws#42226), and every other API's stage would stop logging.
 */
export class ApiGatewayCloudWatchAccount extends Construct {
  public readonly role: IamRole;
  public readonly account: ApiGatewayAccount;

  constructor(scope: Construct, id: string, props: ApiGatewayCloudWatchAccountProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, "partition").partition;
    const accountId = new DataAwsCallerIdentity(this, "caller").accountId;
    const logGroupArn = (pattern: string) => `arn:${partition}:logs:${props.region}:${accountId}:log-group:${pattern}`;
    const patterns = props.logGroupNamePatterns ?? ["API-Gateway-Execution-Logs_*", "/aws/apigateway/*"];

    this.role = new IamRole(this, "role", {
      name: props.roleName,
      assumeRolePolicy: policyDocument([{ actions: ["sts:AssumeRole"], principals: { Service: "apigateway.amazonaws.com" } }]),
      lifecycle: { preventDestroy: true },
    });
    // What AmazonAPIGatewayPushToCloudWatchLogs allows, on the API log groups instead of "*".
    const policy = new IamRolePolicy(this, "policy", {
      role: this.role.id,
      name: props.roleName,
      policy: policyDocument([
        {
          actions: ["logs:CreateLogGroup", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:CreateLogStream"],
          resources: patterns.map(logGroupArn),
        },
        {
          actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents"],
          resources: patterns.map((pattern) => `${logGroupArn(pattern)}:log-stream:*`),
        },
      ]),
    });
    this.account = new ApiGatewayAccount(this, "account", {
      cloudwatchRoleArn: this.role.arn,
      dependsOn: [policy],
      lifecycle: { preventDestroy: true },
    });
  }
}
