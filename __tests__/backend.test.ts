import { synthChat } from "./support/synth";

describe("Terraform state backend", () => {
  test("is local when nothing is configured", () => {
    const { tf } = synthChat();
    expect(tf.terraform?.backend).toBeUndefined();
    expect(tf.terraform?.cloud).toBeUndefined();
  });

  test("is S3 with encryption and S3-native locking when TF_STATE_BUCKET is set", () => {
    const { tf } = synthChat({ TF_STATE_BUCKET: "acme-tf-state", AWS_REGION: "eu-west-1" });
    expect(tf.terraform?.backend).toEqual({
      s3: { bucket: "acme-tf-state", key: "chat/terraform.tfstate", region: "eu-west-1", encrypt: true, use_lockfile: true },
    });
  });

  test("is HCP Terraform when TF_CLOUD_ORGANIZATION and TF_CLOUD_WORKSPACE are set", () => {
    const { tf } = synthChat({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod" });
    expect(tf.terraform?.cloud).toEqual({
      hostname: "app.terraform.io",
      organization: "acme",
      workspaces: { name: "chat-prod" },
    });
    expect(tf.terraform?.backend).toBeUndefined();
  });

  test("refuses S3 and HCP Terraform together", () => {
    expect(() => synthChat({ TF_STATE_BUCKET: "acme-tf-state", TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod" })).toThrow(
      /choose one backend/,
    );
  });
});
