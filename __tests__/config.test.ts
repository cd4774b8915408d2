import { configWarnings, readConfig } from "../constructs/config";

describe("readConfig", () => {
  test("defaults give a deployable configuration in us-east-1 with local state", () => {
    expect(readConfig({})).toEqual({
      stackName: "chat",
      region: "us-east-1",
      namePrefix: "chat",
      functions: { memorySize: 256, timeout: 10, logRetentionDays: 30, logLevel: "INFO" },
      api: { stageName: "prod", throttlingBurstLimit: 500, throttlingRateLimit: 1000 },
      table: { billingMode: "PAY_PER_REQUEST", readCapacity: undefined, writeCapacity: undefined },
      fanOut: { postsInFlight: 25, inlineLimit: 1000, jobSize: 500, batchSize: 1, consumerConcurrency: 10, consumerTimeoutSeconds: 60 },
      limits: { userRate: 5, userBurst: 20, maxConnectionsPerUser: 10, maxRoomsPerConnection: 50 },
      auth: { mode: "none" },
      domain: undefined,
      backend: { kind: "local" },
      observability: {
        metricsNamespace: "WebsocketChat",
        thresholds: { functionErrors: 1, functionThrottles: 1, deadLetterMessages: 1, apiExecutionErrors: 1, apiIntegrationErrors: 20, failedDeliveries: 10 },
      },
    });
  });

  test("every setting is read from its environment variable", () => {
    const config = readConfig({
      AWS_REGION: "eu-west-2",
      CHAT_STACK_NAME: "chat-staging",
      CHAT_NAME_PREFIX: "team-chat",
      CHAT_STAGE: "v1",
      CHAT_LOG_RETENTION_DAYS: "7",
      CHAT_THROTTLE_BURST: "50",
      CHAT_THROTTLE_RATE: "100",
      CHAT_BILLING_MODE: "PROVISIONED",
      CHAT_READ_CAPACITY: "10",
      CHAT_WRITE_CAPACITY: "20",
      CHAT_LAMBDA_MEMORY_MB: "512",
      CHAT_LAMBDA_TIMEOUT_SECONDS: "20",
      CHAT_FANOUT_CONCURRENCY: "50",
      CHAT_DOMAIN_NAME: "chat.example.com",
      CHAT_HOSTED_ZONE_ID: "Z0123456789ABCDEFGHIJ",
    });
    expect(config).toMatchObject({
      region: "eu-west-2",
      stackName: "chat-staging",
      namePrefix: "team-chat",
      functions: { logRetentionDays: 7, memorySize: 512, timeout: 20 },
      api: { stageName: "v1", throttlingBurstLimit: 50, throttlingRateLimit: 100 },
      table: { billingMode: "PROVISIONED", readCapacity: 10, writeCapacity: 20 },
      fanOut: { postsInFlight: 50 },
      domain: { name: "chat.example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" },
    });
  });

  test.each([
    ["AWS_REGION", "mars-north-1a", /AWS_REGION="mars-north-1a" is invalid: expected an AWS region/],
    ["CHAT_NAME_PREFIX", "Chat_App", /CHAT_NAME_PREFIX="Chat_App" is invalid: expected a lowercase letter/],
    ["CHAT_STAGE", "prod stage", /CHAT_STAGE="prod stage" is invalid: expected 1-128 letters, digits/],
    ["CHAT_LOG_RETENTION_DAYS", "10", /CHAT_LOG_RETENTION_DAYS="10" is invalid: expected one of 1, 3, 5, 7, 14, 30/],
    ["CHAT_THROTTLE_BURST", "-1", /CHAT_THROTTLE_BURST="-1" is invalid: expected an integer from 1 to 5000/],
    ["CHAT_THROTTLE_RATE", "fast", /CHAT_THROTTLE_RATE="fast" is invalid: expected an integer from 1 to 10000/],
    ["CHAT_USER_RATE", "-1", /CHAT_USER_RATE="-1" is invalid: expected an integer from 0 to 1000/],
    ["CHAT_USER_BURST", "0", /CHAT_USER_BURST="0" is invalid: expected an integer from 1 to 10000/],
    ["CHAT_MAX_CONNECTIONS_PER_USER", "0", /CHAT_MAX_CONNECTIONS_PER_USER="0" is invalid: expected an integer from 1 to 1000/],
    ["CHAT_MAX_ROOMS_PER_CONNECTION", "many", /CHAT_MAX_ROOMS_PER_CONNECTION="many" is invalid: expected an integer from 1 to 10000/],
    ["CHAT_BILLING_MODE", "ON_DEMAND", /CHAT_BILLING_MODE="ON_DEMAND" is invalid: expected one of PAY_PER_REQUEST, PROVISIONED/],
    ["CHAT_LAMBDA_MEMORY_MB", "64", /CHAT_LAMBDA_MEMORY_MB="64" is invalid: expected an integer from 128 to 10240/],
    ["CHAT_LAMBDA_TIMEOUT_SECONDS", "60", /CHAT_LAMBDA_TIMEOUT_SECONDS="60" is invalid: expected an integer from 1 to 29/],
    ["CHAT_LAMBDA_TIMEOUT_SECONDS", "2.5", /CHAT_LAMBDA_TIMEOUT_SECONDS="2.5" is invalid: expected an integer/],
    ["CHAT_FANOUT_CONCURRENCY", "0", /CHAT_FANOUT_CONCURRENCY="0" is invalid: expected an integer from 1 to 1000/],
    ["CHAT_INLINE_FANOUT_LIMIT", "-1", /CHAT_INLINE_FANOUT_LIMIT="-1" is invalid: expected an integer from 0 to 100000/],
    ["CHAT_FANOUT_JOB_SIZE", "1001", /CHAT_FANOUT_JOB_SIZE="1001" is invalid: expected an integer from 1 to 1000/],
    ["CHAT_FANOUT_BATCH_SIZE", "11", /CHAT_FANOUT_BATCH_SIZE="11" is invalid: expected an integer from 1 to 10/],
    ["CHAT_FANOUT_MAX_CONCURRENCY", "1", /CHAT_FANOUT_MAX_CONCURRENCY="1" is invalid: expected an integer from 2 to 1000/],
    ["CHAT_FANOUT_TIMEOUT_SECONDS", "901", /CHAT_FANOUT_TIMEOUT_SECONDS="901" is invalid: expected an integer from 10 to 900/],
    ["CHAT_DOMAIN_NAME", "Chat.Example.com", /CHAT_DOMAIN_NAME="Chat.Example.com" is invalid: expected a lowercase DNS name/],
    ["CHAT_HOSTED_ZONE_ID", "Z123", /CHAT_HOSTED_ZONE_ID="Z123" is invalid: expected no value unless CHAT_DOMAIN_NAME is set/],
    ["CHAT_CERTIFICATE_ARN", "arn:x", /CHAT_CERTIFICATE_ARN="arn:x" is invalid: expected no value unless CHAT_DOMAIN_NAME is set/],
    ["CHAT_STACK_NAME", "1chat", /CHAT_STACK_NAME="1chat" is invalid: expected a letter/],
  ])("%s=%s fails with a message naming the variable and what it allows", (name, value, message) => {
    expect(() => readConfig({ [name]: value })).toThrow(message);
  });

  test("capacities are rejected unless billing is PROVISIONED", () => {
    expect(() => readConfig({ CHAT_READ_CAPACITY: "5" })).toThrow(
      /CHAT_READ_CAPACITY="5" is invalid: expected no value unless CHAT_BILLING_MODE=PROVISIONED/,
    );
  });

  test("PROVISIONED billing defaults to 5 read and 5 write units", () => {
    expect(readConfig({ CHAT_BILLING_MODE: "PROVISIONED" }).table).toMatchObject({ readCapacity: 5, writeCapacity: 5 });
  });
});

describe("backend selection", () => {
  test("state is local when no backend is configured", () => {
    expect(readConfig({}).backend).toEqual({ kind: "local" });
  });

  test("TF_STATE_BUCKET selects S3 with a per-stack key in the stack's region", () => {
    expect(readConfig({ TF_STATE_BUCKET: "acme-tf-state", AWS_REGION: "eu-central-1" }).backend).toEqual({
      kind: "s3",
      bucket: "acme-tf-state",
      key: "chat/terraform.tfstate",
      region: "eu-central-1",
    });
  });

  test("TF_STATE_KEY and TF_STATE_REGION override the S3 key and region", () => {
    expect(
      readConfig({ TF_STATE_BUCKET: "acme-tf-state", TF_STATE_KEY: "envs/prod/chat.tfstate", TF_STATE_REGION: "us-west-2" }).backend,
    ).toMatchObject({ key: "envs/prod/chat.tfstate", region: "us-west-2" });
  });

  test("TF_CLOUD_ORGANIZATION and TF_CLOUD_WORKSPACE select HCP Terraform", () => {
    expect(readConfig({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod" }).backend).toEqual({
      kind: "cloud",
      organization: "acme",
      workspace: "chat-prod",
      hostname: "app.terraform.io",
    });
  });

  test("setting both S3 and HCP Terraform is an error naming both", () => {
    expect(() => readConfig({ TF_STATE_BUCKET: "acme-tf-state", TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "w" })).toThrow(
      /TF_STATE_BUCKET and TF_CLOUD_ORGANIZATION\/TF_CLOUD_WORKSPACE are both set: choose one backend/,
    );
  });

  test("an HCP Terraform organization without a workspace names the missing variable", () => {
    expect(() => readConfig({ TF_CLOUD_ORGANIZATION: "acme" })).toThrow(/TF_CLOUD_WORKSPACE is not set/);
  });

  test("TF_WORKSPACE beside HCP Terraform state fails synth: Terraform would refuse the account stack's workspace", () => {
    // terraform init: "Specified workspace "chat-prod-account" conflicts with TF_WORKSPACE environment variable".
    expect(() => readConfig({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod", TF_WORKSPACE: "chat-prod" })).toThrow(
      /TF_WORKSPACE is set: .*chat-prod and chat-prod-account.*unset TF_WORKSPACE/,
    );
  });

  test.each([
    ["TF_STATE_KEY", { TF_STATE_KEY: "envs/prod/chat.tfstate" }, "TF_STATE_BUCKET"],
    ["TF_STATE_REGION", { TF_STATE_REGION: "us-west-2" }, "TF_STATE_BUCKET"],
    ["TF_CLOUD_HOSTNAME", { TF_CLOUD_HOSTNAME: "tfe.example.com" }, "TF_CLOUD_ORGANIZATION"],
    ["TF_CLOUD_HOSTNAME with S3 state", { TF_STATE_BUCKET: "acme-tf-state", TF_CLOUD_HOSTNAME: "tfe.example.com" }, "TF_CLOUD_ORGANIZATION"],
  ])("%s without its backend fails instead of leaving the state local", (_, env, requires) => {
    expect(() => readConfig(env)).toThrow(new RegExp(`is invalid: expected no value unless ${requires}`));
  });

  test.each([
    ["TF_CLOUD_ORGANIZATION", { TF_CLOUD_ORGANIZATION: "acme corp!", TF_CLOUD_WORKSPACE: "chat-prod" }],
    ["TF_CLOUD_WORKSPACE", { TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat prod/../x" }],
    ["TF_CLOUD_WORKSPACE", { TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "w".repeat(83) }],
  ])("an invalid %s fails synth instead of terraform init", (name, env) => {
    expect(() => readConfig(env)).toThrow(new RegExp(`^${name}=.* is invalid: expected`));
  });

  test("a log retention written other than in decimal digits is refused", () => {
    expect(() => readConfig({ CHAT_LOG_RETENTION_DAYS: "0x1e" })).toThrow(/CHAT_LOG_RETENTION_DAYS="0x1e" is invalid: expected one of/);
  });

  test("an invalid bucket name is rejected", () => {
    expect(() => readConfig({ TF_STATE_BUCKET: "Acme_State" })).toThrow(/TF_STATE_BUCKET="Acme_State" is invalid: expected an S3 bucket name/);
  });
});

describe("authentication", () => {
  const jwt = { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://acme.eu.auth0.com/", CHAT_JWT_AUDIENCE: "https://chat.acme.example" };

  test("CHAT_AUTH=jwt reads the issuer and audience, and derives the JWKS URL from the issuer", () => {
    expect(readConfig(jwt).auth).toEqual({
      mode: "jwt",
      issuer: "https://acme.eu.auth0.com/",
      audience: "https://chat.acme.example",
      jwksUrl: "https://acme.eu.auth0.com/.well-known/jwks.json",
      nameClaim: "name",
    });
  });

  test("CHAT_JWT_JWKS_URL and CHAT_JWT_NAME_CLAIM override the defaults", () => {
    expect(readConfig({ ...jwt, CHAT_JWT_JWKS_URL: "https://acme.okta.com/oauth2/v1/keys", CHAT_JWT_NAME_CLAIM: "nickname" }).auth).toMatchObject({
      jwksUrl: "https://acme.okta.com/oauth2/v1/keys",
      nameClaim: "nickname",
    });
  });

  test("an http issuer is accepted on this machine only, for the local issuer", () => {
    expect(readConfig({ ...jwt, CHAT_JWT_ISSUER: "http://127.0.0.1:8080" }).auth).toMatchObject({ jwksUrl: "http://127.0.0.1:8080/.well-known/jwks.json" });
    expect(() => readConfig({ ...jwt, CHAT_JWT_ISSUER: "http://idp.example.com" })).toThrow(
      /CHAT_JWT_ISSUER="http:\/\/idp\.example\.com" is invalid: expected an https:\/\/ URL \(http:\/\/ only for 127\.0\.0\.1 or localhost\)/,
    );
  });

  test.each([
    ["CHAT_AUTH", "cognito", /CHAT_AUTH="cognito" is invalid: expected one of none, jwt/],
    ["CHAT_JWT_ISSUER", "acme.auth0.com", /CHAT_JWT_ISSUER="acme\.auth0\.com" is invalid: expected an https:\/\/ URL/],
    ["CHAT_JWT_AUDIENCE", "my app", /CHAT_JWT_AUDIENCE="my app" is invalid: expected 1-256 printable characters without spaces/],
    ["CHAT_JWT_JWKS_URL", "ftp://keys", /CHAT_JWT_JWKS_URL="ftp:\/\/keys" is invalid: expected an https:\/\/ URL/],
    ["CHAT_JWT_NAME_CLAIM", "display name", /CHAT_JWT_NAME_CLAIM="display name" is invalid: expected a claim name/],
  ])("%s=%s fails with a message naming the variable and what it allows", (name, value, message) => {
    expect(() => readConfig({ ...jwt, [name]: value })).toThrow(message);
  });

  test.each([
    ["CHAT_JWT_ISSUER", /CHAT_JWT_ISSUER is not set: CHAT_AUTH=jwt needs the issuer of your tokens \(their iss claim\); expected an https:\/\/ URL/],
    ["CHAT_JWT_AUDIENCE", /CHAT_JWT_AUDIENCE is not set: CHAT_AUTH=jwt needs the audience your tokens carry \(their aud claim\)/],
  ])("CHAT_AUTH=jwt without %s fails naming it", (name, message) => {
    const { [name as keyof typeof jwt]: _missing, ...rest } = jwt;
    expect(() => readConfig(rest)).toThrow(message);
  });

  test.each(["CHAT_JWT_ISSUER", "CHAT_JWT_AUDIENCE", "CHAT_JWT_JWKS_URL", "CHAT_JWT_NAME_CLAIM"])(
    "%s without CHAT_AUTH=jwt fails naming it, rather than leaving the stack open by mistake",
    (name) => {
      expect(() => readConfig({ [name]: "https://idp.example.com" })).toThrow(
        new RegExp(`${name}="https://idp\\.example\\.com" is invalid: expected no value unless CHAT_AUTH=jwt`),
      );
    },
  );

  test("the observability settings are read from their environment variables", () => {
    const config = readConfig({
        CHAT_METRICS_NAMESPACE: "Team/Chat Prod",
        CHAT_ALARM_EMAIL: "oncall@example.com",
        CHAT_LOG_LEVEL: "DEBUG",
        CHAT_ALARM_FUNCTION_ERRORS: "2",
        CHAT_ALARM_FUNCTION_THROTTLES: "3",
        CHAT_ALARM_DLQ_MESSAGES: "4",
        CHAT_ALARM_API_EXECUTION_ERRORS: "5",
        CHAT_ALARM_API_INTEGRATION_ERRORS: "6",
        CHAT_ALARM_FAILED_DELIVERIES: "7",
      });
    expect(config.observability).toEqual({
      metricsNamespace: "Team/Chat Prod",
      alarmEmail: "oncall@example.com",
      thresholds: { functionErrors: 2, functionThrottles: 3, deadLetterMessages: 4, apiExecutionErrors: 5, apiIntegrationErrors: 6, failedDeliveries: 7 },
    });
    expect(config.functions.logLevel).toBe("DEBUG");
  });

  test.each([
    ["CHAT_METRICS_NAMESPACE", "AWS/Lambda", /CHAT_METRICS_NAMESPACE="AWS\/Lambda" is invalid: expected 1-255 letters.*not starting with AWS\//],
    ["CHAT_METRICS_NAMESPACE", "chat!", /CHAT_METRICS_NAMESPACE="chat!" is invalid/],
    ["CHAT_ALARM_EMAIL", "oncall", /CHAT_ALARM_EMAIL="oncall" is invalid: expected an email address/],
    ["CHAT_LOG_LEVEL", "verbose", /CHAT_LOG_LEVEL="verbose" is invalid: expected one of TRACE, DEBUG, INFO/],
    ["CHAT_ALARM_FAILED_DELIVERIES", "0", /CHAT_ALARM_FAILED_DELIVERIES="0" is invalid: expected an integer from 1/],
    ["CHAT_ALARM_FUNCTION_ERRORS", "1.5", /CHAT_ALARM_FUNCTION_ERRORS="1.5" is invalid: expected an integer/],
  ])("%s=%s fails with a message naming the variable and what it allows", (name, value, message) => {
    expect(() => readConfig({ [name]: value })).toThrow(message);
  });

  test.each(["WARN", "ERROR", "FATAL"])("CHAT_LOG_LEVEL=%s is refused, saying Lambda would drop the metrics with it", (level) => {
    expect(() => readConfig({ CHAT_LOG_LEVEL: level })).toThrow(
      new RegExp(`CHAT_LOG_LEVEL="${level}" is invalid: expected one of TRACE, DEBUG, INFO\\. Lambda files the metrics' EMF lines as INFO`),
    );
  });

  test("anonymous mode warns that anyone can connect; jwt mode does not", () => {
    expect(configWarnings(readConfig({}))).toEqual([expect.stringMatching(/^CHAT_AUTH=none: anyone who knows the URL can connect/)]);
    expect(configWarnings(readConfig(jwt))).toEqual([]);
  });
});

describe("custom domain settings", () => {
  const certificate = "arn:aws:acm:eu-west-1:123456789012:certificate/0b3e9f1c-6a8d-4c2e-9f7a-1d2c3b4a5e6f";

  test("a domain with an existing certificate needs no hosted zone", () => {
    expect(readConfig({ AWS_REGION: "eu-west-1", CHAT_DOMAIN_NAME: "chat.example.com", CHAT_CERTIFICATE_ARN: certificate }).domain).toEqual({
      name: "chat.example.com",
      certificateArn: certificate,
    });
  });

  test("a domain without a hosted zone or certificate names both settings", () => {
    expect(() => readConfig({ CHAT_DOMAIN_NAME: "chat.example.com" })).toThrow(
      /CHAT_DOMAIN_NAME is set without CHAT_HOSTED_ZONE_ID or CHAT_CERTIFICATE_ARN/,
    );
  });

  test("a certificate from another region than the API's is refused, naming the region", () => {
    expect(() => readConfig({ AWS_REGION: "us-east-1", CHAT_DOMAIN_NAME: "chat.example.com", CHAT_CERTIFICATE_ARN: certificate })).toThrow(
      /CHAT_CERTIFICATE_ARN=".*" is invalid: expected the ARN of an ACM certificate in us-east-1 \(AWS_REGION\)/,
    );
  });
});

describe("the retired CHAT_MANAGE_API_GATEWAY_ACCOUNT", () => {
  test("=false is accepted: the chat stack never touches the account setting now", () => {
    expect(() => readConfig({ CHAT_MANAGE_API_GATEWAY_ACCOUNT: "false" })).not.toThrow();
  });

  test("=true fails, pointing to the account stack instead of silently dropping the role", () => {
    expect(() => readConfig({ CHAT_MANAGE_API_GATEWAY_ACCOUNT: "true" })).toThrow(
      /CHAT_MANAGE_API_GATEWAY_ACCOUNT="true" is no longer supported: .*<stack>-account stack/,
    );
  });
});
