/**
 * Observability through the local runtime, end to end: a chat driven by real `ws` clients against the
 * synthesized stack, the EMF lines its functions print, the /_local/metrics page in Debian's Chromium
 * (skipped with a message without it, unless REQUIRE_BROWSER=1), the alarms evaluated on those figures, and
 * the functions' log lines in Lambda's JSON format.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { expiresAt, keys } from "../handlers/lib/store/table-schema";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import type { MetricsSnapshot } from "../local/observability/local-observability";
import { synthesizeStack } from "../local/terraform/synth";
import { browserTestsEnabled, launchChromium } from "./support/browser";
import { functionResource, synthesizeWorkspace, useBundle, writeBundle, writeVariant, type Workspace } from "./support/local-stacks";
import { LogCollector, TestClient, waitFor } from "./support/ws-client";

const OUTPUT_DIR = join(__dirname, "output");
const testInBrowser = browserTestsEnabled() ? test : test.skip;

/** A connection API Gateway no longer has, as a missed $disconnect leaves it: its first post answers 410. */
async function arrangeVanishedConnection(runtime: LocalRuntime, connectionId: string): Promise<void> {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: runtime.dynamodbEndpoint, region: runtime.region, credentials: runtime.adminCredentials }));
  const TableName = runtime.model.tables[0]!.name;
  const connectedAt = Date.now() - 60_000;
  const listed = { connectionId, connectedAt, userId: connectionId, expiresAt: expiresAt(connectedAt) };
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName, Item: { ...keys.connection(connectionId), connectionId, connectedAt, user: { id: connectionId, name: "ghost", verified: false }, expiresAt: expiresAt(connectedAt) } } },
          { Put: { TableName, Item: { ...keys.broadcast(connectionId), ...listed } } },
        ],
      }),
    );
  } finally {
    client.destroy();
  }
}

/** The EMF documents a function printed, as the runtime's output shows them. */
function emfDocuments(logs: LogCollector, functionName: string): Array<Record<string, any>> {
  const prefix = `[${functionName}] EMF `;
  return logs.lines.filter((line) => line.startsWith(prefix)).map((line) => JSON.parse(line.slice(prefix.length)));
}

describe("a chat through the local runtime", () => {
  let workDir: Workspace;
  let runtime: LocalRuntime;
  const logs = new LogCollector();
  const clients: TestClient[] = [];

  beforeAll(async () => {
    workDir = synthesizeWorkspace("local-metrics");
    // One rejected frame is enough to fire the API's integration-error alarm in this stack.
    const stackDir = synthesizeStack({ outdir: join(workDir.dir, "strict"), env: { CHAT_ALARM_API_INTEGRATION_ERRORS: "1" }, warn: () => undefined });
    runtime = await startLocalRuntime({ stackDir, port: 0, log: logs.log, metricLines: true });

    const connect = async () => {
      const client = await TestClient.connect(runtime.wsUrl);
      clients.push(client);
      return { client, id: (await client.request<{ connectionId: string }>({ action: "whoami" })).connectionId };
    };
    const [alice, bob, carol] = [await connect(), await connect(), await connect()];
    await arrangeVanishedConnection(runtime, "vanishedConn00=");
    for (const member of [alice, bob]) await member.client.request({ action: "join", room: "lobby" });

    // Everyone: bob and carol delivered, the vanished connection stale. The room: bob. Direct: alice.
    expect(await alice.client.request({ action: "send-message", message: "hello all" })).toMatchObject({ delivered: 2, stale: 1, failed: 0 });
    expect(await alice.client.request({ action: "send-message", room: "lobby", message: "hi lobby" })).toMatchObject({ delivered: 1, stale: 0 });
    expect(await carol.client.request({ action: "send-message", to: alice.id, message: "psst" })).toMatchObject({ delivered: 1 });
    // A rejected frame: the function answers 400, which API Gateway counts as an IntegrationError.
    expect(await bob.client.request({ action: "send-message", message: "" })).toMatchObject({ type: "error", code: "INVALID_MESSAGE" });
    await waitFor(() => emfDocuments(logs, "chat-send-message").length === 3, 5000, "three EMF documents from send-message");
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.socket.terminate();
    await runtime?.stop();
    workDir?.remove();
  });

  test("send-message prints one EMF document per message with what each fan-out did", () => {
    const docs = emfDocuments(logs, "chat-send-message");
    expect(docs.map((doc) => doc.Target).sort()).toEqual(["connection", "everyone", "room"]);
    const everyone = docs.find((doc) => doc.Target === "everyone")!;
    expect(everyone).toMatchObject({ MessagesSent: 1, RecipientsDelivered: 2, RecipientsStale: 1, RecipientsFailed: 0, IncompleteFanOuts: 0, Path: "inline", service: "chat" });
    expect(everyone._aws.CloudWatchMetrics[0].Namespace).toBe("WebsocketChat");
    const total = (name: string) => docs.reduce((sum, doc) => sum + doc[name], 0);
    expect([total("MessagesSent"), total("RecipientsDelivered"), total("RecipientsStale"), total("RecipientsFailed")]).toEqual([3, 4, 1, 0]);
    for (const doc of docs) expect(doc.FanOutDuration).toBeGreaterThanOrEqual(0);
  });

  test("the metrics endpoint has the same figures, with the dashboard's widgets and the alarms' local state", async () => {
    const snapshot = (await (await fetch(`${runtime.metricsUrl}.json`)).json()) as MetricsSnapshot;
    const widgets = snapshot.dashboards[0]!.widgets;
    const series = (title: string) => (widgets.find((w) => w.title === title) as Extract<(typeof widgets)[number], { kind: "metric" }>).series;
    expect(Object.fromEntries(series("Recipients").map((s) => [s.label, s.total ?? 0]))).toEqual({ delivered: 4, stale: 1, failed: 0, queued: 0 });
    expect(Object.fromEntries(series("Messages sent, by target").map((s) => [s.label, s.total ?? 0]))).toEqual({ everyone: 1, room: 1, connection: 1, user: 0 });
    // The dashboard's percentiles have figures: the store keeps the values of the metrics they are asked of.
    for (const { label, total } of series("Fan-out duration (ms)").filter((s) => s.label.startsWith("p") && !s.label.includes("queue"))) {
      expect({ label, total }).toEqual({ label, total: expect.any(Number) });
    }
    const alarm = (name: string) => snapshot.alarms.find((a) => a.name === name)!;
    expect(alarm("chat-api-integration-errors")).toMatchObject({ state: "ALARM", value: 1 });
    expect(alarm("chat-failed-deliveries").state).toBe("OK");
    expect(alarm("chat-send-message-errors")).toMatchObject({ state: "OK", value: 0 });
    expect(alarm("chat-send-message-throttles")).toMatchObject({ state: "NOT_EVALUATED", reason: expect.stringMatching(/throttles only functions with a reserved concurrency/) });
    // The abuse alarms are evaluated on the runtime's own counts: three handshakes, every frame in and out.
    expect(alarm("chat-api-connects")).toMatchObject({ state: "OK", value: 3, reason: "Sum 3; fires at Sum ≥ 3000 in the last 5 min" });
    expect(alarm("chat-api-messages")).toMatchObject({ state: "OK", value: expect.any(Number) });
    expect(alarm("chat-api-messages").value).toBeGreaterThanOrEqual(14);
    // Every fan-out here was inline: the queue is empty, its oldest message 0 s old.
    expect(alarm("chat-fan-out-queue-age")).toMatchObject({ state: "OK", value: 0 });
  });

  describe("the /_local/metrics page in Chromium", () => {
    let browser: Browser;
    let page: Page;
    const pageErrors: Error[] = [];
    /** Console errors: a CSP violation, a missing file. */
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      if (!browserTestsEnabled()) return;
      browser = await launchChromium();
      page = await (await browser.newContext({ viewport: { width: 1100, height: 1500 } })).newPage();
      page.on("pageerror", (error) => pageErrors.push(error));
      page.on("console", (message) => void (message.type() === "error" && consoleErrors.push(message.text())));
      await page.goto(runtime.metricsUrl);
    }, 30_000);

    afterAll(async () => {
      await browser?.close();
    });

    const total = (widget: string, label: string) => page.locator(`[data-widget="${widget}"] li[data-label="${label}"] [data-total]`);

    testInBrowser("charts the counts the chat just produced, drawn without a build step", async () => {
      await expect(waitFor(async () => (await total("Recipients", "delivered").textContent()) === "4", 10_000, "the delivered total")).resolves.toBe(true);
      expect(await total("Recipients", "stale").textContent()).toBe("1");
      expect(await total("Recipients", "failed").textContent()).toBe("0");
      for (const target of ["everyone", "room", "connection"]) expect(await total("Messages sent, by target", target).textContent()).toBe("1");
      expect(await total("Connections and messages (API Gateway)", "connects").textContent()).toBe("3");
      // A line per series in the chart, drawn from the same figures.
      expect(await page.locator('[data-widget="Recipients"] svg path').count()).toBeGreaterThanOrEqual(3);
      expect(await page.locator('[data-widget="Fan-out duration (ms)"] li[data-label="p99"] [data-total]').textContent()).toMatch(/^\d+(\.\d)?$/);

      mkdirSync(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: join(OUTPUT_DIR, "metrics-page.png"), fullPage: true });
      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
    });

    testInBrowser("draws charts with value and time axes, and the chat's lines in the pixels of a screenshot", async () => {
      const chart = page.locator('[data-widget="Recipients"] .chart svg');
      const yTicks = await chart.locator(".y-tick").allTextContents();
      expect(yTicks.length).toBeGreaterThanOrEqual(3);
      expect(yTicks[0]).toBe("0");
      expect(yTicks.map(Number)).toEqual([...yTicks.map(Number)].sort((a, b) => a - b));
      const xTicks = await chart.locator(".x-tick").allTextContents();
      expect(xTicks.length).toBeGreaterThanOrEqual(3);
      for (const tick of xTicks) expect(tick).toMatch(/^\d\d:\d\d$/);

      // Pixels in the colour of the first series (delivered), counted in Chromium from a PNG of the chart.
      const png = await chart.screenshot();
      const decoder = await page.context().newPage();
      try {
        const counts = await decoder.evaluate(async (dataUrl) => {
          const image = new Image();
          image.src = dataUrl;
          await image.decode();
          const canvas = document.createElement("canvas");
          [canvas.width, canvas.height] = [image.width, image.height];
          const context = canvas.getContext("2d")!;
          context.drawImage(image, 0, 0);
          const { data } = context.getImageData(0, 0, image.width, image.height);
          let series = 0;
          let ink = 0;
          for (let i = 0; i < data.length; i += 4) {
            const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
            if (Math.abs(r - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40) series += 1;
            if (r < 200 || g < 200 || b < 200) ink += 1;
          }
          return { series, ink };
        }, `data:image/png;base64,${png.toString("base64")}`);
        expect(counts.series).toBeGreaterThan(10);
        expect(counts.ink).toBeGreaterThan(counts.series);
      } finally {
        await decoder.close();
      }
    });

    testInBrowser("shows a period's values on hover", async () => {
      const area = page.locator('[data-widget="Recipients"] .hover-area');
      const tooltip = page.locator('[data-widget="Recipients"] [data-testid="tooltip"]');
      // The page redraws its charts on every refresh: a hover area replaced at that moment has no box yet.
      const onScreen = async () => {
        for (let tries = 0; tries < 40; tries++) {
          await area.waitFor({ state: "visible" });
          const box = await area.boundingBox();
          if (box) return box;
        }
        throw new Error("the Recipients chart has no hover area on screen");
      };
      // From the right edge leftwards, to the latest period with figures (the current one may have none yet).
      let shown: string | null = null;
      for (let step = 0; step < 12 && !shown; step++) {
        // Read again each step: a redraw between two moves replaces the area, and the pointer must enter the new one.
        const box = await onScreen();
        await page.mouse.move(0, 0);
        await page.mouse.move(box.x + box.width - 1 - step * (box.width / 60), box.y + box.height / 2);
        if (!(await tooltip.waitFor({ state: "visible", timeout: 2_000 }).then(() => true, () => false))) continue;
        const value = await tooltip.locator('[data-label="delivered"] b').textContent();
        if (value && /^\d+$/.test(value)) shown = value;
      }
      expect(Number(shown)).toBeGreaterThan(0);
      expect(await tooltip.locator(".time").textContent()).toMatch(/^\d\d:\d\d:\d\d–\d\d:\d\d:\d\d$/);
      expect(await tooltip.locator("[data-label]").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-label")))).toEqual(["delivered", "stale", "failed", "queued"]);
      await page.mouse.move(0, 0);
      await tooltip.waitFor({ state: "hidden" });
    });

    testInBrowser("leads with a one-line alarm summary, the details collapsed, each alarm listed once in plain words", async () => {
      const { alarms } = runtime.observability.snapshot();
      const count = (state: string) => alarms.filter((a) => a.state === state).length;
      expect(count("ALARM")).toBe(1);
      await expect(
        waitFor(async () => (await page.locator('[data-testid="alarm-summary"]').textContent())?.includes("firing"), 10_000, "the alarm summary"),
      ).resolves.toBe(true);
      expect(await page.locator('[data-testid="alarm-summary"]').textContent()).toBe(
        `${alarms.length} alarms: 1 firing (chat-api-integration-errors) · ${count("OK")} OK · ${count("NOT_EVALUATED")} not evaluated here`,
      );
      const details = page.locator('[data-testid="alarms"]');
      expect(await details.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
      expect(await page.locator('tr[data-alarm="chat-api-integration-errors"]').isVisible()).toBe(false);

      const text = await page.locator("body").innerText();
      expect(text).not.toContain("Dashboard chat-");
      expect(text.split("chat-send-message-errors").length - 1).toBe(0);
      await page.locator('[data-testid="alarm-summary"]').click();
      expect(await page.locator('tr[data-alarm="chat-api-integration-errors"]').isVisible()).toBe(true);
      const opened = await page.locator("body").innerText();
      expect(opened.split("chat-send-message-errors").length - 1).toBe(1);
      expect(opened).not.toMatch(/(GreaterThan|LessThan)\w*Threshold/);
      expect(await page.locator('tr[data-alarm="chat-api-integration-errors"]').textContent()).toMatch(/Sum ≥ 1 in the last 5 min \(now Sum \d+\)/);
    });

    testInBrowser("lists the alarms with whether they would fire here, and says which cannot be evaluated locally", async () => {
      const state = (name: string) => page.locator(`tr[data-alarm="${name}"]`).getAttribute("data-state");
      expect(await state("chat-api-integration-errors")).toBe("ALARM");
      expect(await state("chat-failed-deliveries")).toBe("OK");
      expect(await state("chat-send-message-throttles")).toBe("NOT_EVALUATED");
      expect(await page.locator('tr[data-alarm="chat-send-message-throttles"]').textContent()).toMatch(/throttles only functions with a reserved concurrency/);
    });

    testInBrowser("updates while the chat goes on", async () => {
      const before = Number(await total("Messages sent, by target", "everyone").textContent());
      const [sender] = clients;
      expect(await sender!.request({ action: "send-message", message: "one more" })).toMatchObject({ type: "sent" });
      await expect(
        waitFor(async () => Number(await total("Messages sent, by target", "everyone").textContent()) === before + 1, 10_000, "the page to count the new message"),
      ).resolves.toBe(true);
    });
  });
});

describe("function logs through the local runtime", () => {
  let workspace: Workspace;
  let runtime: LocalRuntime;
  const logs = new LogCollector();

  beforeAll(async () => {
    workspace = synthesizeWorkspace("local-logs");
    // Every @connections call refused: each recipient fails after its retries and is logged.
    runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log, managementFailureRate: 1 });
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    workspace?.remove();
  });

  test("a function's lines are Lambda's JSON lines: the invocation's request id, the connection, never the message or the token", async () => {
    const [alice, bob] = [await TestClient.connect(runtime.wsUrl), await TestClient.connect(runtime.wsUrl)];
    try {
      const aliceId = (await alice.request<{ connectionId: string }>({ action: "whoami" })).connectionId;
      await bob.request({ action: "whoami" });
      expect(await alice.request({ action: "send-message", message: "a very private body" }, 15_000)).toMatchObject({ failed: 1 });

      const lines = logs.lines.filter((line) => line.startsWith("[chat-send-message] ") && !line.startsWith("[chat-send-message] EMF "));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const [, level, requestId, message] = /^\[chat-send-message\] (\w+) ([0-9a-f-]{36}) (\{.*\})/.exec(line) ?? [];
        expect({ line, level }).toEqual({ line, level: "ERROR" });
        expect(requestId).toMatch(/^[0-9a-f]{8}-/);
        expect(JSON.parse(message!)).toMatchObject({ route: "send-message", connectionId: aliceId, errorType: "LimitExceededException" });
      }
      expect(logs.lines.join("\n")).not.toContain("a very private body");
    } finally {
      alice.socket.terminate();
      bob.socket.terminate();
    }
  }, 30_000);

  test("the console follows the function's logging_config: calls below its application log level print nothing", async () => {
    const variant = writeVariant(workspace, "levels", (tf, variantDir) => {
      const probe = writeBundle(
        variantDir,
        "levels",
        'exports.handler = async () => { console.debug("a debug line"); console.info({ probe: "an info line" }); console.warn("a warn", "line"); return { statusCode: 200, body: "{}" }; };',
      );
      useBundle(tf, "chat-default", probe);
      functionResource(tf, "chat-default")[1].logging_config.application_log_level = "WARN";
    });
    const levels = new LogCollector();
    const quiet = await startLocalRuntime({ stackDir: variant, port: 0, log: levels.log });
    try {
      const client = await TestClient.connect(quiet.wsUrl);
      await client.exchange({ action: "anything" });
      client.socket.terminate();
      expect(await levels.waitFor(/^\[chat-default\] WARN /)).toMatch(/^\[chat-default\] WARN [0-9a-f-]{36} a warn line$/);
      expect(levels.lines.join("\n")).not.toMatch(/a debug line|an info line/);
    } finally {
      await quiet.stop();
    }
  }, 30_000);
});
