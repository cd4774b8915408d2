/**
 * Every configuration variant (support/plan-variants.ts) through the real `terraform` and the real
 * `hashicorp/aws` provider, offline: `terraform init`, `validate` (cdktf's toBeValidTerraform) and
 * `plan`, then assertions on `terraform show -json` of the plan. cdktf's toPlanSuccessfully is not used:
 * it throws its plan away, and the assertions need the plan file, so it would only plan a second time.
 *
 * The stacks are copies with the substitutions listed in support/terraform.ts: above all, the
 * `archive_file` data sources are replaced by their outputs, since the mirror has no hashicorp/archive.
 * To pay for the provider's start-up once rather than once per variant, every variant is a module of one
 * configuration whose root holds the variants' provider configuration (combineModules); the backends,
 * which a module cannot hold, are checked in terraform-backends.test.ts.
 * Skipped, saying what is missing, without terraform or the mirror, unless REQUIRE_TERRAFORM=1.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ACCOUNT_WIDE_TYPES,
  expectedAddresses,
  PLAN_VARIANTS,
  type PlanVariant,
} from "./support/plan-variants";
import { synthesizeApp } from "./support/synth-app";
import {
  asList,
  awsResourceSchemas,
  AWS_PROVIDER,
  combineModules,
  localAddress,
  managedChanges,
  offlineCopy,
  type Plan,
  placeholderTarget,
  type ResourceSchemas,
  plannedPolicies,
  seedPolicyTargets,
  stableAddress,
  stateWith,
  type StateResource,
  terraformChecksEnabled,
  TerraformWorkspace,
  writeConfiguration,
} from "./support/terraform";

const describeWithTerraform = terraformChecksEnabled() ? describe : describe.skip;

/** Where `*` may stand in a policy resource: at the end, after one of these (as the synth tests demand). */
const ALLOWED_RESOURCE_WILDCARDS = [
  // Lambda names a function's log streams itself.
  /:log-stream:\*$/,
  // Any connection of the stage: connection ids are not known in advance.
  /\/(POST|GET|DELETE)\/@connections\/\*$/,
  // The account role serves every API in the region: API Gateway names execution log groups itself, and
  // access log groups follow the /aws/apigateway/ convention.
  /:log-group:API-Gateway-Execution-Logs_\*(:log-stream:\*)?$/,
  /:log-group:\/aws\/apigateway\/\*(:log-stream:\*)?$/,
];

/** The attributes of a resource that are ARNs a policy may name. */
const ARN_ATTRIBUTES = ["arn", "execution_arn"];

/** The state a chat stack deployed before the account stack existed holds for the account setting. */
function earlierAccountSetting(module: string): StateResource[] {
  const entry = (type: string, name: string, attributes: Record<string, unknown>): StateResource => ({
    module: `module.${module}`,
    mode: "managed",
    type,
    name,
    // The root's provider, as for every variant's resources (combineModules).
    provider: AWS_PROVIDER,
    instances: [{ schema_version: 0, attributes }],
  });
  const roleArn = "arn:aws:iam::123456789012:role/chat-websocket-apigateway-logs";
  return [
    entry("aws_api_gateway_account", "chat_websocket_account_8A59FFAD", { id: "api-gateway-account", cloudwatch_role_arn: roleArn }),
    entry("aws_iam_role", "chat_websocket_cloudwatch-role_58BA39D1", { id: "chat-websocket-apigateway-logs", name: "chat-websocket-apigateway-logs", arn: roleArn }),
    entry("aws_iam_role_policy", "chat_websocket_cloudwatch-policy_BE43B3D3", {
      id: "chat-websocket-apigateway-logs:chat-websocket-apigateway-logs",
      name: "chat-websocket-apigateway-logs",
      role: "chat-websocket-apigateway-logs",
    }),
  ];
}

describeWithTerraform("terraform init, validate and plan of every configuration variant", () => {
  let workspace: TerraformWorkspace;
  let checkDir: string;
  let root: string;
  /** The first plan: everything is created. */
  let created: Plan;
  /** The plan after `created` as if applied (see seedPolicyTargets), plus the default variant's earlier account setting. */
  let applied: Plan;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    workspace = TerraformWorkspace.create("terraform-plan");
    // cdktf's matchers run terraform with process.env.
    Object.assign(process.env, workspace.environment());
    checkDir = join(workspace.dir, "check");
    root = join(checkDir, "variants");
    const copies = PLAN_VARIANTS.map((variant) => {
      const stackDir = synthesizeApp(variant.env, join(workspace.dir, "synth", variant.name))[variant.stack ?? "chat"];
      const tf = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
      return { name: variant.name, tf: offlineCopy(tf, { stackDir, awsVersion: workspace.awsVersion, backend: "module" }) };
    });
    const combined = combineModules(copies);
    for (const [name, tf] of combined.modules) writeConfiguration(join(root, name), tf);
    writeConfiguration(root, combined.root);
    // The folder cdktf's matchers take: a manifest naming the stack folders (here, the one holding every variant).
    writeFileSync(join(checkDir, "manifest.json"), JSON.stringify({ stacks: { variants: { workingDirectory: "variants" } } }));

    await workspace.run(root, ["init", "-input=false", "-no-color"]);
    let schemas: ResourceSchemas;
    [created, schemas] = await Promise.all([workspace.plan(root), awsResourceSchemas(workspace, root)]);
    const seeded = [...PLAN_VARIANTS.flatMap((variant) => seedPolicyTargets(created, schemas, variant.name)), ...earlierAccountSetting("default")];
    writeFileSync(join(root, "terraform.tfstate"), JSON.stringify(stateWith(seeded)));
    applied = await workspace.plan(root);
  }, 300_000);

  afterAll(() => {
    for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
    Object.assign(process.env, savedEnv);
    workspace?.remove();
  });

  test("every variant is valid Terraform for the real AWS provider (cdktf's toBeValidTerraform)", () => {
    expect(checkDir).toBeValidTerraform();
  }, 120_000);

  const variants = PLAN_VARIANTS.map((variant) => ({ ...variant, count: expectedAddresses(variant).length }));

  test.each(variants)("$name plans exactly its $count resources", (variant: PlanVariant) => {
    const planned = managedChanges(created, variant.name);
    expect(planned.every((change) => change.change.actions.join() === "create")).toBe(true);
    expect(planned.map(stableAddress).sort()).toEqual(expectedAddresses(variant));
  });

  test.each(variants)("$name changes account-wide settings only when it is the variant that asks for them", (variant: PlanVariant) => {
    const accountWide = managedChanges(created, variant.name)
      .map((change) => change.type)
      .filter((type) => ACCOUNT_WIDE_TYPES.includes(type));
    expect(accountWide.sort()).toEqual([...(variant.accountWide ?? [])].sort());
  });

  test.each(variants)("$name: every IAM policy allows named actions only, on its own stack's resources, as narrowly as the synth tests demand", (variant: PlanVariant) => {
    const policies = plannedPolicies(applied, variant.name);
    expect(policies.length).toBeGreaterThan(0);
    const own = new Set(managedChanges(applied, variant.name).flatMap((change) => ARN_ATTRIBUTES.map((a) => `${localAddress(change)}.${a}`)));
    const problems: string[] = [];
    for (const { where, statements } of policies) {
      for (const statement of statements) {
        const problem = (what: string) => problems.push(`${where}: ${what} in ${JSON.stringify(statement)}`);
        if (statement.Effect !== "Allow") problem("an Effect other than Allow");
        if (statement.NotAction || statement.NotResource) problem("NotAction/NotResource");
        for (const action of asList(statement.Action)) if (!/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(action)) problem(`the action ${action}`);
        if (where.endsWith(".assume_role_policy")) {
          // A trust policy: one AWS service may assume the role, nothing else.
          if (asList(statement.Action).join() !== "sts:AssumeRole" || !/^[a-z0-9-]+\.amazonaws\.com$/.test(statement.Principal?.Service)) {
            problem("a trust policy other than one service's sts:AssumeRole");
          }
          continue;
        }
        // A resource policy (a queue's, a topic's) names its principal; it must be one service, never "*".
        if (statement.Principal !== undefined && !/^[a-z0-9-]+\.amazonaws\.com$/.test(statement.Principal?.Service)) {
          problem("a principal other than one AWS service");
        }
        for (const resource of asList(statement.Resource)) {
          // The earliest allowed wildcard suffix: `...Logs_*:log-stream:*` is one suffix, not two.
          const wildcards = ALLOWED_RESOURCE_WILDCARDS.map((pattern) => pattern.exec(resource)?.index).filter((i): i is number => i !== undefined);
          const base = wildcards.length > 0 ? resource.slice(0, Math.min(...wildcards)) : resource;
          if (base.includes("*")) problem(`the wildcard in ${resource}`);
          const target = placeholderTarget(base.split(/\/|:log-stream:/)[0]);
          if (target !== undefined && !own.has(target)) problem(`${resource}, not an ARN of this stack`);
          if (target === undefined && !/^arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d{12}(:|$)/.test(base)) problem(`the resource ${resource}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("a chat stack deployed by an earlier version forgets its account setting on upgrade instead of destroying it", () => {
    const earlier = (applied.resource_changes ?? []).filter((change) => change.module_address === "module.default" && /websocket_(account|cloudwatch)/.test(change.name));
    expect(earlier.map((change) => [change.type, change.change.actions])).toEqual(
      expect.arrayContaining([
        ["aws_api_gateway_account", ["forget"]],
        ["aws_iam_role", ["forget"]],
        ["aws_iam_role_policy", ["forget"]],
      ]),
    );
    expect(earlier).toHaveLength(3);
  });
});
