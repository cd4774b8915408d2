import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient, QueryCommand, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { Sha256 } from "@smithy/core/checksum";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  parseAuthorizationHeader,
  SigV4Error,
  type SignedRequest,
  tryParseAuthorizationHeader,
  verifySigV4,
} from "../local/iam/sigv4";
import { signedHttp } from "../handlers/lib/aws/signed-http";

const credentials = { accessKeyId: "LOCALSENDMESSAGE", secretAccessKey: "local-secret-send-message" };
const secretFor = (id: string) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined);
const signingDate = new Date("2025-03-04T05:06:07Z");

/** Signs a request with the SDK's own signer, and returns it the way an HTTP server would see it. */
async function signed(init: { method: string; path: string; body?: string; service?: string; query?: Record<string, string> }): Promise<SignedRequest> {
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: init.service ?? "dynamodb", sha256: Sha256 });
  const request = new HttpRequest({
    method: init.method,
    protocol: "http:",
    hostname: "127.0.0.1",
    port: 4566,
    path: init.path,
    query: init.query ?? {},
    headers: { host: "127.0.0.1:4566", "content-type": "application/x-amz-json-1.0", ...(init.body ? { "x-amz-target": "DynamoDB_20120810.GetItem" } : {}) },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const out = await signer.sign(request, { signingDate });
  const search = new URLSearchParams(out.query as Record<string, string>).toString().replace(/\+/g, "%20");
  return { method: out.method, url: out.path + (search ? `?${search}` : ""), headers: out.headers, body: init.body ?? "" };
}

const verify = (request: SignedRequest, options = {}) => verifySigV4(request, secretFor, { now: signingDate, ...options });

describe("SigV4 Authorization header parsing", () => {
  it("reads the caller from a header signed by @smithy/signature-v4", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    expect(parseAuthorizationHeader(request.headers.authorization)).toMatchObject({
      accessKeyId: "LOCALSENDMESSAGE",
      date: "20250304",
      region: "us-east-1",
      service: "dynamodb",
      signedHeaders: expect.arrayContaining(["host", "x-amz-date", "x-amz-target"]),
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("reports a missing header as missing", () => {
    expect(() => parseAuthorizationHeader(undefined)).toThrow(expect.objectContaining({ kind: "missing", code: "MissingAuthenticationTokenException" }));
    expect(tryParseAuthorizationHeader(undefined)).toBeUndefined();
  });

  it.each([
    ["another scheme", "Bearer abc", /Unsupported Authorization scheme "Bearer"/],
    ["no Signature", "AWS4-HMAC-SHA256 Credential=AK/20250304/us-east-1/dynamodb/aws4_request, SignedHeaders=host", /'Signature'/],
    ["a short Credential", `AWS4-HMAC-SHA256 Credential=AK/20250304/us-east-1, SignedHeaders=host, Signature=${"a".repeat(64)}`, /Credential must have the form/],
    ["a bad date", `AWS4-HMAC-SHA256 Credential=AK/2025-03-04/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=${"a".repeat(64)}`, /Credential must have the form/],
    ["a short Signature", "AWS4-HMAC-SHA256 Credential=AK/20250304/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc", /64 lower-case hex/],
  ])("reports a header with %s as malformed", (_, header, message) => {
    expect(() => parseAuthorizationHeader(header)).toThrow(message);
    expect(() => parseAuthorizationHeader(header)).toThrow(expect.objectContaining({ kind: "malformed", code: "IncompleteSignatureException" }));
    expect(tryParseAuthorizationHeader(header)).toBeUndefined();
  });
});

describe("SigV4 signature verification", () => {
  it("accepts a DynamoDB request signed by @smithy/signature-v4", async () => {
    const request = await signed({ method: "POST", path: "/", body: '{"TableName":"chat"}' });
    expect(verify(request, { service: "dynamodb", region: "us-east-1" })).toMatchObject({ accessKeyId: "LOCALSENDMESSAGE" });
  });

  it("accepts a query string and a path with reserved characters", async () => {
    const request = await signed({ method: "GET", path: "/prod/@connections/a%3Db", service: "execute-api", query: { b: "x y", a: "1/2", "a-b": "*" } });
    expect(verify(request)).toMatchObject({ service: "execute-api" });
  });

  it("rejects an unknown access key id", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    expect(() => verifySigV4(request, () => undefined, { now: signingDate })).toThrow(
      expect.objectContaining({ kind: "unknown-key", code: "UnrecognizedClientException" }),
    );
  });

  it("rejects a signature made with another secret", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    let error: unknown;
    try {
      verifySigV4(request, () => "not-the-secret", { now: signingDate });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SigV4Error);
    expect(error).toMatchObject({ kind: "bad-signature", code: "InvalidSignatureException", canonicalRequest: expect.stringContaining("POST\n/\n") });
  });

  it("rejects a body changed after signing", async () => {
    const request = await signed({ method: "POST", path: "/", body: '{"TableName":"chat"}' });
    expect(() => verify({ ...request, body: '{"TableName":"other"}' })).toThrow(/x-amz-content-sha256/);
  });

  it("rejects a signed header changed after signing", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    expect(() => verify({ ...request, headers: { ...request.headers, "x-amz-target": "DynamoDB_20120810.DeleteTable" } })).toThrow(
      expect.objectContaining({ kind: "bad-signature" }),
    );
  });

  it("rejects a request signed more than 15 minutes ago", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    const later = new Date(signingDate.getTime() + 16 * 60 * 1000);
    expect(() => verifySigV4(request, secretFor, { now: later })).toThrow(expect.objectContaining({ kind: "expired" }));
  });

  it("rejects an X-Amz-Date that is not a date", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    const headers = { ...request.headers, "x-amz-date": "20251304T050607Z" };
    expect(() => verify({ ...request, headers })).toThrow(expect.objectContaining({ kind: "wrong-scope" }));
    const sameDay = { ...request.headers, "x-amz-date": "20250304T256007Z" };
    expect(() => verify({ ...request, headers: sameDay })).toThrow(/not a valid date/);
  });

  it("signs a header the request lacks as empty, even one named like an Object property", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}" });
    const authorization = String(request.headers.authorization).replace("SignedHeaders=", "SignedHeaders=constructor;");
    expect(() => verify({ ...request, headers: { ...request.headers, authorization } })).toThrow(expect.objectContaining({ kind: "bad-signature" }));
  });

  it("rejects a credential scoped to another service", async () => {
    const request = await signed({ method: "POST", path: "/", body: "{}", service: "execute-api" });
    expect(() => verify(request, { service: "dynamodb" })).toThrow(/scoped to correct service: 'dynamodb'/);
  });
});

describe("SigV4 with the real AWS SDK clients", () => {
  // A plain HTTP server that records what the SDK sends and answers with an error, so each call ends fast.
  let server: Server;
  let endpoint: string;
  const seen: SignedRequest[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(400, { "content-type": "application/x-amz-json-1.0" }).end('{"__type":"Test#Recorded","message":"recorded"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
  });

  const sdk = { region: "us-east-1", credentials: { ...credentials, sessionToken: "session" }, maxAttempts: 1 };

  it("verifies DynamoDB requests (POST / with a JSON body)", async () => {
    const ddb = new DynamoDBClient({ ...sdk, endpoint });
    await ddb.send(new QueryCommand({ TableName: "chat", IndexName: "byRoom", KeyConditionExpression: "r = :r", ExpressionAttributeValues: { ":r": { S: "läbby  1" } } })).catch(() => undefined);
    await ddb.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: "chat", Item: { id: { S: "x" } } } }] })).catch(() => undefined);
    ddb.destroy();
    expect(seen).toHaveLength(2);
    for (const request of seen) {
      expect(verifySigV4(request, secretFor, { service: "dynamodb", region: "us-east-1" })).toMatchObject({ accessKeyId: "LOCALSENDMESSAGE" });
    }
  });

  it("verifies @connections requests (POST, GET, DELETE with an encoded connection id)", async () => {
    const api = new ApiGatewayManagementApiClient({ ...sdk, endpoint: `${endpoint}/prod` });
    const ConnectionId = "L0SM9cOFvHcCIhw=+/ x";
    await api.send(new PostToConnectionCommand({ ConnectionId, Data: Buffer.from("hello") })).catch(() => undefined);
    await api.send(new GetConnectionCommand({ ConnectionId })).catch(() => undefined);
    await api.send(new DeleteConnectionCommand({ ConnectionId })).catch(() => undefined);
    api.destroy();
    expect(seen.map((r) => r.method)).toEqual(["POST", "GET", "DELETE"]);
    for (const request of seen) {
      expect(request.url).toBe("/prod/@connections/L0SM9cOFvHcCIhw%3D%2B%2F%20x");
      expect(verifySigV4(request, secretFor, { service: "execute-api", region: "us-east-1" })).toMatchObject({ accessKeyId: "LOCALSENDMESSAGE" });
    }
  });

  it("verifies the handlers' own signed requests (aws4, in signed-http.ts), escaped paths included", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: "session" });
    try {
      const send = (service: string, base: string, path: string, headers: Record<string, string>) =>
        signedHttp(base, { service, connectionTimeoutMs: 1000 })
          .request({ method: "POST", path, headers, body: Buffer.from('{"Key":{}}'), signal: new AbortController().signal })
          .then((response) => response.resume());
      await send("execute-api", `${endpoint}/prod`, `/@connections/${encodeURIComponent("L0SM9cOFvHcCIhw=+/ x")}`, { "content-type": "application/octet-stream" });
      await send("dynamodb", endpoint, "/", { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.GetItem" });
    } finally {
      process.env = saved;
    }
    expect(seen.map((r) => r.url)).toEqual(["/prod/@connections/L0SM9cOFvHcCIhw%3D%2B%2F%20x", "/"]);
    expect(verifySigV4(seen[0]!, secretFor, { service: "execute-api", region: "us-east-1" })).toMatchObject({ accessKeyId: "LOCALSENDMESSAGE" });
    expect(verifySigV4(seen[1]!, secretFor, { service: "dynamodb", region: "us-east-1" })).toMatchObject({ accessKeyId: "LOCALSENDMESSAGE" });
    // The session token is signed, as the SDK signs it.
    expect(parseAuthorizationHeader(seen[1]!.headers.authorization).signedHeaders).toContain("x-amz-security-token");
    const tampered = { ...seen[1]!, body: Buffer.from('{"Key":{"x":1}}') };
    expect(() => verifySigV4(tampered, secretFor, { service: "dynamodb", region: "us-east-1" })).toThrow(expect.objectContaining({ kind: "bad-signature" }));
  });
});
