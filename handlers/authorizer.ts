import { authorizerHandler } from "./lib/auth/authorizer-handler";
import { joseVerifier } from "./lib/auth/jose-verifier";

/**
 * The $connect REQUEST authorizer (auth mode `jwt`): verifies the OIDC token in `?token=` against the
 * issuer's JWKS with `jose` (why jose: bench/results.md, figure 11 "authorizer").
 */
export const handler = authorizerHandler(joseVerifier);
