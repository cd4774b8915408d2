import { fromEnv } from "@aws-sdk/credential-provider-env";

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (see constructs/bundle.ts).
 * Lambda always hands a function its role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, so the default chain's other providers (SSO, profiles, web identity, IMDS, with the
 * STS and SSO clients they carry) are a third of each bundle that only costs cold-start time.
 */
export const defaultProvider = () => fromEnv();
