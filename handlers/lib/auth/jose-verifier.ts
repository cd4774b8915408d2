import { createRemoteJWKSet, customFetch, jwtVerify } from "jose";
import { logError } from "../observability/log";
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
 * How long fetched keys are trusted. jose refetches keys older than `cacheMaxAgeMs` before it verifies,
 * and fails when that refetch fails; so the fetch below answers a failed refetch with the last keys that
 * were fetched, for up to `staleForMs` after that fetch. Keys are therefore trusted for at most
 * cacheMaxAge + staleFor (one hour) after the issuer last published them: an issuer outage shorter than
 * that does not fail handshakes on a warm container, and a key the issuer withdraws (say, one that
 * leaked) is trusted at most an hour longer, the lifetime of a typical ID token (Cognito's default), so it
 * admits no one for longer than the tokens signed before the withdrawal already could. A cold container has
 * no keys and fails until the issuer answers.
 */
export interface KeyTiming {
  readonly cacheMaxAgeMs: number;
  readonly staleForMs: number;
}
export const KEY_TIMING: KeyTiming = { cacheMaxAgeMs: 10 * 60_000, staleForMs: 50 * 60_000 };

/**
 * Verifies with `jose`: an asymmetric signature by a key of the issuer's JWKS, the issuer, the audience,
 * and `exp` and `sub`, which must be present (a token without `exp` would never expire). The remote key set
 * refetches the keys when they are older than cacheMaxAge, and (at most every 30 s) when a token names a
 * key it has not seen, which is how key rotation reaches a warm container.
 */
export function joseVerifier(settings: AuthSettings, timing: KeyTiming = KEY_TIMING): VerifyToken {
  const keys = createRemoteJWKSet(new URL(settings.jwksUrl), {
    timeoutDuration: JWKS_TIMEOUT_MS,
    cacheMaxAge: timing.cacheMaxAgeMs,
    [customFetch]: lastGoodFetch(timing.staleForMs),
  });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp", "sub"],
      });
      return payload;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && TOKEN_ERRORS.has(code)) throw new InvalidTokenError(code, (error as Error).message);
      throw error;
    }
  };
}

/**
 * fetch, except that a JWKS fetch that fails (network error, timeout, non-200, not a key set) is answered
 * with the last key set fetched, when that is at most `staleForMs` old. Each use is logged.
 */
function lastGoodFetch(staleForMs: number): typeof fetch {
  let lastGood: { readonly body: string; readonly at: number } | undefined;
  const stale = (error: unknown): Response => {
    if (!lastGood || Date.now() - lastGood.at > staleForMs) throw error;
    logError({ route: "authorizer" }, error, { while: "refetching the issuer's keys", servingKeysFetchedAt: new Date(lastGood.at).toISOString() });
    return new Response(lastGood.body, { status: 200, headers: { "Content-Type": "application/json" } });
  };
  return (async (url: string | URL | Request, init?: RequestInit) => {
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      return stale(error);
    }
    if (response.status !== 200) return stale(new Error(`the JWKS answered HTTP ${response.status}`));
    const body = await response.text().catch((error: unknown) => stale(error));
    if (body instanceof Response) return body;
    let keys: unknown;
    try {
      keys = JSON.parse(body);
    } catch {
      return stale(new Error("the JWKS is not JSON"));
    }
    if (!Array.isArray((keys as { keys?: unknown })?.keys)) return stale(new Error("the JWKS has no keys array"));
    lastGood = { body, at: Date.now() };
    return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
}
