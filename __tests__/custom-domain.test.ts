import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalRuntime } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { ref, resources, synthChat, type TerraformJson } from "./support/synth";

const ZONE = "Z0123456789ABCDEFGHIJ";
const CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b3e9f1c-6a8d-4c2e-9f7a-1d2c3b4a5e6f";
const WITH_ZONE = { CHAT_DOMAIN_NAME: "chat.example.com", CHAT_HOSTED_ZONE_ID: ZONE };
const WITH_CERTIFICATE = { CHAT_DOMAIN_NAME: "chat.example.com", CHAT_CERTIFICATE_ARN: CERTIFICATE };

let zoned: TerraformJson;
let certified: TerraformJson;
beforeAll(() => {
  zoned = synthChat(WITH_ZONE).tf;
  certified = synthChat(WITH_CERTIFICATE).tf;
});

const only = (tf: TerraformJson, type: string): [string, Record<string, any>] => {
  const found = resources(tf, type);
  expect(found).toHaveLength(1);
  return found[0];
};

describe("a custom domain with a Route 53 hosted zone", () => {
  test("gets an ACM certificate validated through a DNS record in the zone", () => {
    const [certificateName, certificate] = only(zoned, "aws_acm_certificate");
    expect(certificate).toMatchObject({ domain_name: "chat.example.com", validation_method: "DNS", lifecycle: { create_before_destroy: true } });
    const [recordsName, records] = resources(zoned, "aws_route53_record").find(([, r]) => r.for_each)!;
    // Keyed by domain name, which the plan knows before the certificate exists.
    expect(records.for_each).toBe(
      `\${{ for key, val in tolist(aws_acm_certificate.${certificateName}.domain_validation_options): val.domain_name => val }}`,
    );
    expect(records).toMatchObject({ zone_id: ZONE, name: "${each.value.resource_record_name}", type: "${each.value.resource_record_type}" });
    const [, validation] = only(zoned, "aws_acm_certificate_validation");
    expect(validation.certificate_arn).toBe(ref("aws_acm_certificate", certificateName, "arn"));
    expect(validation.validation_record_fqdns).toContain(`aws_route53_record.${recordsName}`);
  });

  test("is a regional TLS 1.2 domain with the validated certificate, mapped to the API's stage", () => {
    const [validationName] = only(zoned, "aws_acm_certificate_validation");
    const [domainName, domain] = only(zoned, "aws_apigatewayv2_domain_name");
    expect(domain).toMatchObject({
      domain_name: "chat.example.com",
      domain_name_configuration: {
        certificate_arn: ref("aws_acm_certificate_validation", validationName, "certificate_arn"),
        endpoint_type: "REGIONAL",
        security_policy: "TLS_1_2",
      },
    });
    const [, mapping] = only(zoned, "aws_apigatewayv2_api_mapping");
    expect(mapping).toEqual(
      expect.objectContaining({
        api_id: ref("aws_apigatewayv2_api", only(zoned, "aws_apigatewayv2_api")[0], "id"),
        domain_name: ref("aws_apigatewayv2_domain_name", domainName, "id"),
        stage: ref("aws_apigatewayv2_stage", only(zoned, "aws_apigatewayv2_stage")[0], "id"),
      }),
    );
    expect(mapping.api_mapping_key).toBeUndefined();
  });

  test("gets an alias record pointing at API Gateway's regional host", () => {
    const [domainName] = only(zoned, "aws_apigatewayv2_domain_name");
    const [, alias] = resources(zoned, "aws_route53_record").find(([, r]) => r.alias)!;
    expect(alias).toMatchObject({
      zone_id: ZONE,
      name: "chat.example.com",
      type: "A",
      alias: {
        name: `\${aws_apigatewayv2_domain_name.${domainName}.domain_name_configuration[0].target_domain_name}`,
        zone_id: `\${aws_apigatewayv2_domain_name.${domainName}.domain_name_configuration[0].hosted_zone_id}`,
        evaluate_target_health: false,
      },
    });
  });

  test("websocket_url is the domain, while the functions keep the execute-api endpoint to post to", () => {
    expect(zoned.output.websocket_url.value).toBe("wss://chat.example.com");
    const [, sendMessage] = resources(zoned, "aws_lambda_function").find(([, fn]) => fn.function_name === "chat-send-message")!;
    expect(sendMessage.environment.variables.CALLBACK_URL).toBe(zoned.output.callback_url.value);
    expect(zoned.output.callback_url.value).toMatch(/aws_apigatewayv2_api\.\w+\.api_endpoint/);
  });
});

describe("a custom domain with an existing certificate", () => {
  test("uses the certificate as it is: no ACM resources", () => {
    expect(resources(certified, "aws_acm_certificate")).toEqual([]);
    expect(resources(certified, "aws_acm_certificate_validation")).toEqual([]);
    expect(only(certified, "aws_apigatewayv2_domain_name")[1].domain_name_configuration.certificate_arn).toBe(CERTIFICATE);
  });

  test("without a hosted zone creates no DNS record and outputs where to point one", () => {
    expect(resources(certified, "aws_route53_record")).toEqual([]);
    const [domainName] = only(certified, "aws_apigatewayv2_domain_name");
    expect(certified.output.domain_target.value).toEqual({
      domainName: `\${aws_apigatewayv2_domain_name.${domainName}.domain_name_configuration[0].target_domain_name}`,
      hostedZoneId: `\${aws_apigatewayv2_domain_name.${domainName}.domain_name_configuration[0].hosted_zone_id}`,
    });
  });

  test("with a hosted zone too gets the alias record", () => {
    const { tf } = synthChat({ ...WITH_CERTIFICATE, CHAT_HOSTED_ZONE_ID: ZONE });
    expect(resources(tf, "aws_acm_certificate")).toEqual([]);
    expect(resources(tf, "aws_route53_record").map(([, r]) => r.type)).toEqual(["A"]);
  });
});

describe("the local runtime", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "custom-domain-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("starts on a stack with a custom domain, saying once that it ignores the domain", async () => {
    const warnings: string[] = [];
    const stackDir = synthesizeStack({ outdir: join(dir, "cdktf.out"), env: WITH_ZONE, warn: (warning) => warnings.push(warning) });
    // Kept out of the test output, but only the warning this stack is known to earn.
    expect(warnings).toEqual([expect.stringMatching(/^CHAT_AUTH=none: /)]);
    const lines: string[] = [];
    const runtime = await startLocalRuntime({ stackDir, port: 0, log: (line) => lines.push(line) });
    try {
      expect(lines.filter((line) => /chat\.example\.com|acm|route53|domain_name|api_mapping/.test(line))).toEqual([
        "note: custom domain chat.example.com: ignored locally; clients connect to the local WebSocket URL instead",
      ]);
      // The synthesized callback URL resolves (the runtime's own endpoint wins for posting).
      expect(runtime.environmentOf("chat-send-message").CALLBACK_URL).toBe(`${runtime.wsUrl}`);
    } finally {
      await runtime.stop();
    }
  }, 60_000);
});
