import { authorizerHandler } from "../../handlers/lib/auth/authorizer-handler";
import { awsJwtVerifyVerifier } from "./aws-jwt-verify-verifier";

/** handlers/authorizer.ts with aws-jwt-verify in place of jose, for bench/authorizer.ts. */
export const handler = authorizerHandler(awsJwtVerifyVerifier);
