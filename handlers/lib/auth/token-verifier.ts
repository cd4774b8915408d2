import type { AuthSettings } from "../env/contract";

/** The verified token's claims. */
export type Claims = Readonly<Record<string, unknown>>;

/** Verifies a token's signature, issuer, audience and expiry, and returns its claims. */
export type VerifyToken = (token: string) => Promise<Claims>;

/** Makes a verifier for the settings; the authorizer makes one per container and reuses it. */
export type VerifierFactory = (settings: AuthSettings) => VerifyToken;

/**
 * The token itself is bad: expired, not yet valid, wrongly signed, for another issuer or audience,
 * malformed, or signed with a key the issuer does not publish. Any other error is a fault on our side
 * (the JWKS cannot be fetched, ...), which must not be blamed on the client.
 */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
  constructor(
    /** The library's name for what failed, e.g. ERR_JWT_EXPIRED; never any part of the token. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Signing algorithms accepted: asymmetric only, so a key from the JWKS can never double as an HMAC secret. */
export const ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** Leeway for the clocks of the issuer and of Lambda when checking `exp` and `nbf`. */
export const CLOCK_TOLERANCE_SECONDS = 5;
