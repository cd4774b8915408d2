/**
 * The $connect authorizer function against a real issuer: the local issuer (local/identity-provider)
 * serving its JWKS over HTTP on a free port, tokens minted with its key, bad ones made with jose.
 */
import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import { generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { handler } from "../handlers/authorizer";
import { ENV_ADMIN_GROUP, ENV_JWT_AUDIENCE, ENV_JWT_GROUPS_CLAIM, ENV_JWT_ISSUER, ENV_JWT_JWKS_URL, ENV_JWT_NAME_CLAIM } from "../handlers/lib/env/contract";
import { authorizerHandler } from "../handlers/lib/auth/authorizer-handler";
import { joseVerifier } from "../handlers/lib/auth/jose-verifier";
import { closeServer, listen } from "../local/http/servers";
import { JWKS_PATH, LocalIssuer } from "../local/identity-provider/local-issuer";
import { keys } from "../handlers/lib/store/table-schema";
import { LocalDynamo } from "./support/dynalite";

const METHOD_ARN = "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/prod/$connect";
let server: Server;
let issuer: LocalIssuer;
let jwksFetches = 0;
/** Where the authorizer reads account bans. */
let dynamo: LocalDynamo;
let logged: string[] = [];
const savedEnv = { ...process.env };

function event(query: Record<string, string> | null = {}) {
  return {
    type: "REQUEST",
    methodArn: METHOD_ARN,
    queryStringParameters: query,
    requestContext: { routeKey: "$connect", eventType: "CONNECT", connectionId: "L0SM9cOFvHcCIhw=", requestId: "K8Ab2cOFvHcCIhw=" },
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const effect = (result: { policyDocument: { Statement: ReadonlyArray<{ Effect: string }> } }) => result.policyDocument.Statement[0]!.Effect;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === JWKS_PATH) jwksFetches += 1;
    if (!issuer.handle(req, res)) res.writeHead(404).end();
  });
  const port = await listen(server, "127.0.0.1", 0);
  issuer = await LocalIssuer.create(`http://127.0.0.1:${port}`);
  dynamo = await LocalDynamo.start();
  await dynamo.freshTable();
  Object.assign(process.env, {
    [ENV_JWT_ISSUER]: issuer.issuer,
    [ENV_JWT_AUDIENCE]: issuer.audience,
    [ENV_JWT_JWKS_URL]: issuer.jwksUrl,
    [ENV_JWT_NAME_CLAIM]: "name",
    [ENV_JWT_GROUPS_CLAIM]: "groups",
    [ENV_ADMIN_GROUP]: "chat-admins",
  });
});

beforeEach(() => {
  logged = [];
  for (const method of ["log", "info", "warn", "error"] as const) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map((arg) => JSON.stringify(arg)).join(" ")));
  }
});

afterEach(() => jest.restoreAllMocks());

afterAll(async () => {
  await closeServer(server);
  await dynamo?.stop();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
});

describe("a good token", () => {
  test("is allowed on exactly the $connect it asked for, as its user", async () => {
    const { token, userId } = await issuer.mint("alice");
    expect(await handler(event({ token }))).toEqual({
      principalId: userId,
      policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: METHOD_ARN }] },
      context: { userId, userName: "alice", admin: false, tokenExpiresAt: expect.any(Number) },
    });
  });

  test("the issuer's keys are fetched once per container, not per connection", async () => {
    for (const name of ["bob", "carol", "dave"]) expect(effect(await handler(event({ token: (await issuer.mint(name)).token })))).toBe("Allow");
    expect(jwksFetches).toBe(1);
  });
});

describe("the display name", () => {
  const nameOf = async (claims: Record<string, unknown>) => {
    const result = await handler(event({ token: await issuer.sign({ sub: "user-1", exp: nowSeconds() + 60, ...claims }) }));
    return result.context?.userName;
  };

  test("comes from the name claim", async () => {
    expect(await nameOf({ name: "Zoë Ødegaard", preferred_username: "zoe" })).toBe("Zoë Ødegaard");
  });

  test("falls back to preferred_username, then to a name generated from the user's id", async () => {
    expect(await nameOf({ preferred_username: "zoe" })).toBe("zoe");
    expect(await nameOf({ name: "   " })).toMatch(/^user-[0-9a-f]{8}$/);
    expect(await nameOf({ name: "   " })).toBe(await nameOf({}));
  });

  test("is normalized as the name rules say (NFKC, inner spaces collapsed)", async () => {
    expect(await nameOf({ name: "  Ａｌｉｃｅ   Ｂ  " })).toBe("Alice B");
  });

  test.each([
    ["a control character", "line\nbreak"],
    ["an invisible letter (U+3164)", "\u3164"],
    ["a zero-width space", "ali\u200Bce"],
    ["a right-to-left override", "ali\u202Eecila"],
    ["Latin mixed with a Cyrillic look-alike", "p\u0430ypal"],
    ["more than 64 characters", "é".repeat(65)],
  ])("breaking a rule (%s), is replaced by a generated name", async (_rule, name) => {
    expect(await nameOf({ name, preferred_username: "fallback-is-not-used-either" })).toMatch(/^user-[0-9a-f]{8}$/);
  });
});

describe("admins", () => {
  const adminOf = async (claims: Record<string, unknown>) => {
    const result = await handler(event({ token: await issuer.sign({ sub: "user-1", exp: nowSeconds() + 60, ...claims }) }));
    return result.context?.admin;
  };

  test("a groups claim listing the admin group makes the user an admin", async () => {
    expect(await adminOf({ groups: ["staff", "chat-admins"] })).toBe(true);
  });

  test("the groups claim may be one string of names separated by spaces or commas", async () => {
    expect(await adminOf({ groups: "staff chat-admins" })).toBe(true);
    expect(await adminOf({ groups: "staff,chat-admins" })).toBe(true);
  });

  test.each([
    ["no groups claim", {}],
    ["other groups", { groups: ["staff"] }],
    ["a group whose name only contains the admin group's", { groups: ["chat-admins-old"] }],
    ["the admin group in another claim", { "cognito:groups": ["chat-admins"] }],
    ["a claim that is no list of strings", { groups: { "chat-admins": true } }],
  ])("%s: not an admin", async (_what, claims) => {
    expect(await adminOf(claims)).toBe(false);
  });
});

describe("a bad token gets an explicit Deny (403), and nothing of it is logged", () => {
  const cases: Array<[string, () => Promise<string>]> = [
    ["an expired token", () => issuer.sign({ sub: "user-1", iat: nowSeconds() - 3600, exp: nowSeconds() - 60 })],
    ["a token not valid yet", () => issuer.sign({ sub: "user-1", nbf: nowSeconds() + 600, exp: nowSeconds() + 3600 })],
    ["a token for another audience", () => issuer.sign({ sub: "user-1", aud: "someone-else", exp: nowSeconds() + 60 })],
    ["a token from another issuer", () => issuer.sign({ sub: "user-1", iss: "https://evil.example.com", exp: nowSeconds() + 60 })],
    ["a token without a sub", () => issuer.sign({ name: "nobody", exp: nowSeconds() + 60 })],
    ["a token without an exp (it would never expire)", () => issuer.sign({ sub: "user-1", name: "forever" })],
    [
      "an HS256 token signed with the issuer's public key as its secret (algorithm confusion)",
      async () => {
        const jwk = (await (await fetch(issuer.jwksUrl)).json() as { keys: Array<Record<string, string>> }).keys[0]!;
        const header = Buffer.from(JSON.stringify({ alg: "HS256", kid: jwk.kid, typ: "JWT" })).toString("base64url");
        const payload = Buffer.from(JSON.stringify({ sub: "user-1", iss: issuer.issuer, aud: issuer.audience, exp: nowSeconds() + 60 })).toString("base64url");
        // Every byte form of the public key an HMAC confusion attack would try: its JWK's modulus and the JWK itself.
        const secret = Buffer.from(JSON.stringify(jwk));
        const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
        return `${header}.${payload}.${signature}`;
      },
    ],
    ["a token with an absurdly long sub", () => issuer.sign({ sub: "x".repeat(300), exp: nowSeconds() + 60 })],
    [
      "a token signed with another key under the issuer's key id",
      async () => {
        const { privateKey } = await generateKeyPair("RS256");
        const kid = (await (await fetch(issuer.jwksUrl)).json() as { keys: Array<{ kid: string }> }).keys[0]!.kid;
        return new SignJWT({ sub: "user-1", iss: issuer.issuer, aud: issuer.audience, exp: nowSeconds() + 60 }).setProtectedHeader({ alg: "RS256", kid }).sign(privateKey);
      },
    ],
    [
      "a token signed with a key the issuer does not publish",
      async () => {
        const { privateKey } = await generateKeyPair("ES256");
        return new SignJWT({ sub: "user-1", iss: issuer.issuer, aud: issuer.audience, exp: nowSeconds() + 60 }).setProtectedHeader({ alg: "ES256", kid: "unknown" }).sign(privateKey);
      },
    ],
    ["an unsigned token (alg none)", async () => new UnsecuredJWT({ sub: "user-1", iss: issuer.issuer, aud: issuer.audience }).setExpirationTime("1h").encode()],
    [
      "a token whose signature was cut off",
      async () => (await issuer.mint("mallory")).token.split(".").slice(0, 2).join(".") + ".",
    ],
    [
      "a good token with its payload swapped for another user's",
      async () => {
        const [header, , signature] = (await issuer.mint("mallory")).token.split(".");
        const payload = Buffer.from(JSON.stringify({ sub: "admin", iss: issuer.issuer, aud: issuer.audience, exp: nowSeconds() + 60 })).toString("base64url");
        return `${header}.${payload}.${signature}`;
      },
    ],
    ["something that is not a JWT", async () => "not-a-jwt-at-all"],
  ];

  test.each(cases)("%s", async (_what, make) => {
    const token = await make();
    const result = await handler(event({ token }));
    expect(result).toEqual({
      principalId: "anonymous",
      policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: METHOD_ARN }] },
    });
    expect(logged.length).toBeGreaterThan(0);
    for (const part of token.split(".").filter((p) => p.length >= 8)) {
      for (const line of logged) expect(line).not.toContain(part);
    }
    expect(logged.join("\n")).toMatch(/"decision":"deny"/);
  });
});

test("a denial is counted in the metrics by reason, with nothing of the token in the document", async () => {
  process.env.METRICS_NAMESPACE = "ChatTest";
  const written: string[] = [];
  jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const token = await issuer.sign({ sub: "user-1", iat: nowSeconds() - 3600, exp: nowSeconds() - 60 });
    await handler(event({ token }), { awsRequestId: "req-1" });

    const docs = written.join("").split("\n").filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ AuthorizerDenials: 1, Reason: "ERR_JWT_EXPIRED", requestId: "req-1" });
    expect(docs[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([["service"], ["service", "Reason"]]);
    for (const part of token.split(".")) expect(written.join("")).not.toContain(part);
  } finally {
    delete process.env.METRICS_NAMESPACE;
  }
});

describe("account bans: one strongly consistent GetItem of ban#<sub> after the token verifies", () => {
  const banned = (userId: string, until: number) => dynamo.put({ ...keys.accountBan(userId), until, by: { id: "root", name: "root", verified: true, admin: true }, expiresAt: until });
  const deny = { principalId: "anonymous", policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: "Deny", Resource: METHOD_ARN }] } };

  test("a banned user's good token gets an explicit Deny (403), logged and counted with the reason BANNED", async () => {
    process.env.METRICS_NAMESPACE = "ChatTest";
    const written: string[] = [];
    jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const { token, userId } = await issuer.mint("banned-bob");
      await banned(userId, nowSeconds() + 600);
      expect(await handler(event({ token }), { awsRequestId: "req-ban" })).toEqual(deny);
      expect(logged.join("\n")).toMatch(/"decision":"deny","reason":"BANNED","detail":"the account is banned until \d{4}-/);
      const docs = written.join("").split("\n").filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line));
      expect(docs).toEqual([expect.objectContaining({ AuthorizerDenials: 1, Reason: "BANNED", requestId: "req-ban" })]);
      for (const line of [...logged, ...written]) expect(line).not.toContain(token.split(".")[2]!);
    } finally {
      delete process.env.METRICS_NAMESPACE;
    }
  });

  test("a ban past its until is over although TTL has not deleted its item yet: Allow", async () => {
    const { token, userId } = await issuer.mint("paroled-pat");
    await banned(userId, nowSeconds() - 1);
    expect(effect(await handler(event({ token })))).toBe("Allow");
  });

  test("another user's ban changes nothing", async () => {
    await banned("someone-else", nowSeconds() + 600);
    expect(effect(await handler(event({ token: (await issuer.mint("innocent-ida")).token })))).toBe("Allow");
  });

  test("a ban that cannot be read fails the handshake (500) rather than letting the user in", async () => {
    const saved = process.env.TABLE_NAME;
    process.env.TABLE_NAME = "no-such-table";
    try {
      await expect(handler(event({ token: (await issuer.mint("alice")).token }))).rejects.toThrow();
      expect(logged.join("\n")).toMatch(/"route":"authorizer".*"errorType":"ResourceNotFoundException"/);
    } finally {
      process.env.TABLE_NAME = saved;
    }
  });
});

describe("faults", () => {
  test("an event without a token fails with Unauthorized, which API Gateway answers with 401", async () => {
    await expect(handler(event({}))).rejects.toThrow(/^Unauthorized$/);
    await expect(handler(event(null))).rejects.toThrow(/^Unauthorized$/);
  });

  test("an issuer whose keys cannot be fetched fails the invocation (500) instead of blaming the token, and logs no token", async () => {
    const stopped = createServer();
    const deadPort = await listen(stopped, "127.0.0.1", 0);
    await closeServer(stopped);
    // A new container: the handler's verifier and key cache are made on its first invocation.
    const container = authorizerHandler(joseVerifier);
    const saved = process.env[ENV_JWT_JWKS_URL];
    process.env[ENV_JWT_JWKS_URL] = `http://127.0.0.1:${deadPort}${JWKS_PATH}`;
    try {
      const { token } = await issuer.mint("alice");
      await expect(container(event({ token }))).rejects.toThrow();
      expect(logged.join("\n")).toMatch(/"route":"authorizer".*"errorType"/);
      for (const line of logged) expect(line).not.toContain(token.split(".")[2]!);
    } finally {
      process.env[ENV_JWT_JWKS_URL] = saved;
    }
  });
});

describe("an issuer outage after the keys were fetched once", () => {
  // The bound scaled down: keys refetched after 200 ms, the last ones served for 1.5 s after their fetch.
  const timing = { cacheMaxAgeMs: 200, staleForMs: 1500 };

  test("handshakes keep working on the last keys within the bound, and fail (500, not a Deny) after it", async () => {
    const outage = createServer((req, res) => void (issuer.handle(req, res) || res.writeHead(404).end()));
    const port = await listen(outage, "127.0.0.1", 0);
    const container = authorizerHandler((settings) => joseVerifier(settings, timing));
    const saved = process.env[ENV_JWT_JWKS_URL];
    process.env[ENV_JWT_JWKS_URL] = `http://127.0.0.1:${port}${JWKS_PATH}`;
    try {
      expect(effect(await container(event({ token: (await issuer.mint("alice")).token })))).toBe("Allow");
      const fetchedAt = Date.now();
      await closeServer(outage);

      await new Promise((resolve) => setTimeout(resolve, timing.cacheMaxAgeMs + 100));
      expect(effect(await container(event({ token: (await issuer.mint("bob")).token })))).toBe("Allow");
      expect(logged.join("\n")).toMatch(/"while":"refetching the issuer's keys","servingKeysFetchedAt"/);

      await new Promise((resolve) => setTimeout(resolve, fetchedAt + timing.staleForMs + 100 - Date.now()));
      await expect(container(event({ token: (await issuer.mint("carol")).token }))).rejects.toThrow();
    } finally {
      process.env[ENV_JWT_JWKS_URL] = saved;
    }
  });
});
