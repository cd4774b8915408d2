import { createHash } from "node:crypto";
import type { AuthorizedUser } from "./authorizer-response";
import { checkName } from "./names";
import type { Claims } from "./token-verifier";

/** Longest `sub` accepted: it becomes a key in the table, and real issuers' ids are far shorter (UUIDs). */
const MAX_USER_ID_LENGTH = 255;
/** Asked for when the configured name claim is absent: OIDC's standard claim for a short name. */
const FALLBACK_NAME_CLAIM = "preferred_username";

/** Which claims the authorizer reads beyond `sub` and `exp`. */
export interface ClaimNames {
  /** The display name's claim. */
  readonly nameClaim: string;
  /** The claim listing the user's groups. */
  readonly groupsClaim: string;
  /** The group that makes a user an admin. */
  readonly adminGroup: string;
}

/**
 * The user a verified token speaks for: its `sub`; a display name from the configured claim, else
 * `preferred_username`, which must follow the name rules (names.ts) or is replaced by a generated name;
 * admin when the groups claim lists the admin group. Undefined when the token has no usable `sub`.
 */
export function userOf(claims: Claims, names: ClaimNames): AuthorizedUser | undefined {
  const { sub } = claims;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_USER_ID_LENGTH) return undefined;
  const expiresAt = typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp : undefined;
  return {
    userId: sub,
    userName: displayName(claims[names.nameClaim] ?? claims[FALLBACK_NAME_CLAIM]) ?? generatedName(sub),
    admin: groupsOf(claims[names.groupsClaim]).includes(names.adminGroup),
    ...(expiresAt !== undefined && { expiresAt }),
  };
}

/** A claim as a name others see: normalized, or undefined when it is no string or breaks a name rule. */
export function displayName(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const checked = checkName(value);
  return checked.ok ? checked.name : undefined;
}

/**
 * The groups a claim lists: an array of strings (Cognito's `cognito:groups`, Okta, Keycloak), or one string
 * of names separated by spaces or commas (as some issuers flatten it). Anything else lists none.
 */
export function groupsOf(value: unknown): string[] {
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === "string");
  return [];
}

/** For a user whose token names no usable name: stable per user, and nobody can choose it to pass for another. */
function generatedName(sub: string): string {
  return `user-${createHash("sha256").update(sub, "utf8").digest("hex").slice(0, 8)}`;
}
