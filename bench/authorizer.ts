import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../constructs/bundle";
import {
  ENV_ADMIN_GROUP,
  ENV_JWT_AUDIENCE,
  ENV_JWT_GROUPS_CLAIM,
  ENV_JWT_ISSUER,
  ENV_JWT_JWKS_URL,
  ENV_JWT_NAME_CLAIM,
  ENV_TABLE_NAME,
} from "../handlers/lib/env/contract";
import { closeServer, listen } from "../local/http/servers";
import { LocalIssuer } from "../local/identity-provider/local-issuer";
import { LocalDynamo } from "../__tests__/support/dynalite";
import { accountBannedUntil } from "../handlers/lib/store/account-bans";
import { dynamoDbJson } from "../handlers/lib/store/dynamodb-json";
import { firstOutput, zippedBytes } from "./bundles";
import { bytes, ms, range } from "./lib/format";
import { median, percentile, summarize } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

const ROOT = join(__dirname, "..");
const SERVE_AUTHORIZER = join(__dirname, "lib", "serve-authorizer.cjs");
const ZIP_BUDGET_BYTES = 256 * 1024;
const COLD_START_BUDGET_MS = 150;
const WARM_BUDGET_MS = 5;

type Library = "jose" | "aws-jwt-verify";
/** The shipped authorizer first, then the same handler with the library it did not pick. */
const ENTRIES: Record<Library, string> = {
  jose: join(ROOT, "handlers", "authorizer.ts"),
  "aws-jwt-verify": join(ROOT, "bench", "baseline", "authorizer-aws-jwt-verify.ts"),
};
const LIBRARIES = Object.keys(ENTRIES) as Library[];

export interface AuthorizerOptions {
  readonly coldStarts: number;
  readonly warmRuns: number;
}

/**
 * Figure 11: the $connect authorizer with each maintained JWT library: zipped bundle, cold start (a fresh
 * Node process that loads the bundle and answers its first event, fetching the JWKS from a local issuer
 * over HTTP) and warm verification (the same token verified again in that process).
 */
export async function benchAuthorizer(options: AuthorizerOptions): Promise<FigureResult> {
  const work = mkdtempSync(join(tmpdir(), "bench-authorizer-"));
  let issuer: LocalIssuer | undefined;
  const server = createServer((req, res) => {
    if (!issuer?.handle(req, res)) res.writeHead(404, { "Content-Length": 0 }).end();
  });
  const port = await listen(server, "127.0.0.1", 0);
  // Where the authorizer reads the user's account ban, one GetItem per handshake.
  const dynamo = await LocalDynamo.start();
  try {
    const table = await dynamo.freshTable();
    issuer = await LocalIssuer.create(`http://127.0.0.1:${port}`);
    const { token } = await issuer.mint("bench user");
    const event = {
      type: "REQUEST",
      methodArn: "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/prod/$connect",
      queryStringParameters: { token },
      multiValueQueryStringParameters: { token: [token] },
      requestContext: { routeKey: "$connect", eventType: "CONNECT", connectionId: "L0SM9cOFvHcCIhw=", requestId: "L0SM9cOFvHcCIhx=" },
    };
    const env = {
      PATH: process.env.PATH,
      [ENV_JWT_ISSUER]: issuer.issuer,
      [ENV_JWT_AUDIENCE]: issuer.audience,
      [ENV_JWT_JWKS_URL]: issuer.jwksUrl,
      [ENV_JWT_NAME_CLAIM]: "name",
      [ENV_JWT_GROUPS_CLAIM]: "groups",
      [ENV_ADMIN_GROUP]: "chat-admins",
      [ENV_TABLE_NAME]: table,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDBENCHAUTHORIZER",
      AWS_SECRET_ACCESS_KEY: "bench-secret",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    };

    const bundles = Object.fromEntries(LIBRARIES.map((library) => [library, bundleHandler(ENTRIES[library])])) as Record<Library, string>;
    const zips = {} as Record<Library, number>;
    for (const library of LIBRARIES) zips[library] = await zippedBytes(bundles[library], join(work, `${library}.zip`));

    const cold: Record<Library, number[]> = { jose: [], "aws-jwt-verify": [] };
    const warm: Record<Library, number[]> = { jose: [], "aws-jwt-verify": [] };
    const nodeFloor: number[] = [];
    for (let i = 0; i < options.coldStarts; i += 1) {
      nodeFloor.push((await firstOutput(["-e", "console.log()"], {})).ms);
      // Libraries alternate, so a slow spell of the machine hits both alike.
      for (const library of LIBRARIES) {
        const run = await firstOutput([SERVE_AUTHORIZER, join(bundles[library], BUNDLE_FILE), JSON.stringify(event), String(options.warmRuns)], env);
        const [first, rest] = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as { effect?: string; warmMs?: number[] });
        if (run.code !== 0 || first?.effect !== "Allow" || !rest?.warmMs) {
          throw new Error(`the ${library} authorizer did not allow a good token (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
        }
        cold[library].push(run.ms);
        warm[library].push(...rest.warmMs);
      }
    }

    // The ban check alone, as the authorizer makes it (this process's environment points at the same table).
    const banCheck: number[] = [];
    const reads = dynamoDbJson();
    for (let i = 0; i < options.warmRuns + 1; i += 1) {
      const started = performance.now();
      await accountBannedUntil(reads, table, "bench-user", Date.now());
      if (i > 0) banCheck.push(performance.now() - started);
    }
    banCheck.sort((a, b) => a - b);

    const [ours, baseline] = LIBRARIES;
    const warmOf = (library: Library) => [...warm[library]].sort((a, b) => a - b);
    const rows: Row[] = [
      { measure: "zip: authorizer", ours: bytes(zips[ours]), baseline: bytes(zips[baseline]), budget: "≤ 256 KB", pass: zips[ours] <= ZIP_BUDGET_BYTES },
      {
        measure: `cold start incl. JWKS fetch, median of ${options.coldStarts}`,
        ours: range(summarize(cold[ours]), ms),
        baseline: range(summarize(cold[baseline]), ms),
        budget: "median ≤ 150 ms",
        pass: median(cold[ours]) <= COLD_START_BUDGET_MS,
        detail: `paired median: ${pairedFaster(cold[ours], cold[baseline])}`,
      },
      {
        measure: `warm verify: median / p99 of ${warm[ours].length}`,
        ours: `${ms(median(warm[ours]))} / ${ms(percentile(warmOf(ours), 99))}`,
        baseline: `${ms(median(warm[baseline]))} / ${ms(percentile(warmOf(baseline), 99))}`,
        budget: "median ≤ 5 ms",
        pass: median(warm[ours]) <= WARM_BUDGET_MS,
      },
      {
        measure: `… of which the ban check (one GetItem, dynalite): median / p99 of ${banCheck.length}`,
        ours: `${ms(median(banCheck))} / ${ms(percentile(banCheck, 99))}`,
        baseline: "",
        detail: "the same call in both; on AWS one strongly consistent read (docs/moderation.md)",
      },
    ];
    return {
      title: "11. Authorizer (JWT library: zip, cold start, warm verify)",
      oursLabel: "jose (shipped)",
      baselineLabel: "aws-jwt-verify",
      rows,
      notes: [
        "Both bundles are handlers/lib/auth/authorizer-handler.ts with a different verifier (handlers/lib/auth/jose-verifier.ts, bench/baseline/aws-jwt-verify-verifier.ts), built by constructs/bundle.ts, zipped with `zip -5`.",
        `Cold start: from spawn until a fresh \`node\` (bench/lib/serve-authorizer.cjs) has loaded the bundle, fetched the JWKS from a local issuer (local/identity-provider) over HTTP and allowed an RS256 token. An empty Node process takes ${range(summarize(nodeFloor), ms)} here.`,
        `Warm verify: the same event answered ${options.warmRuns} more times in each of those processes: signature, issuer, audience and expiry checked each time, keys from the container's cache, then the user's ban read from dynalite (the check's own row times that read alone, from the bench process).`,
      ],
    };
  } finally {
    await dynamo.stop();
    await closeServer(server);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Which library started faster in the paired runs, by the median of the differences. */
function pairedFaster(ours: readonly number[], baseline: readonly number[]): string {
  const difference = median(ours.map((time, i) => time - baseline[i]!));
  return `${difference > 0 ? "aws-jwt-verify" : "jose"} ${ms(Math.abs(difference))} faster`;
}
