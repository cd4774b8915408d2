import { Testing } from "cdktf";

// Adds cdktf's matchers (toHaveResourceWithProperties, toHaveResource, ...) to expect.
Testing.setupJest();

/** A class with a Terraform resource type, such as `DynamodbTable`, as cdktf's matchers take it. */
interface TerraformConstructor {
  readonly tfResourceType: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toHaveResource(type: TerraformConstructor): R;
      toHaveResourceWithProperties(type: TerraformConstructor, properties: Record<string, unknown>): R;
      toHaveDataSource(type: TerraformConstructor): R;
      toHaveDataSourceWithProperties(type: TerraformConstructor, properties: Record<string, unknown>): R;
      toHaveProvider(type: TerraformConstructor): R;
      toHaveProviderWithProperties(type: TerraformConstructor, properties: Record<string, unknown>): R;
      /** `terraform init` and `terraform validate` in every stack folder a cdktf.out-shaped folder lists. */
      toBeValidTerraform(): R;
      /** `terraform init` and `terraform plan` in every stack folder a cdktf.out-shaped folder lists. */
      toPlanSuccessfully(): R;
    }
  }
}

