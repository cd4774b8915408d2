import { CloudBackend, NamedCloudWorkspace, S3Backend, type TerraformStack } from "cdktf";
import type { BackendConfig } from "./config";

/** Local state unless S3 or HCP Terraform is configured (config.ts rejects both at once). */
export function configureBackend(stack: TerraformStack, backend: BackendConfig): void {
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

/**
 * The state of a second stack beside the chat's, in the same place but never the same object: the S3
 * key `<stack>/terraform.tfstate` of its own (whatever TF_STATE_KEY says for the chat), or the HCP
 * Terraform workspace `<workspace>-<suffix>`. Local state is already per stack.
 */
export function companionBackend(backend: BackendConfig, stackName: string, suffix: string): BackendConfig {
  switch (backend.kind) {
    case "local":
      return backend;
    case "s3":
      return { ...backend, key: `${stackName}/terraform.tfstate` };
    case "cloud":
      return { ...backend, workspace: `${backend.workspace}-${suffix}` };
  }
}
