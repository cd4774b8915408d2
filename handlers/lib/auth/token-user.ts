import type { AuthorizedUser } from "./authorizer-response";
import type { Claims } from "./token-verifier";

/** Longest `sub` accepted: it becomes a key in the table, and real issuers' ids are far shorter (UUIDs). */
const MAX_USER_ID_LENGTH = 255;
/** As long as a display name may be in anonymous mode (docs/protocol.md). */
const MAX_NAME_LENGTH = 64;
/** Asked for when the configured name claim is absent: OIDC's standard claim for a short name. */
const FALLBACK_NAME_CLAIM = "preferred_username";

/**
 * The user a verified token speaks for: its `sub`, and a display name from the configured claim, else
 * `preferred_username`, else the `sub` itself. Undefined when the token has no usable `sub`.
 */
export function userOf(claims: Claims, nameClaim: string): AuthorizedUser | undefined {
  const { sub } = claims;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_USER_ID_LENGTH) return undefined;
  const userName = displayName(claims[nameClaim]) ?? displayName(claims[FALLBACK_NAME_CLAIM]) ?? displayName(sub) ?? [...sub].slice(0, MAX_NAME_LENGTH).join("");
  const expiresAt = typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp : undefined;
  return { userId: sub, userName, admin: false, ...(expiresAt !== undefined && { expiresAt }) };
}

/**
 * A claim as something to show other users: a string without control characters or surrounding space,
 * cut to 64 characters (whole code points). The issuer is trusted to name its users; this only keeps a
 * name from breaking a line or a layout.
 */
export function displayName(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const cleaned = value.replace(/\p{Cc}/gu, " ").replace(/\s+/g, " ").trim();
  if (cleaned.length === 0) return undefined;
  return [...cleaned].slice(0, MAX_NAME_LENGTH).join("").trim();
}
