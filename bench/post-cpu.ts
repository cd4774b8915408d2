import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../constructs/bundle";
import { POST_TIMEOUT_MS } from "../handlers/lib/aws/clients";
import { MAX_RESERVE_MS, MIN_RESERVE_MS } from "../handlers/lib/fan-out/fan-out";
import { count, ms, range } from "./lib/format";
import { outputTail, run } from "./lib/process";
import { summarize } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";

export interface PostCpuOptions {
  /** Posts per measured run. */
  readonly posts: number;
  /** Measured runs per variant, alternating. */
  readonly runs: number;
}

type Variant = "fan-out" | "fan-out-sdk" | "floor";
const VARIANTS: readonly Variant[] = ["fan-out", "fan-out-sdk", "floor"];
const CONCURRENCY = 25;
/** Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB (configuration-memory.html). */
const MB_PER_VCPU = 1769;
const FUNCTION_MB = 256;
/** send-message's timeout and the consumer's, as the stack ships them. */
const ROUTE_TIMEOUT_MS = 10_000;
const CONSUMER_TIMEOUT_MS = 60_000;
/** Beyond this many times the floor, the fan-out spends on something other than signing and sending. */
const FLOOR_BUDGET = 1.5;

/**
 * Figure 9: the CPU one post costs inside the fan-out code — handlers/lib/fan-out/fan-out.ts posting with the
 * shipped @connections client, bundled as the handlers are — beside the floor, a bare loop of requests
 * signed by the same SigV4 code (aws4, as handlers/lib/aws/signed-http.ts) and sent with node:https; and the
 * same fan-out with the SDK's ApiGatewayManagementApiClient, which the shipped client replaced. Each runs
 * in a process of its own against an HTTPS endpoint in another (so only the poster's CPU is counted), 25
 * posts in flight.
 */
export async function benchPostCpu(options: PostCpuOptions): Promise<FigureResult> {
  const work = mkdtempSync(join(tmpdir(), "bench-post-cpu-"));
  const tls = await certificate(work);
  const bundle = join(bundleHandler(join(__dirname, "lib", "post-loop.ts")), BUNDLE_FILE);
  const stub = await startStub(tls);
  try {
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDBENCHPOSTCPU",
      AWS_SECRET_ACCESS_KEY: "bench-secret",
      AWS_SESSION_TOKEN: "bench-session-token",
      AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: `https://127.0.0.1:${stub.port}/prod`,
      // The stub's self-signed certificate, trusted the way a Lambda trusts API Gateway's: by the CA store.
      NODE_EXTRA_CA_CERTS: tls.cert,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const samples: Record<Variant, { usPerPost: number; postsPerSecond: number }[]> = { "fan-out": [], "fan-out-sdk": [], floor: [] };
    for (let i = 0; i < options.runs; i += 1) {
      for (const variant of VARIANTS) {
        const result = await run(process.execPath, [bundle, JSON.stringify({ variant, posts: options.posts, concurrency: CONCURRENCY })], { env, timeoutMs: 300_000 });
        if (result.code !== 0) throw new Error(`the ${variant} loop failed:\n${outputTail(result)}`);
        const { cpuMs, wallMs, posts } = JSON.parse(result.stdout.trim().split("\n").pop()!) as { cpuMs: number; wallMs: number; posts: number };
        samples[variant].push({ usPerPost: (cpuMs * 1000) / posts, postsPerSecond: (posts / wallMs) * 1000 });
      }
    }
    const cpu = (variant: Variant) => summarize(samples[variant].map((s) => s.usPerPost));
    const rate = (variant: Variant) => summarize(samples[variant].map((s) => s.postsPerSecond));
    const [shipped, sdk, bare] = [cpu("fan-out"), cpu("fan-out-sdk"), cpu("floor")];
    // The budget compares each run with the floor's run of the same round, made seconds apart: a slow or fast
    // spell of the machine moves both, where a ratio of the medians of separate runs moves with the load.
    const paired = summarize(samples["fan-out"].map((s, i) => s.usPerPost / samples.floor[i]!.usPerPost)).median;
    const us = (value: number) => `${Math.round(value)} µs`;
    const runsNote = `${options.runs} runs of ${count(options.posts)} posts`;

    const vcpu = FUNCTION_MB / MB_PER_VCPU;
    const cpuBoundRate = (usPerPost: number) => (vcpu * 1e6) / usPerPost;
    // What the fan-out may spend posting: the function's time less the reserve it keeps (fan-out.ts).
    const postingMs = (timeoutMs: number) => timeoutMs - Math.min(MAX_RESERVE_MS, Math.max(MIN_RESERVE_MS, timeoutMs / 4));
    const recipients = (usPerPost: number, timeoutMs: number) => count((cpuBoundRate(usPerPost) * postingMs(timeoutMs)) / 1000);
    const rows: Row[] = [
      {
        measure: `CPU per post, ${runsNote} (median, range)`,
        ours: range(shipped, us),
        baseline: range(bare, us),
        budget: `≤ ${FLOOR_BUDGET}× the floor`,
        pass: paired <= FLOOR_BUDGET,
        detail: `${paired.toFixed(2)}× the floor (median of the runs' ratios to the floor's run beside them; ${(shipped.median / bare.median).toFixed(2)}× between the medians)`,
      },
      {
        measure: "… the same fan-out posting with the SDK's ApiGatewayManagementApiClient (before)",
        ours: range(sdk, us),
        baseline: range(bare, us),
        detail: `${(sdk.median / bare.median).toFixed(2)}× the floor; the shipped client saves ${us(sdk.median - shipped.median)} a post`,
      },
      { measure: `posts per second on one core here, ${CONCURRENCY} in flight`, ours: range(rate("fan-out"), count), baseline: range(rate("floor"), count) },
      {
        measure: `a ${FUNCTION_MB} MB function (${vcpu.toFixed(3)} vCPU): posts per second its CPU allows`,
        ours: count(cpuBoundRate(shipped.median)),
        baseline: count(cpuBoundRate(bare.median)),
        detail: `with the SDK client: ${count(cpuBoundRate(sdk.median))}`,
      },
      {
        measure: `… recipients one send-message reaches inline (${ms(postingMs(ROUTE_TIMEOUT_MS))} of its ${ms(ROUTE_TIMEOUT_MS)} posting)`,
        ours: recipients(shipped.median, ROUTE_TIMEOUT_MS),
        baseline: recipients(bare.median, ROUTE_TIMEOUT_MS),
        detail: `with the SDK client: ${recipients(sdk.median, ROUTE_TIMEOUT_MS)}`,
      },
      {
        measure: `… recipients one consumer invocation reaches (${ms(postingMs(CONSUMER_TIMEOUT_MS))} of its ${ms(CONSUMER_TIMEOUT_MS)})`,
        ours: recipients(shipped.median, CONSUMER_TIMEOUT_MS),
        baseline: recipients(bare.median, CONSUMER_TIMEOUT_MS),
      },
    ];
    return {
      title: "9. CPU per post inside the fan-out (bundled as shipped, HTTPS endpoint in another process)",
      oursLabel: "fan-out + @connections client (shipped)",
      baselineLabel: "floor: SigV4-signed node:https loop",
      rows,
      notes: [
        `CPU: process.cpuUsage() of the posting process around ${count(options.posts)} posts (after 2,000 warm-up posts), ${CONCURRENCY} in flight, ÷ the posts; the variants alternate run by run, and the budget takes the median of each round's fan-out ÷ floor. The endpoint answers 200 to every post after reading it, over TLS with keep-alive, as API Gateway does; its own CPU is not counted. The floor and the shipped fan-out sign with aws4 (as handlers/lib/aws/signed-http.ts), the SDK variant with the SDK's own signer (@smithy/signature-v4); all with session credentials.`,
        `A ${FUNCTION_MB} MB function: Lambda allocates CPU in proportion to memory, one vCPU at ${count(MB_PER_VCPU)} MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so ${FUNCTION_MB} MB gets ${vcpu.toFixed(3)} of one; this machine's core is taken as one vCPU. Posts per second = that share ÷ CPU per post; recipients = that rate × the time the fan-out may post (the function's timeout less the reserve fan-out.ts keeps: ${ms(POST_TIMEOUT_MS)} post timeout + margin, at most a quarter of the timeout). Latency bounds it too: ${CONCURRENCY} in flight at 20 ms per post is 1,250 posts/s.`,
      ],
    };
  } finally {
    stub.child.kill();
  }
}

/** A self-signed certificate for 127.0.0.1, made with openssl. */
async function certificate(dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  const result = await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
  ]);
  if (result.code !== 0) throw new Error(`openssl could not make a certificate for the HTTPS endpoint:\n${outputTail(result)}`);
  return { key, cert };
}

function startStub(tls: { key: string; cert: string }): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(__dirname, "lib", "stub-connections.cjs"), [tls.key, tls.cert], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (message: { port: number }) => resolve({ child, port: message.port }));
    child.once("exit", (code) => reject(new Error(`the HTTPS endpoint exited with code ${code}`)));
  });
}
