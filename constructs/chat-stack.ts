import { CloudBackend, NamedCloudWorkspace, S3Backend, TerraformOutput, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { ArchiveProvider } from "@cdktf/provider-archive/lib/provider";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { BackendConfig, ChatConfig } from "./config";
import { WebsocketChat } from "./websocket-chat";

export interface ChatStackOptions {
  /** Leave the AWS SDK out of the bundles (benchmarks compare both). @default false */
  readonly externalAwsSdk?: boolean;
}

/** The deployable unit: providers, state backend, the chat backend and its outputs. */
export class ChatStack extends TerraformStack {
  public readonly chat: WebsocketChat;

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
      stageName: config.stageName,
      logRetentionDays: config.logRetentionDays,
      throttlingBurstLimit: config.throttlingBurstLimit,
      throttlingRateLimit: config.throttlingRateLimit,
      billingMode: config.billingMode,
      readCapacity: config.readCapacity,
      writeCapacity: config.writeCapacity,
      lambdaMemoryMb: config.lambdaMemoryMb,
      lambdaTimeoutSeconds: config.lambdaTimeoutSeconds,
      fanOutConcurrency: config.fanOutConcurrency,
      manageApiGatewayAccount: config.manageApiGatewayAccount,
      auth: config.auth,
      observability: config.observability,
      externalAwsSdk: options.externalAwsSdk,
    });

    new TerraformOutput(this, "websocket_url", {
      value: this.chat.api.url,
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

/** Local state unless S3 or HCP Terraform is configured (config.ts rejects both at once). */
function configureBackend(stack: TerraformStack, backend: BackendConfig): void {
  switch (backend.kind) {
    case "local":
      return;
    case "s3": {
      const s3 = new S3Backend(stack, { bucket: backend.bucket, key: backend.key, region: backend.region, encrypt: true });
      // S3-native state locking (Terraform >= 1.10) needs no DynamoDB lock table; cdktf 0.21's typed
      // config predates the setting, hence the override.
      s3.addOverride("use_lockfile", true);
      return;
    }
    case "cloud":
      new CloudBackend(stack, {
        hostname: backend.hostname,
        organization: backend.organization,
        workspaces: new NamedCloudWorkspace(backend.workspace),
      });
      return;
  }
}
