import { TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { ArchiveProvider } from "@cdktf/provider-archive/lib/provider";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { ChatConfig } from "./config";
import { CustomDomain } from "./custom-domain";
import { configureBackend } from "./state-backend";
import { WebsocketChat } from "./websocket-chat";

export interface ChatStackOptions {
  /** Leave the AWS SDK out of the bundles (benchmarks compare both). @default false */
  readonly externalAwsSdk?: boolean;
}

/** The deployable unit: providers, state backend, the chat backend and its outputs. */
export class ChatStack extends TerraformStack {
  public readonly chat: WebsocketChat;
  public readonly domain?: CustomDomain;

  constructor(scope: Construct, config: ChatConfig, options: ChatStackOptions = {}) {
    super(scope, config.stackName);

    new AwsProvider(this, "aws", {
      region: config.region,
      defaultTags: [{ tags: { Project: config.namePrefix, ManagedBy: "cdktf" } }],
    });
    new ArchiveProvider(this, "archive");
    configureBackend(this, config.backend);

    this.chat = new WebsocketChat(this, "chat", {
      namePrefix: config.namePrefix,
      region: config.region,
      functions: { ...config.functions, externalAwsSdk: options.externalAwsSdk },
      api: config.api,
      table: config.table,
      fanOut: config.fanOut,
      history: config.history,
      limits: config.limits,
      auth: config.auth,
      observability: config.observability,
    });

    if (config.domain) {
      this.domain = new CustomDomain(this, "domain", {
        domainName: config.domain.name,
        hostedZoneId: config.domain.hostedZoneId,
        certificateArn: config.domain.certificateArn,
        api: this.chat.api,
      });
      if (!config.domain.hostedZoneId) {
        new TerraformOutput(this, "domain_target", {
          value: this.domain.target,
          description: `Point ${config.domain.name} here: an alias (or CNAME) to domainName, in hostedZoneId`,
        });
      }
    }
    forgetAccountSettingOfEarlierVersions(this);

    new TerraformOutput(this, "websocket_url", {
      value: this.domain?.url ?? this.chat.api.url,
      description: "wss:// URL clients connect to",
    });
    new TerraformOutput(this, "callback_url", {
      value: this.chat.api.callbackUrl,
      description: "https:// endpoint of the @connections management API",
    });
    new TerraformOutput(this, "table_name", {
      value: this.chat.table.table.name,
      description: "DynamoDB table of connections and room memberships",
    });
  }
}

/**
 * Migration shim. Chat stacks deployed before the account stack existed hold the API Gateway account
 * setting and its role in their state. Deleting them would, with provider 6.x, reset the account's
 * CloudWatch role (hashicorp/terraform-provider-aws#42226) and stop every API's stage logging; `removed`
 * with `destroy = false` (Terraform >= 1.7) makes Terraform forget them instead, leaving the account as it
 * is. A no-op for stacks that never had them.
 *
 * Remove it once no deployment's state holds these three addresses (each such stack has been applied once
 * with this block): without it, a stack that still holds them would destroy them. Remove the
 * CHAT_MANAGE_API_GATEWAY_ACCOUNT check in config.ts at the same time.
 */
function forgetAccountSettingOfEarlierVersions(stack: TerraformStack): void {
  const forget = (address: string) => ({ from: address, lifecycle: { destroy: false } });
  stack.addOverride("removed", [
    forget("aws_api_gateway_account.chat_websocket_account_8A59FFAD"),
    forget("aws_iam_role_policy.chat_websocket_cloudwatch-policy_BE43B3D3"),
    forget("aws_iam_role.chat_websocket_cloudwatch-role_58BA39D1"),
  ]);
}
