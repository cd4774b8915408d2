/**
 * Who is calling? The local DynamoDB and @connections endpoints answer that the way AWS does: from the
 * SigV4 `Authorization` header the AWS SDK puts on every request. Each local function gets its own access
 * key id, so the key id names the function, and with it the IAM policy to evaluate.
 *
 * `parseAuthorizationHeader` only reads the header (enough to pick the policy). `verifySigV4` also recomputes
 * the signature from the secret key, so a handler that built its own client with the wrong credentials, or
 * a request altered on the way, fails like it would on AWS. Both mirror the SDK's signer
 * (@smithy/signature-v4) for header-based auth; presigned URLs (auth in the query string) and chunked/
 * streaming payloads are not supported, because neither DynamoDB nor @connections calls use them.
 */
import { createHmac, hash, timingSafeEqual } from "node:crypto";

const ALGORITHM = "AWS4-HMAC-SHA256";

/** The caller, as stated in `Credential=<AKID>/<date>/<region>/<service>/aws4_request`. */
export interface SigV4Caller {
  readonly accessKeyId: string;
  /** Credential scope date, YYYYMMDD. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

export interface SigV4Authorization extends SigV4Caller {
  /** Lower-case header names, in the order the client listed (and signed) them. */
  readonly signedHeaders: readonly string[];
  /** 64 lower-case hex characters. */
  readonly signature: string;
}

export type SigV4ErrorKind = "missing" | "malformed" | "wrong-scope" | "expired" | "unknown-key" | "bad-signature";

/** The error code AWS JSON services (DynamoDB) return for each kind; API Gateway answers 403 for all. */
const AWS_CODES: Readonly<Record<SigV4ErrorKind, string>> = {
  missing: "MissingAuthenticationTokenException",
  malformed: "IncompleteSignatureException",
  "wrong-scope": "InvalidSignatureException",
  expired: "InvalidSignatureException",
  "unknown-key": "UnrecognizedClientException",
  "bad-signature": "InvalidSignatureException",
};

export class SigV4Error extends Error {
  override name = "SigV4Error";
  /** e.g. "UnrecognizedClientException": what to put in a DynamoDB error's `__type`. */
  readonly code: string;
  constructor(
    readonly kind: SigV4ErrorKind,
    message: string,
    /** For "bad-signature": the canonical request we signed, to diff against the client's when debugging. */
    readonly canonicalRequest?: string,
  ) {
    super(message);
    this.code = AWS_CODES[kind];
  }
}

/**
 * Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request,
 * SignedHeaders=host;x-amz-date, Signature=<hex>`. Throws SigV4Error ("missing" or "malformed").
 */
export function parseAuthorizationHeader(header: string | readonly string[] | undefined): SigV4Authorization {
  if (Array.isArray(header) && header.length > 1) throw new SigV4Error("malformed", "More than one Authorization header");
  const value = (typeof header === "string" ? header : header?.[0])?.trim();
  if (!value) throw new SigV4Error("missing", "Request is missing Authentication Token");

  const space = value.indexOf(" ");
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw new SigV4Error("malformed", `Unsupported Authorization scheme "${algorithm}" (expected ${ALGORITHM})`);
  }
  const params = new Map<string, string>();
  for (const part of value.slice(space + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ["Credential", "SignedHeaders", "Signature"].filter((name) => !params.get(name));
  if (missing.length) {
    const names = missing.map((m) => `'${m}'`).join(", ");
    throw new SigV4Error("malformed", `Authorization header requires ${names} parameter(s): ${value}`);
  }

  const credential = params.get("Credential")!.split("/");
  const [accessKeyId, date, region, service, terminator] = credential;
  if (credential.length !== 5 || !accessKeyId || !/^\d{8}$/.test(date!) || !region || !service || terminator !== "aws4_request") {
    throw new SigV4Error(
      "malformed",
      `Credential must have the form <AccessKeyId>/<YYYYMMDD>/<region>/<service>/aws4_request, got "${params.get("Credential")}"`,
    );
  }
  const signedHeaders = params.get("SignedHeaders")!.split(";");
  if (signedHeaders.some((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))) {
    const got = params.get("SignedHeaders");
    throw new SigV4Error("malformed", `SignedHeaders must be lower-case header names separated by ';', got "${got}"`);
  }
  const signature = params.get("Signature")!;
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new SigV4Error("malformed", "Signature must be 64 lower-case hex characters");

  return { accessKeyId, date: date!, region, service, signedHeaders, signature };
}

/** Like parseAuthorizationHeader, but undefined instead of an error: for "who is this, if anyone?". */
export function tryParseAuthorizationHeader(header: string | readonly string[] | undefined): SigV4Authorization | undefined {
  try {
    return parseAuthorizationHeader(header);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Verification

/** An HTTP request as the server received it (Node's IncomingMessage fits: method, url, headers). */
export interface SignedRequest {
  readonly method: string;
  /** Raw path and query exactly as received, e.g. `req.url` = "/prod/@connections/abc%3D". */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body bytes (or text); omitted or empty for GET/DELETE. */
  readonly body?: string | Uint8Array;
}

export interface VerifyOptions {
  /** The service this endpoint is ("dynamodb", "execute-api"); a credential scoped to another is refused. */
  readonly service?: string;
  /** The region this endpoint is in; a credential scoped to another is refused. */
  readonly region?: string;
  /** Clock for the expiry check; defaults to the current time. */
  readonly now?: Date;
  /** Allowed distance between x-amz-date and now; AWS allows 15 minutes (the default). */
  readonly maxSkewMs?: number;
}

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// crypto.hash (Node 20.12+) hashes in one call, without a Hash object per digest.
const sha256Hex = (data: string | Uint8Array) => hash("sha256", data, "hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/**
 * Verifies the request's SigV4 signature with the secret `secretFor(accessKeyId)` returns, and returns the
 * caller. Throws SigV4Error: "missing"/"malformed" header, "wrong-scope" (service, region or date),
 * "expired" (clock skew), "unknown-key" (secretFor returned undefined), "bad-signature".
 */
export function verifySigV4(
  request: SignedRequest,
  secretFor: (accessKeyId: string) => string | undefined,
  options: VerifyOptions = {},
): SigV4Authorization {
  const headers = lowerCaseHeaders(request.headers);
  const auth = parseAuthorizationHeader(header(headers, "authorization"));
  for (const part of ["service", "region"] as const) {
    const expected = options[part];
    if (expected !== undefined && auth[part] !== expected) {
      throw new SigV4Error("wrong-scope", `Credential should be scoped to correct ${part}: '${expected}' (got '${auth[part]}')`);
    }
  }

  const amzDate = headerValue(header(headers, "x-amz-date"));
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw new SigV4Error("malformed", "Authorization requires a valid 'X-Amz-Date' header (YYYYMMDD'T'HHMMSS'Z')");
  }
  if (!auth.signedHeaders.includes("host") || !auth.signedHeaders.includes("x-amz-date")) {
    throw new SigV4Error("malformed", "SignedHeaders must include 'host' and 'x-amz-date'");
  }
  if (amzDate.slice(0, 8) !== auth.date) {
    throw new SigV4Error("wrong-scope", `Date in Credential scope (${auth.date}) does not match the date in X-Amz-Date (${amzDate})`);
  }
  // 20250304T050607Z → 2025-03-04T05:06:07Z
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"));
  if (Number.isNaN(signedAt)) throw new SigV4Error("malformed", `X-Amz-Date is not a valid date: ${amzDate}`);
  const now = (options.now ?? new Date()).getTime();
  const maxSkewMs = options.maxSkewMs ?? 15 * 60 * 1000;
  if (Math.abs(now - signedAt) > maxSkewMs) {
    const minutes = maxSkewMs / 60000;
    throw new SigV4Error("expired", `Signature expired: ${amzDate} is more than ${minutes} minutes from ${new Date(now).toISOString()}`);
  }

  const secret = secretFor(auth.accessKeyId);
  if (secret === undefined) throw new SigV4Error("unknown-key", "The security token included in the request is invalid.");

  // The SDK signs the body hash it sends in x-amz-content-sha256; make sure that hash is of this body.
  const bodyHash = request.body === undefined || request.body.length === 0 ? EMPTY_SHA256 : sha256Hex(request.body);
  const claimedHash = headerValue(header(headers, "x-amz-content-sha256"));
  if (claimedHash !== undefined && claimedHash !== "UNSIGNED-PAYLOAD" && claimedHash !== bodyHash) {
    throw new SigV4Error("bad-signature", "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const canonical = canonicalFromLowerCased(request.method, request.url, headers, auth.signedHeaders, claimedHash ?? bodyHash);
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
  const expected = createHmac("sha256", signingKey(secret, auth)).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(auth.signature, "hex"))) {
    throw new SigV4Error(
      "bad-signature",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
      canonical,
    );
  }
  return auth;
}

/**
 * The key a secret signs with for one day, region and service: four HMACs, the same for every request of
 * that scope, so derived once per scope (as the SDK's signer caches it) instead of once per request.
 */
const signingKeys = new Map<string, { readonly secret: string; readonly key: Buffer }>();
const MAX_SIGNING_KEYS = 1_000;

function signingKey(secret: string, auth: SigV4Caller): Buffer {
  const id = `${auth.accessKeyId}/${auth.date}/${auth.region}/${auth.service}`;
  const cached = signingKeys.get(id);
  if (cached && cached.secret === secret) return cached.key;
  let key = hmac(`AWS4${secret}`, auth.date);
  for (const part of [auth.region, auth.service, "aws4_request"]) key = hmac(key, part);
  if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
  signingKeys.set(id, { secret, key });
  return key;
}

/**
 * The SigV4 canonical request, built the way the SDK's signer builds it for every service but S3:
 * method, URI-encoded path (the already-encoded wire path is encoded again, so `@` → %40 and `%3D` → %253D,
 * after dropping empty, `.` and `..` segments), sorted query, the signed headers (values with runs of
 * whitespace collapsed), the signed header list, and the payload hash. Exported for tests and debugging.
 */
export function canonicalRequest(request: SignedRequest, signedHeaders: readonly string[], payloadHash: string): string {
  return canonicalFromLowerCased(request.method, request.url, lowerCaseHeaders(request.headers), signedHeaders, payloadHash);
}

function canonicalFromLowerCased(method: string, url: string, headers: LowerCasedHeaders, signedHeaders: readonly string[], payloadHash: string): string {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? "" : url.slice(q + 1);
  let canonicalHeaders = "";
  for (const name of signedHeaders) canonicalHeaders += `${name}:${trimHeaderValue(headerValue(header(headers, name)) ?? "")}\n`;
  return `${method.toUpperCase()}\n${canonicalPath(path)}\n${canonicalQuery(query)}\n${canonicalHeaders}\n${signedHeaders.join(";")}\n${payloadHash}`;
}

/** A header value as signed: line breaks as spaces, runs of spaces and tabs as one, no space at either end. */
const trimHeaderValue = (value: string) =>
  /[\r\n\t]|  |^ | $/.test(value) ? value.replace(/[\r\n]/g, " ").replace(/[ \t]+/g, " ").replace(/^ | $/g, "") : value;

/** encodeURIComponent plus the characters RFC 3986 reserves but it leaves alone (as the SDK's escapeUri). */
const escapeUri = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith("/") ? "/" : ""}${segments.join("/")}${segments.length > 0 && path.endsWith("/") ? "/" : ""}`;
  return escapeUri(normalized).replace(/%2F/g, "/");
}

function canonicalQuery(query: string): string {
  const pairs: [string, string][] = [];
  for (const part of query.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const [key, value] = (eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)]).map(safeDecode) as [string, string];
    if (key.toLowerCase() !== "x-amz-signature") pairs.push([escapeUri(key), escapeUri(value)]);
  }
  pairs.sort(([k1, v1], [k2, v2]) => (k1 < k2 ? -1 : k1 > k2 ? 1 : v1 < v2 ? -1 : v1 > v2 ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join("&");
}

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

type LowerCasedHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * The headers by lower-case name: Node's IncomingMessage already has them so, and is used as it is (a
 * lookup per request instead of a Map built twice; the verifier was ~12% of the main thread's time).
 */
function lowerCaseHeaders(headers: SignedRequest["headers"]): LowerCasedHeaders {
  const names = Object.keys(headers);
  if (names.every((name) => name === name.toLowerCase())) return headers;
  const lowered: Record<string, string | readonly string[] | undefined> = Object.create(null);
  for (const name of names) lowered[name.toLowerCase()] = headers[name];
  return lowered;
}

/** Own properties only: a signed header named "constructor" is absent, not Object's. */
const header = (headers: LowerCasedHeaders, name: string) => (Object.hasOwn(headers, name) ? headers[name] : undefined);

/** Repeated headers are signed as one comma-joined value. */
const headerValue = (value: string | readonly string[] | undefined) =>
  typeof value === "string" || value === undefined ? value : value.join(",");
