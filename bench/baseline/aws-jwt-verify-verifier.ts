import { JwtVerifier } from "aws-jwt-verify";
import { JwtBaseError, FetchError, JwksNotAvailableInCacheError, JwksValidationError, ParameterValidationError } from "aws-jwt-verify/error";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import type { AuthSettings } from "../../handlers/lib/env/contract";
import { CLOCK_TOLERANCE_SECONDS, InvalidTokenError, type VerifyToken } from "../../handlers/lib/auth/token-verifier";

/** aws-jwt-verify errors that are our fault (the JWKS), not the token's. */
const SERVER_ERRORS = [FetchError, JwksNotAvailableInCacheError, JwksValidationError, ParameterValidationError];

/**
 * The same verification with `aws-jwt-verify`, the library the authorizer did not pick (see
 * bench/authorizer.ts for the comparison). Its own fetcher speaks only https, so the key set is fetched
 * with the global fetch, which also reaches the local issuer over http.
 */
export function awsJwtVerifyVerifier(settings: AuthSettings): VerifyToken {
  const fetcher = {
    async fetch(uri: string): Promise<ArrayBuffer> {
      const response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
      if (response.status !== 200) throw new FetchError(uri, `Status code is ${response.status}, expected 200`);
      return response.arrayBuffer();
    },
  };
  const verifier = JwtVerifier.create(
    { issuer: settings.issuer, audience: settings.audience, jwksUri: settings.jwksUrl, graceSeconds: CLOCK_TOLERANCE_SECONDS },
    { jwksCache: new SimpleJwksCache({ fetcher }) },
  );
  return async (token) => {
    try {
      return (await verifier.verify(token)) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof JwtBaseError && !SERVER_ERRORS.some((type) => error instanceof type)) {
        throw new InvalidTokenError(error.constructor.name, error.message);
      }
      throw error;
    }
  };
}
