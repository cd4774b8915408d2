/**
 * API Gateway's account-level throttle on @connections in the local runtime: a token bucket (rate and burst),
 * the region's quota by default, 429 LimitExceededException beyond it as the real SDK sees it.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { performance } from "node:perf_hooks";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { accountRateLimit, TokenBucket } from "../local/services/account-throttle";
import { synthesizeWorkspace, type Workspace } from "./support/local-stacks";
import { TestClient } from "./support/ws-client";

describe("the token bucket", () => {
  test("a full bucket lets a burst through, then refills at the rate", () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 }, () => now);
    const takes = (n: number) => Array.from({ length: n }, () => bucket.take()).filter(Boolean).length;
    expect(takes(8)).toBe(5);
    now += 250; // 2.5 tokens
    expect(takes(5)).toBe(2);
    now += 10_000; // never more than the burst
    expect(takes(10)).toBe(5);
  });

  test("the default is the region's quota: 10,000 per second with a burst of 5,000, or 2,500 and 1,250 in newer regions", () => {
    expect(accountRateLimit("us-east-1")).toEqual({ ratePerSecond: 10_000, burst: 5_000 });
    expect(accountRateLimit("eu-central-2")).toEqual({ ratePerSecond: 2_500, burst: 1_250 });
  });
});

describe("@connections beyond the account's throttle", () => {
  const RATE = 50;
  const BURST = 20;
  let workspace: Workspace;
  let runtime: LocalRuntime;
  let client: TestClient;
  let connectionId: string;
  let api: ApiGatewayManagementApiClient;

  beforeAll(async () => {
    workspace = synthesizeWorkspace("local-throttle");
    runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, accountThrottle: { ratePerSecond: RATE, burst: BURST }, log: () => undefined });
    client = await TestClient.connect(runtime.wsUrl);
    connectionId = (await client.request<{ connectionId: string }>({ action: "hello" })).connectionId;
    api = new ApiGatewayManagementApiClient({ endpoint: runtime.managementUrl, region: runtime.region, credentials: runtime.adminCredentials, maxAttempts: 1 });
  }, 60_000);

  afterAll(async () => {
    api?.destroy();
    client?.socket.terminate();
    await runtime?.stop();
    workspace?.remove();
  });

  /** Posts once; true when delivered, false when throttled (anything else fails the test). */
  async function post(data: string): Promise<boolean> {
    try {
      await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(data) }));
      return true;
    } catch (error) {
      expect(error).toMatchObject({ name: "LimitExceededException", $metadata: { httpStatusCode: 429 } });
      return false;
    }
  }

  test("a burst beyond the bucket gets 429s, and exactly the posts that succeed reach the client", async () => {
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => post(`burst-${i}`)));
    const seconds = (performance.now() - started) / 1000;
    const delivered = results.filter(Boolean).length;
    expect(delivered).toBeGreaterThanOrEqual(BURST);
    expect(delivered).toBeLessThanOrEqual(BURST + Math.ceil(RATE * seconds));
    expect(results.filter((ok) => !ok).length).toBeGreaterThan(0);
    const frames: string[] = [];
    for (let i = 0; i < delivered; i += 1) frames.push(await client.next());
    expect(frames.every((frame) => frame.startsWith("burst-"))).toBe(true);
    expect(client.unread).toEqual([]);
  });

  test("over time the rate holds: posts sent as fast as they are answered succeed at the configured rate", async () => {
    const started = performance.now();
    let delivered = 0;
    let attempts = 0;
    // Eight posters at once, so that even on a loaded machine the attempts far outrun the rate.
    const poster = async () => {
      while (performance.now() - started < 2_000) {
        attempts += 1;
        if (await post(`steady-${attempts}`)) delivered += 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, poster));
    const seconds = (performance.now() - started) / 1000;
    // Far more attempts than the rate allows, so the bucket, not the loop, sets the pace.
    expect(attempts).toBeGreaterThan(2 * RATE * seconds);
    expect(delivered).toBeLessThanOrEqual(BURST + Math.ceil(RATE * seconds));
    expect(delivered).toBeGreaterThanOrEqual(Math.floor(RATE * seconds * 0.8));
  });
});
