/** Who is behind a connection (docs/protocol.md, "Connecting and identity"). */
export interface User {
  /** The token's `sub` when verified; the connection id for anonymous users. */
  readonly id: string;
  readonly name: string;
  /** True only when a JWT authorizer vouched for the user. */
  readonly verified: boolean;
  /** Present (true) only for a verified user whose token names the admin group. */
  readonly admin?: true;
}

/** What a JWT authorizer puts in `requestContext.authorizer` (flat strings, as API Gateway requires). */
export interface AuthorizerContext {
  readonly userId?: unknown;
  readonly userName?: unknown;
  readonly admin?: unknown;
  /** The token's `exp`, epoch seconds. */
  readonly tokenExpiresAt?: unknown;
}

/** The verified user an authorizer passed on, or undefined when the connection was not authorized. */
export function verifiedUser(authorizer: AuthorizerContext | undefined): User | undefined {
  const id = authorizer?.userId;
  if (typeof id !== "string" || id === "") return undefined;
  const name = typeof authorizer?.userName === "string" && authorizer.userName !== "" ? authorizer.userName : id;
  return { id, name, verified: true, ...(isTrue(authorizer?.admin) && { admin: true as const }) };
}

/**
 * When the connection's token expires (epoch seconds), or undefined without one. Read tolerantly: a
 * context value may reach the routes as a number or as its string.
 */
export function tokenExpiresAt(authorizer: AuthorizerContext | undefined): number | undefined {
  const value = authorizer?.tokenExpiresAt;
  const seconds = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof seconds === "number" && Number.isFinite(seconds) ? seconds : undefined;
}

function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** An anonymous user: the chosen name, or a generated one from the connection id. */
export function anonymousUser(connectionId: string, name: string | undefined): User {
  return { id: connectionId, name: name ?? guestName(connectionId), verified: false };
}

function guestName(connectionId: string): string {
  const letters = connectionId.replace(/[^A-Za-z0-9]/g, "").slice(0, 6);
  return `guest-${letters || "anonymous"}`;
}

/** Reads a user stored in DynamoDB, tolerating items written before users existed. */
export function storedUser(value: unknown, connectionId: string): User {
  if (value !== null && typeof value === "object") {
    const { id, name, verified, admin } = value as Record<string, unknown>;
    if (typeof id === "string" && typeof name === "string") return { id, name, verified: verified === true, ...(verified === true && admin === true && { admin: true as const }) };
  }
  return anonymousUser(connectionId, undefined);
}
