/**
 * A local OIDC issuer for `npm start` in auth mode `jwt` (local/README.md): it publishes a discovery
 * document and a JWKS on the runtime's own port, and mints short-lived RS256 tokens for a name, so the
 * stack's real authorizer function verifies real signatures locally, fetching the keys over HTTP exactly
 * as it fetches a real issuer's on AWS.
 *
 *   GET  /.well-known/openid-configuration   issuer, jwks_uri, the token endpoint
 *   GET  /.well-known/jwks.json              the public signing key
 *   POST /dev/token  {"name": "alice", "groups"?: ["chat-admins"], "ttlSeconds"?: 900}
 *                                            {"token": "<jwt>", "userId", "name", "groups", "expiresAt"}
 *
 * /dev/token mints a token for any name, so it answers clients on this machine only (403 otherwise), even
 * when HOST makes the rest of the runtime reachable from the network.
 *
 * The key pair is made at start and lives only in memory: tokens from an earlier run stop verifying.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import { checkName } from "../../handlers/lib/auth/names";
import { isLoopbackAddress } from "../http/loopback";
import { readBody } from "../http/request-body";

/** The audience of the tokens the local issuer mints, and the one the locally synthesized stack expects. */
export const LOCAL_AUDIENCE = "chat-local";
export const DISCOVERY_PATH = "/.well-known/openid-configuration";
export const JWKS_PATH = "/.well-known/jwks.json";
export const TOKEN_PATH = "/dev/token";
/** A token's lifetime unless the request asks for another (`ttlSeconds`, from MIN to MAX). */
export const TOKEN_LIFETIME_SECONDS = 15 * 60;
export const MIN_TOKEN_LIFETIME_SECONDS = 5;
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** The claim the local issuer lists groups in: the stack's default CHAT_JWT_GROUPS_CLAIM. */
export const GROUPS_CLAIM = "groups";
const MAX_GROUPS = 20;
const MAX_BODY_BYTES = 4096;
const ALGORITHM = "RS256";

/** The issuer whose tokens a stack synthesized for the local runtime at `httpUrl` accepts. */
export function localIssuerSettings(httpUrl: string): Record<"CHAT_AUTH" | "CHAT_JWT_ISSUER" | "CHAT_JWT_AUDIENCE" | "CHAT_JWT_JWKS_URL", string> {
  const issuer = issuerOf(httpUrl);
  return { CHAT_AUTH: "jwt", CHAT_JWT_ISSUER: issuer, CHAT_JWT_AUDIENCE: LOCAL_AUDIENCE, CHAT_JWT_JWKS_URL: `${issuer}${JWKS_PATH}` };
}

/** `http://127.0.0.1:8080/` → `http://127.0.0.1:8080`: OIDC issuers carry no trailing slash. */
function issuerOf(httpUrl: string): string {
  return httpUrl.replace(/\/+$/, "");
}

/**
 * The stable id of a local user: the same name is the same user across restarts, so a direct message to
 * a user id keeps working; the prefix makes it obvious where it came from.
 */
export function localUserId(name: string): string {
  return `local-${createHash("sha256").update(name, "utf8").digest("hex").slice(0, 20)}`;
}

export class LocalIssuer {
  readonly issuer: string;
  readonly audience = LOCAL_AUDIENCE;
  readonly jwksUrl: string;

  private constructor(
    httpUrl: string,
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
  ) {
    this.issuer = issuerOf(httpUrl);
    this.jwksUrl = `${this.issuer}${JWKS_PATH}`;
  }

  /** A fresh signing key for an issuer at `httpUrl` (the runtime's own address). */
  static async create(httpUrl: string): Promise<LocalIssuer> {
    const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const jwk = await exportJWK(publicKey);
    const publicJwk: JWK = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: ALGORITHM, use: "sig" };
    return new LocalIssuer(httpUrl, privateKey, publicJwk);
  }

  /** A token for the user called `name`, in `groups`, valid for `ttlSeconds`. */
  async mint(
    name: string,
    { groups = [], ttlSeconds = TOKEN_LIFETIME_SECONDS }: { readonly groups?: readonly string[]; readonly ttlSeconds?: number } = {},
  ): Promise<{ token: string; userId: string; name: string; groups: readonly string[]; expiresAt: string }> {
    const userId = localUserId(name);
    const now = Math.floor(Date.now() / 1000);
    const exp = now + ttlSeconds;
    const token = await this.sign({ sub: userId, name, preferred_username: name, [GROUPS_CLAIM]: [...groups], iat: now, exp });
    return { token, userId, name, groups, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * Signs any claims with the issuer's key, issuer and audience filled in unless given: for tests that
   * need a token only this issuer could have made (expired, for another audience, ...).
   */
  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT({ iss: this.issuer, aud: this.audience, ...claims })
      .setProtectedHeader({ alg: ALGORITHM, kid: this.publicJwk.kid!, typ: "JWT" })
      .sign(this.privateKey);
  }

  /** Answers the issuer's paths; false for any other path, which the caller serves. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === DISCOVERY_PATH) {
      if (!allowMethods(req, res, "GET, HEAD")) return true;
      sendJson(res, 200, {
        issuer: this.issuer,
        jwks_uri: this.jwksUrl,
        token_endpoint: `${this.issuer}${TOKEN_PATH}`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: [ALGORITHM],
        claims_supported: ["sub", "name", "preferred_username", GROUPS_CLAIM, "iss", "aud", "exp", "iat"],
      }, req.method === "HEAD");
      return true;
    }
    if (path === JWKS_PATH) {
      if (!allowMethods(req, res, "GET, HEAD")) return true;
      sendJson(res, 200, { keys: [this.publicJwk] }, req.method === "HEAD");
      return true;
    }
    if (path === TOKEN_PATH) {
      if (!isLoopbackAddress(req.socket.remoteAddress)) {
        sendJson(res, 403, { message: "/dev/token answers only clients on this machine: it mints a token for any name" });
        return true;
      }
      if (!allowMethods(req, res, "POST")) return true;
      this.token(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { message: "The local issuer could not mint a token" });
      });
      return true;
    }
    return false;
  }

  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return sendJson(res, 413, { message: `The body must be at most ${MAX_BODY_BYTES} bytes of JSON such as {"name": "alice"}` });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      return sendJson(res, 400, { message: 'The body must be JSON such as {"name": "alice"}' });
    }
    const request = (parsed !== null && typeof parsed === "object" ? parsed : {}) as { name?: unknown; groups?: unknown; ttlSeconds?: unknown };
    if (typeof request.name !== "string") return sendJson(res, 400, { message: '"name" must be a string, as in {"name": "alice"}' });
    const checked = checkName(request.name);
    if (!checked.ok) return sendJson(res, 400, { message: `"name" is refused: ${checked.message}`, rule: checked.rule });
    const { groups = [], ttlSeconds = TOKEN_LIFETIME_SECONDS } = request;
    if (!Array.isArray(groups) || groups.length > MAX_GROUPS || !groups.every((group) => typeof group === "string" && /^[^\s,]{1,256}$/.test(group))) {
      return sendJson(res, 400, { message: `"groups" must be an array of at most ${MAX_GROUPS} group names without spaces or commas, as in ["chat-admins"]` });
    }
    if (!Number.isInteger(ttlSeconds) || (ttlSeconds as number) < MIN_TOKEN_LIFETIME_SECONDS || (ttlSeconds as number) > MAX_TOKEN_LIFETIME_SECONDS) {
      return sendJson(res, 400, { message: `"ttlSeconds" must be a whole number of seconds from ${MIN_TOKEN_LIFETIME_SECONDS} to ${MAX_TOKEN_LIFETIME_SECONDS}` });
    }
    sendJson(res, 200, await this.mint(checked.name, { groups, ttlSeconds: ttlSeconds as number }));
  }
}

function allowMethods(req: IncomingMessage, res: ServerResponse, allowed: string): boolean {
  if (allowed.split(", ").includes(req.method ?? "GET")) return true;
  res.writeHead(405, { Allow: allowed, "Content-Length": 0 }).end();
  return false;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headOnly = false): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-store" });
  res.end(headOnly ? undefined : text);
}

