/**
 * What the authorizer function verifies tokens against, from the environment the stack gives it
 * (constructs/websocket-authorizer.ts). Read on first use, not at import, so a test can set the
 * environment after loading the handler.
 */
export const ENV_JWT_ISSUER = "JWT_ISSUER";
export const ENV_JWT_AUDIENCE = "JWT_AUDIENCE";
export const ENV_JWT_JWKS_URL = "JWT_JWKS_URL";
export const ENV_JWT_NAME_CLAIM = "JWT_NAME_CLAIM";

export interface AuthSettings {
  /** The `iss` every token must carry. */
  readonly issuer: string;
  /** The `aud` every token must carry (one of its values, when it is a list). */
  readonly audience: string;
  /** Where the issuer publishes its signing keys. */
  readonly jwksUrl: string;
  /** The claim that holds the user's display name. */
  readonly nameClaim: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function authSettings(env: Env = process.env): AuthSettings {
  return {
    issuer: required(env, ENV_JWT_ISSUER),
    audience: required(env, ENV_JWT_AUDIENCE),
    jwksUrl: required(env, ENV_JWT_JWKS_URL),
    nameClaim: required(env, ENV_JWT_NAME_CLAIM),
  };
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set`);
  return value;
}
