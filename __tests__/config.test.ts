import { configWarnings, readConfig } from "../constructs/config";
import { CHAT_ROUTES } from "../constructs/websocket-chat";

/** Synth requires CHAT_AUTH; the tests of other settings choose none unless they say otherwise. */
const configOf = (env: Record<string, string | undefined>) => readConfig({ CHAT_AUTH: "none", ...env });

describe("readConfig", () => {
  test("defaults give a deployable configuration in us-east-1 with local state", () => {
    expect(configOf({})).toEqual({
      stackName: "chat",
      region: "us-east-1",
      namePrefix: "chat",
      functions: { memorySize: 256, timeout: 10, logRetentionDays: 30, logLevel: "INFO", runtime: "nodejs22.x" },
      api: { stageName: "prod", throttlingBurstLimit: 500, throttlingRateLimit: 1000 },
      table: { billingMode: "PAY_PER_REQUEST", readCapacity: undefined, writeCapacity: undefined },
      fanOut: { postsInFlight: 25, inlineLimit: 1000, jobSize: 500, batchSize: 1, consumerConcurrency: 10, consumerTimeoutSeconds: 60 },
      history: { days: 7 },
      limits: { userRate: 5, userBurst: 20, maxConnectionsPerUser: 10, maxRoomsPerConnection: 50 },
      auth: { mode: "none", broadcast: "everyone" },
      domain: undefined,
      backend: { kind: "local" },
      observability: {
        metricsNamespace: "WebsocketChat",
        thresholds: { functionErrors: 1, functionThrottles: 1, deadLetterMessages: 1, apiExecutionErrors: 1, apiIntegrationErrors: 20, failedDeliveries: 10, fanOutQueueAgeSeconds: 300, connects: 3000, messages: 150_000 },
      },
    });
  });

  test("every setting is read from its environment variable", () => {
    const config = configOf({
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
      CHAT_LAMBDA_RUNTIME: "nodejs24.x",
      CHAT_FANOUT_CONCURRENCY: "50",
      CHAT_DOMAIN_NAME: "chat.example.com",
      CHAT_HOSTED_ZONE_ID: "Z0123456789ABCDEFGHIJ",
    });
    expect(config).toMatchObject({
      region: "eu-west-2",
      stackName: "chat-staging",
      namePrefix: "team-chat",
      functions: { logRetentionDays: 7, memorySize: 512, timeout: 20, runtime: "nodejs24.x" },
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
    ["CHAT_LAMBDA_RUNTIME", "nodejs20.x", /CHAT_LAMBDA_RUNTIME="nodejs20.x" is invalid: expected one of nodejs22.x, nodejs24.x/],
    ["CHAT_LAMBDA_TIMEOUT_SECONDS", "2.5", /CHAT_LAMBDA_TIMEOUT_SECONDS="2.5" is invalid: expected an integer/],
    ["CHAT_FANOUT_CONCURRENCY", "0", /CHAT_FANOUT_CONCURRENCY="0" is invalid: expected an integer from 1 to 1000/],
    ["CHAT_INLINE_FANOUT_LIMIT", "-1", /CHAT_INLINE_FANOUT_LIMIT="-1" is invalid: expected an integer from 0 to 100000/],
    ["CHAT_FANOUT_JOB_SIZE", "1001", /CHAT_FANOUT_JOB_SIZE="1001" is invalid: expected an integer from 1 to 1000/],
    ["CHAT_FANOUT_BATCH_SIZE", "11", /CHAT_FANOUT_BATCH_SIZE="11" is invalid: expected an integer from 1 to 10/],
    ["CHAT_FANOUT_MAX_CONCURRENCY", "1", /CHAT_FANOUT_MAX_CONCURRENCY="1" is invalid: expected an integer from 2 to 1000/],
    ["CHAT_FANOUT_TIMEOUT_SECONDS", "901", /CHAT_FANOUT_TIMEOUT_SECONDS="901" is invalid: expected an integer from 10 to 900/],
    ["CHAT_HISTORY_DAYS", "-1", /CHAT_HISTORY_DAYS="-1" is invalid: expected an integer from 0 to 3650/],
    ["CHAT_HISTORY_DAYS", "1.5", /CHAT_HISTORY_DAYS="1.5" is invalid: expected an integer/],
    ["CHAT_DOMAIN_NAME", "Chat.Example.com", /CHAT_DOMAIN_NAME="Chat.Example.com" is invalid: expected a lowercase DNS name/],
    ["CHAT_HOSTED_ZONE_ID", "Z123", /CHAT_HOSTED_ZONE_ID="Z123" is invalid: expected no value unless CHAT_DOMAIN_NAME is set/],
    ["CHAT_CERTIFICATE_ARN", "arn:x", /CHAT_CERTIFICATE_ARN="arn:x" is invalid: expected no value unless CHAT_DOMAIN_NAME is set/],
    ["CHAT_ALARM_FANOUT_AGE_SECONDS", "0", /CHAT_ALARM_FANOUT_AGE_SECONDS="0" is invalid: expected an integer from 1 to 1209600/],
    ["CHAT_ALARM_CONNECTS", "many", /CHAT_ALARM_CONNECTS="many" is invalid: expected an integer from 1 to 100000000/],
    ["CHAT_ALARM_MESSAGES", "1.5", /CHAT_ALARM_MESSAGES="1.5" is invalid: expected an integer from 1 to 1000000000/],
    ["CHAT_STACK_NAME", "1chat", /CHAT_STACK_NAME="1chat" is invalid: expected a letter/],
  ])("%s=%s fails with a message naming the variable and what it allows", (name, value, message) => {
    expect(() => configOf({ [name]: value })).toThrow(message);
  });

  test("capacities are rejected unless billing is PROVISIONED", () => {
    expect(() => configOf({ CHAT_READ_CAPACITY: "5" })).toThrow(
      /CHAT_READ_CAPACITY="5" is invalid: expected no value unless CHAT_BILLING_MODE=PROVISIONED/,
    );
  });

  test("PROVISIONED billing defaults to 5 read and 5 write units", () => {
    expect(configOf({ CHAT_BILLING_MODE: "PROVISIONED" }).table).toMatchObject({ readCapacity: 5, writeCapacity: 5 });
  });
});

describe("reserved concurrency", () => {
  const jwt = { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://issuer.example.com", CHAT_JWT_AUDIENCE: "client" };

  test("is opt-in: unset, no function reserves any, so the stack deploys in an account of any quota", () => {
    expect(configOf({}).functions.reservedConcurrency).toBeUndefined();
    expect(configOf({ CHAT_RESERVED_CONCURRENCY: "20" }).functions.reservedConcurrency).toBe(20);
  });

  test.each([
    ["0", /CHAT_RESERVED_CONCURRENCY="0" is invalid: expected an integer from 1 to 1000/],
    ["ten", /CHAT_RESERVED_CONCURRENCY="ten" is invalid: expected an integer from 1 to 1000/],
  ])("CHAT_RESERVED_CONCURRENCY=%s fails naming what it allows", (value, message) => {
    expect(() => configOf({ CHAT_RESERVED_CONCURRENCY: value })).toThrow(message);
  });

  test("the total must leave the account Lambda's 100 unreserved: each route, the authorizer and the fan-out worker's share counted", () => {
    // 900 reservable of 1,000, less the worker's 10, shared by the routes.
    const most = Math.floor((900 - 10) / CHAT_ROUTES.length);
    expect(configOf({ CHAT_RESERVED_CONCURRENCY: String(most) }).functions.reservedConcurrency).toBe(most);
    expect(() => configOf({ CHAT_RESERVED_CONCURRENCY: String(most + 1) })).toThrow(
      new RegExp(`CHAT_RESERVED_CONCURRENCY="${most + 1}" is invalid: it reserves ${(most + 1) * CHAT_ROUTES.length + 10} .* an account of 1000 \\(CHAT_ACCOUNT_CONCURRENCY\\) may reserve 900.*Expected an integer from 1 to ${most}`),
    );
    // The authorizer reserves its share too, and a larger queue concurrency leaves the routes less.
    const withAuthorizer = Math.floor((900 - 10) / (CHAT_ROUTES.length + 1));
    expect(() => configOf({ ...jwt, CHAT_RESERVED_CONCURRENCY: String(withAuthorizer + 1) })).toThrow(new RegExp(`Expected an integer from 1 to ${withAuthorizer},`));
    expect(() => configOf({ CHAT_RESERVED_CONCURRENCY: String(most), CHAT_FANOUT_MAX_CONCURRENCY: "100" })).toThrow(/CHAT_FANOUT_MAX_CONCURRENCY=100/);
    // A raised quota, said so, allows more.
    expect(configOf({ CHAT_RESERVED_CONCURRENCY: String(most * 4), CHAT_ACCOUNT_CONCURRENCY: "5000" }).functions.reservedConcurrency).toBe(most * 4);
  });

  test("an account whose quota is all unreserved minimum (a new account's 10 or 50) can reserve nothing, and synth says so", () => {
    expect(() => configOf({ CHAT_RESERVED_CONCURRENCY: "1", CHAT_ACCOUNT_CONCURRENCY: "50" })).toThrow(
      /CHAT_RESERVED_CONCURRENCY="1" is invalid: an account of 50 \(CHAT_ACCOUNT_CONCURRENCY\) may reserve 0 .*Expected no value/,
    );
  });

  test("CHAT_ACCOUNT_CONCURRENCY is refused without a reservation to check", () => {
    expect(() => configOf({ CHAT_ACCOUNT_CONCURRENCY: "1000" })).toThrow(/CHAT_ACCOUNT_CONCURRENCY="1000" is invalid: expected no value unless CHAT_RESERVED_CONCURRENCY is set/);
  });
});

describe("backend selection", () => {
  test("state is local when no backend is configured", () => {
    expect(configOf({}).backend).toEqual({ kind: "local" });
  });

  test("TF_STATE_BUCKET selects S3 with a per-stack key in the stack's region", () => {
    expect(configOf({ TF_STATE_BUCKET: "acme-tf-state", AWS_REGION: "eu-central-1" }).backend).toEqual({
      kind: "s3",
      bucket: "acme-tf-state",
      key: "chat/terraform.tfstate",
      region: "eu-central-1",
    });
  });

  test("TF_STATE_KEY and TF_STATE_REGION override the S3 key and region", () => {
    expect(
      configOf({ TF_STATE_BUCKET: "acme-tf-state", TF_STATE_KEY: "envs/prod/chat.tfstate", TF_STATE_REGION: "us-west-2" }).backend,
    ).toMatchObject({ key: "envs/prod/chat.tfstate", region: "us-west-2" });
  });

  test("TF_CLOUD_ORGANIZATION and TF_CLOUD_WORKSPACE select HCP Terraform", () => {
    expect(configOf({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod" }).backend).toEqual({
      kind: "cloud",
      organization: "acme",
      workspace: "chat-prod",
      hostname: "app.terraform.io",
    });
  });

  test("setting both S3 and HCP Terraform is an error naming both", () => {
    expect(() => configOf({ TF_STATE_BUCKET: "acme-tf-state", TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "w" })).toThrow(
      /TF_STATE_BUCKET and TF_CLOUD_ORGANIZATION\/TF_CLOUD_WORKSPACE are both set: choose one backend/,
    );
  });

  test("an HCP Terraform organization without a workspace names the missing variable", () => {
    expect(() => configOf({ TF_CLOUD_ORGANIZATION: "acme" })).toThrow(/TF_CLOUD_WORKSPACE is not set/);
  });

  test("TF_WORKSPACE beside HCP Terraform state fails synth: Terraform would refuse the account stack's workspace", () => {
    // terraform init: "Specified workspace "chat-prod-account" conflicts with TF_WORKSPACE environment variable".
    expect(() => configOf({ TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat-prod", TF_WORKSPACE: "chat-prod" })).toThrow(
      /TF_WORKSPACE is set: .*chat-prod and chat-prod-account.*unset TF_WORKSPACE/,
    );
  });

  test.each([
    ["TF_STATE_KEY", { TF_STATE_KEY: "envs/prod/chat.tfstate" }, "TF_STATE_BUCKET"],
    ["TF_STATE_REGION", { TF_STATE_REGION: "us-west-2" }, "TF_STATE_BUCKET"],
    ["TF_CLOUD_HOSTNAME", { TF_CLOUD_HOSTNAME: "tfe.example.com" }, "TF_CLOUD_ORGANIZATION"],
    ["TF_CLOUD_HOSTNAME with S3 state", { TF_STATE_BUCKET: "acme-tf-state", TF_CLOUD_HOSTNAME: "tfe.example.com" }, "TF_CLOUD_ORGANIZATION"],
  ])("%s without its backend fails instead of leaving the state local", (_, env, requires) => {
    expect(() => configOf(env)).toThrow(new RegExp(`is invalid: expected no value unless ${requires}`));
  });

  test.each([
    ["TF_CLOUD_ORGANIZATION", { TF_CLOUD_ORGANIZATION: "acme corp!", TF_CLOUD_WORKSPACE: "chat-prod" }],
    ["TF_CLOUD_WORKSPACE", { TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "chat prod/../x" }],
    ["TF_CLOUD_WORKSPACE", { TF_CLOUD_ORGANIZATION: "acme", TF_CLOUD_WORKSPACE: "w".repeat(83) }],
  ])("an invalid %s fails synth instead of terraform init", (name, env) => {
    expect(() => configOf(env)).toThrow(new RegExp(`^${name}=.* is invalid: expected`));
  });

  test("a log retention written other than in decimal digits is refused", () => {
    expect(() => configOf({ CHAT_LOG_RETENTION_DAYS: "0x1e" })).toThrow(/CHAT_LOG_RETENTION_DAYS="0x1e" is invalid: expected one of/);
  });

  test("an invalid bucket name is rejected", () => {
    expect(() => configOf({ TF_STATE_BUCKET: "Acme_State" })).toThrow(/TF_STATE_BUCKET="Acme_State" is invalid: expected an S3 bucket name/);
  });
});

describe("authentication", () => {
  test("synth with CHAT_AUTH unset fails naming both values; the local runtime runs none", () => {
    expect(() => readConfig({})).toThrow(/^CHAT_AUTH is not set: choose who may connect: none .* or jwt .*; expected one of none, jwt$/);
    expect(readConfig({}, { localRuntime: true }).auth).toEqual({ mode: "none", broadcast: "everyone" });
  });

  test.each([
    ["CHAT_JWT_ISSUER", { CHAT_JWT_ISSUER: "http://127.0.0.1:8080" }],
    ["CHAT_JWT_ISSUER", { CHAT_JWT_ISSUER: "https://localhost/issuer" }],
    ["CHAT_JWT_JWKS_URL", { CHAT_JWT_JWKS_URL: "http://[::1]:9000/jwks.json" }],
  ])("a loopback %s fails synth (a deployed stack cannot reach it) unless the local runtime synthesizes", (name, loopback) => {
    const env = { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://acme.eu.auth0.com/", CHAT_JWT_AUDIENCE: "chat", ...loopback };
    expect(() => readConfig(env)).toThrow(new RegExp(`^${name}=".*" is on this machine: a deployed stack's authorizer cannot reach a laptop's issuer and would fail every handshake`));
    expect(() => readConfig(env, { localRuntime: true })).not.toThrow();
  });

  test("admins: the groups claim and admin group are read, Cognito's claim included", () => {
    expect(configOf({ ...jwt, CHAT_JWT_GROUPS_CLAIM: "cognito:groups", CHAT_ADMIN_GROUP: "ops" }).auth).toMatchObject({ groupsClaim: "cognito:groups", adminGroup: "ops" });
    expect(() => configOf({ ...jwt, CHAT_ADMIN_GROUP: "a,b" })).toThrow(/CHAT_ADMIN_GROUP="a,b" is invalid: expected a group name/);
    expect(() => configOf({ CHAT_JWT_GROUPS_CLAIM: "groups" })).toThrow(/CHAT_JWT_GROUPS_CLAIM="groups" is invalid: expected no value unless CHAT_AUTH=jwt/);
  });

  test("the broadcast policy defaults to admins with tokens and everyone without, and is validated", () => {
    expect(configOf({}).auth.broadcast).toBe("everyone");
    expect(configOf(jwt).auth.broadcast).toBe("admins");
    expect(configOf({ ...jwt, CHAT_BROADCAST: "everyone" }).auth.broadcast).toBe("everyone");
    expect(configOf({ CHAT_BROADCAST: "off" }).auth.broadcast).toBe("off");
    expect(() => configOf({ CHAT_BROADCAST: "all" })).toThrow(/CHAT_BROADCAST="all" is invalid: expected one of everyone, admins, off/);
  });

  const jwt = { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: "https://acme.eu.auth0.com/", CHAT_JWT_AUDIENCE: "https://chat.acme.example" };

  test("CHAT_AUTH=jwt reads the issuer and audience, and derives the JWKS URL from the issuer", () => {
    expect(configOf(jwt).auth).toEqual({
      mode: "jwt",
      issuer: "https://acme.eu.auth0.com/",
      audience: "https://chat.acme.example",
      jwksUrl: "https://acme.eu.auth0.com/.well-known/jwks.json",
      nameClaim: "name",
      groupsClaim: "groups",
      adminGroup: "chat-admins",
      broadcast: "admins",
    });
  });

  test("CHAT_JWT_JWKS_URL and CHAT_JWT_NAME_CLAIM override the defaults", () => {
    expect(configOf({ ...jwt, CHAT_JWT_JWKS_URL: "https://acme.okta.com/oauth2/v1/keys", CHAT_JWT_NAME_CLAIM: "nickname" }).auth).toMatchObject({
      jwksUrl: "https://acme.okta.com/oauth2/v1/keys",
      nameClaim: "nickname",
    });
  });

  test("an http issuer is accepted on this machine only, and only when the local runtime synthesizes", () => {
    expect(readConfig({ ...jwt, CHAT_JWT_ISSUER: "http://127.0.0.1:8080" }, { localRuntime: true }).auth).toMatchObject({
      jwksUrl: "http://127.0.0.1:8080/.well-known/jwks.json",
    });
    expect(() => configOf({ ...jwt, CHAT_JWT_ISSUER: "http://idp.example.com" })).toThrow(
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
    expect(() => configOf({ ...jwt, [name]: value })).toThrow(message);
  });

  test.each([
    ["CHAT_JWT_ISSUER", /CHAT_JWT_ISSUER is not set: CHAT_AUTH=jwt needs the issuer of your tokens \(their iss claim\); expected an https:\/\/ URL/],
    ["CHAT_JWT_AUDIENCE", /CHAT_JWT_AUDIENCE is not set: CHAT_AUTH=jwt needs the audience your tokens carry \(their aud claim\)/],
  ])("CHAT_AUTH=jwt without %s fails naming it", (name, message) => {
    const { [name as keyof typeof jwt]: _missing, ...rest } = jwt;
    expect(() => configOf(rest)).toThrow(message);
  });

  test.each(["CHAT_JWT_ISSUER", "CHAT_JWT_AUDIENCE", "CHAT_JWT_JWKS_URL", "CHAT_JWT_NAME_CLAIM"])(
    "%s without CHAT_AUTH=jwt fails naming it, rather than leaving the stack open by mistake",
    (name) => {
      expect(() => configOf({ [name]: "https://idp.example.com" })).toThrow(
        new RegExp(`${name}="https://idp\\.example\\.com" is invalid: expected no value unless CHAT_AUTH=jwt`),
      );
    },
  );

  test("the observability settings are read from their environment variables", () => {
    const config = configOf({
        CHAT_METRICS_NAMESPACE: "Team/Chat Prod",
        CHAT_ALARM_EMAIL: "oncall@example.com",
        CHAT_LOG_LEVEL: "DEBUG",
        CHAT_ALARM_FUNCTION_ERRORS: "2",
        CHAT_ALARM_FUNCTION_THROTTLES: "3",
        CHAT_ALARM_DLQ_MESSAGES: "4",
        CHAT_ALARM_API_EXECUTION_ERRORS: "5",
        CHAT_ALARM_API_INTEGRATION_ERRORS: "6",
        CHAT_ALARM_FAILED_DELIVERIES: "7",
        CHAT_ALARM_FANOUT_AGE_SECONDS: "8",
        CHAT_ALARM_CONNECTS: "9",
        CHAT_ALARM_MESSAGES: "10",
      });
    expect(config.observability).toEqual({
      metricsNamespace: "Team/Chat Prod",
      alarmEmail: "oncall@example.com",
      thresholds: { functionErrors: 2, functionThrottles: 3, deadLetterMessages: 4, apiExecutionErrors: 5, apiIntegrationErrors: 6, failedDeliveries: 7, fanOutQueueAgeSeconds: 8, connects: 9, messages: 10 },
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
    expect(() => configOf({ [name]: value })).toThrow(message);
  });

  test.each(["WARN", "ERROR", "FATAL"])("CHAT_LOG_LEVEL=%s is refused, saying Lambda would drop the metrics with it", (level) => {
    expect(() => configOf({ CHAT_LOG_LEVEL: level })).toThrow(
      new RegExp(`CHAT_LOG_LEVEL="${level}" is invalid: expected one of TRACE, DEBUG, INFO\\. Lambda files the metrics' EMF lines as INFO`),
    );
  });

  test("anonymous mode warns that anyone can connect; jwt mode does not", () => {
    expect(configWarnings(configOf({}))).toEqual([expect.stringMatching(/^CHAT_AUTH=none: anyone who knows the URL can connect/)]);
    expect(configWarnings(configOf(jwt))).toEqual([]);
  });
});

describe("custom domain settings", () => {
  const certificate = "arn:aws:acm:eu-west-1:123456789012:certificate/0b3e9f1c-6a8d-4c2e-9f7a-1d2c3b4a5e6f";

  test("a domain with an existing certificate needs no hosted zone", () => {
    expect(configOf({ AWS_REGION: "eu-west-1", CHAT_DOMAIN_NAME: "chat.example.com", CHAT_CERTIFICATE_ARN: certificate }).domain).toEqual({
      name: "chat.example.com",
      certificateArn: certificate,
    });
  });

  test("a domain without a hosted zone or certificate names both settings", () => {
    expect(() => configOf({ CHAT_DOMAIN_NAME: "chat.example.com" })).toThrow(
      /CHAT_DOMAIN_NAME is set without CHAT_HOSTED_ZONE_ID or CHAT_CERTIFICATE_ARN/,
    );
  });

  test("a certificate from another region than the API's is refused, naming the region", () => {
    expect(() => configOf({ AWS_REGION: "us-east-1", CHAT_DOMAIN_NAME: "chat.example.com", CHAT_CERTIFICATE_ARN: certificate })).toThrow(
      /CHAT_CERTIFICATE_ARN=".*" is invalid: expected the ARN of an ACM certificate in us-east-1 \(AWS_REGION\)/,
    );
  });
});

describe("the retired CHAT_MANAGE_API_GATEWAY_ACCOUNT", () => {
  test("=false is accepted: the chat stack never touches the account setting now", () => {
    expect(() => configOf({ CHAT_MANAGE_API_GATEWAY_ACCOUNT: "false" })).not.toThrow();
  });

  test("=true fails, pointing to the account stack instead of silently dropping the role", () => {
    expect(() => configOf({ CHAT_MANAGE_API_GATEWAY_ACCOUNT: "true" })).toThrow(
      /CHAT_MANAGE_API_GATEWAY_ACCOUNT="true" is no longer supported: .*<stack>-account stack/,
    );
  });
});
