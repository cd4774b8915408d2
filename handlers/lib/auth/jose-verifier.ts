import { createRemoteJWKSet, jwtVerify } from "jose";
import type { AuthSettings } from "../env/contract";
import { ALLOWED_ALGORITHMS, CLOCK_TOLERANCE_SECONDS, InvalidTokenError, type VerifyToken } from "./token-verifier";

/**
 * jose's codes for a token that is itself bad. Anything else (a JWKS that cannot be fetched, times out or
 * does not parse: ERR_JOSE_GENERIC, ERR_JWKS_TIMEOUT, ERR_JWKS_INVALID, or a network TypeError) is our
 * fault, not the client's. https://github.com/panva/jose/blob/main/src/util/errors.ts
 */
const TOKEN_ERRORS = new Set([
  "ERR_JWT_EXPIRED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWT_INVALID",
  "ERR_JWS_INVALID",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
]);

/** How long the first JWKS fetch may take before the connection fails (rather than hang to Lambda's timeout). */
const JWKS_TIMEOUT_MS = 3000;

/**
 * Verifies with `jose`. The remote key set caches the issuer's keys for the container's life and
 * refetches them (at most every 30 s) when a token names a key it has not seen, which is how key
 * rotation reaches a warm container.
 */
export function joseVerifier(settings: AuthSettings): VerifyToken {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: JWKS_TIMEOUT_MS });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return payload;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && TOKEN_ERRORS.has(code)) throw new InvalidTokenError(code, (error as Error).message);
      throw error;
    }
  };
}
