/**
 * The browser client (web/) in Debian's Chromium, against the real local runtime: the synthesized stack,
 * its bundled handlers, dynalite. Skipped with a message when Chromium is missing, unless REQUIRE_BROWSER=1.
 */
import { ApiGatewayManagementApiClient, DeleteConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { browserTestsEnabled, launchChromium } from "./support/browser";

const OUTPUT_DIR = join(__dirname, "output");
const VIEWPORT = { width: 760, height: 520 };

const describeInBrowser = browserTestsEnabled() ? describe : describe.skip;

describeInBrowser("web client in Chromium", () => {
  let workDir: string;
  let runtime: LocalRuntime;
  let browser: Browser;
  let context: BrowserContext;
  /** Uncaught exceptions in any page of the current test: the page must have none. */
  let pageErrors: Error[];

  beforeAll(async () => {
    // Launch first: without a browser there is no point synthesizing, and the error says how to install it.
    browser = await launchChromium();
    workDir = mkdtempSync(join(tmpdir(), "web-client-"));
    const stackDir = synthesizeStack({ outdir: join(workDir, "cdktf.out"), env: {} });
    runtime = await startLocalRuntime({ stackDir, host: "127.0.0.1", port: 0, log: () => undefined });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    pageErrors = [];
    // Without a browser beforeAll has already failed every test with the reason; do not add noise to it.
    if (browser) context = await browser.newContext({ viewport: VIEWPORT });
  });

  afterEach(async () => {
    if (!context) return;
    await context.close();
    expect(pageErrors).toEqual([]);
  });

  /** Opens the page and waits until it is connected and knows its connection id. */
  async function openChat(): Promise<{ page: Page; id: string }> {
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error));
    await page.goto(runtime.httpUrl);
    const id = await connectionId(page);
    return { page, id };
  }

  /** The page's connection id once it is connected; with `previous`, once it has a different one. */
  async function connectionId(page: Page, previous?: string): Promise<string> {
    await page.locator('[data-testid="status"][data-state="open"]').waitFor();
    let myId = page.getByTestId("my-id").filter({ hasNotText: "…" });
    if (previous) myId = myId.filter({ hasNotText: previous });
    await myId.waitFor();
    return (await myId.textContent()) ?? "";
  }

  async function send(page: Page, message: string): Promise<void> {
    await page.getByTestId("message-input").fill(message);
    await page.getByTestId("message-input").press("Enter");
  }

  async function joinRoom(page: Page, room: string): Promise<void> {
    await page.getByTestId("room-input").fill(room);
    await page.getByTestId("room-input").press("Enter");
    await page.locator(`[data-testid="room"][data-room="${room}"][data-state="joined"]`).waitFor();
  }

  it("two pages chat: B sees A's message with A's id and the time, A sees it delivered", async () => {
    const a = await openChat();
    const b = await openChat();
    const before = Date.now();

    await send(a.page, "hello <b>from A</b>");

    const received = b.page.getByTestId("message").filter({ hasText: "hello" });
    await received.waitFor();
    expect(await received.getAttribute("data-from")).toBe(a.id);
    expect(await received.getByTestId("sender").getAttribute("title")).toContain(a.id);
    // Text, never markup: the angle brackets arrive as characters.
    expect(await received.locator(".text").textContent()).toBe("hello <b>from A</b>");
    expect(await b.page.locator("#log b").count()).toBe(0);
    const time = received.getByTestId("time");
    expect(await time.textContent()).toMatch(/\d{1,2}:\d{2}:\d{2}/);
    const sentAt = Date.parse((await time.getAttribute("datetime")) ?? "");
    expect(sentAt).toBeGreaterThanOrEqual(before - 1000);
    expect(sentAt).toBeLessThanOrEqual(Date.now() + 1000);

    const ack = a.page.locator('[data-testid="own-message"] [data-testid="ack"][data-state="sent"]');
    await ack.waitFor();
    expect(await ack.textContent()).toBe("delivered to 1");

    await send(b.page, "hi A, B here");
    await a.page.getByTestId("message").filter({ hasText: "B here" }).waitFor();
    await b.page.locator('[data-testid="ack"][data-state="sent"]').waitFor();
    await writeSideBySide([a.page, b.page], join(OUTPUT_DIR, "web-chat.png"));
  });

  it("a message to a room reaches its members, labelled with the room, and no one else", async () => {
    const a = await openChat();
    const b = await openChat();
    const outsider = await openChat();
    await joinRoom(a.page, "lobby");
    await joinRoom(b.page, "lobby");
    // Joining from the form makes the room the target.
    expect(await a.page.getByTestId("target").inputValue()).toBe("room:lobby");

    await send(a.page, "lobby only");

    const received = b.page.locator('[data-testid="message"][data-room="lobby"]');
    await received.waitFor();
    expect(await received.getAttribute("data-from")).toBe(a.id);
    expect(await received.getByTestId("badge-room").textContent()).toBe("#lobby");
    await a.page.locator('[data-testid="ack"][data-state="sent"]').waitFor();
    expect(await a.page.getByTestId("ack").textContent()).toBe("delivered to 1");
    expect(await outsider.page.getByTestId("message").count()).toBe(0);
  });

  it("an error frame is shown with its code and message, and the page stays connected", async () => {
    const a = await openChat();
    await a.page.getByTestId("target").selectOption("direct");
    await a.page.getByTestId("to-input").fill("NoSuchConnection=");

    await send(a.page, "anyone there?");

    const error = a.page.locator('[data-testid="error"][data-code="UNKNOWN_RECIPIENT"]');
    await error.waitFor();
    expect(await error.getByRole("alert").count()).toBe(1);
    expect(await error.textContent()).toMatch(/UNKNOWN_RECIPIENT.*send-message.*connection/s);
    expect(await a.page.getByTestId("ack").getAttribute("data-state")).toBe("failed");
    expect(await a.page.getByTestId("status").getAttribute("data-state")).toBe("open");
  });

  it("reconnects after the server drops the connection, re-joins its rooms and can send again", async () => {
    const a = await openChat();
    const b = await openChat();
    await joinRoom(a.page, "lobby");
    await joinRoom(b.page, "lobby");
    await recordStatusChanges(a.page);

    await dropConnection(a.id);

    const newId = await connectionId(a.page, a.id);
    expect(await statusChanges(a.page)).toEqual(expect.arrayContaining(["reconnecting", "open"]));
    // Frames are handled concurrently, so a send racing the re-join could be answered NOT_A_MEMBER.
    await a.page.locator('[data-testid="room"][data-room="lobby"][data-state="joined"]').waitFor();
    await send(a.page, "back again");
    const received = b.page.getByTestId("message").filter({ hasText: "back again" });
    await received.waitFor();
    expect(await received.getAttribute("data-from")).toBe(newId);
    expect(await received.getAttribute("data-room")).toBe("lobby");
    expect(await a.page.getByTestId("error").count()).toBe(0);
  });

  /**
   * Closes a connection from the server side with DELETE @connections/{id}, signed by the real SDK: the local
   * management API checks SigV4 and IAM as AWS does.
   */
  async function dropConnection(connectionId: string): Promise<void> {
    const client = new ApiGatewayManagementApiClient({
      endpoint: runtime.managementUrl,
      region: runtime.region,
      credentials: runtime.adminCredentials,
    });
    try {
      await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } finally {
      client.destroy();
    }
  }
});

/** Keeps every value the status indicator takes, so a short-lived "reconnecting" is not missed. */
async function recordStatusChanges(page: Page): Promise<void> {
  await page.evaluate(() => {
    const status = document.getElementById("status")!;
    const seen: string[] = [];
    (window as unknown as { statusChanges: string[] }).statusChanges = seen;
    new MutationObserver(() => seen.push(status.dataset.state ?? "")).observe(status, {
      attributes: true,
      attributeFilter: ["data-state"],
    });
  });
}

async function statusChanges(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { statusChanges: string[] }).statusChanges);
}

/** Screenshots the pages and puts them side by side in one PNG, for a human to look at. */
async function writeSideBySide(pages: readonly Page[], path: string): Promise<void> {
  const shots = await Promise.all(pages.map((page) => page.screenshot()));
  const sheet = await pages[0].context().newPage();
  try {
    await sheet.setViewportSize({ width: VIEWPORT.width * pages.length + 8 * (pages.length + 1), height: VIEWPORT.height + 16 });
    const images = shots.map((png) => `<img src="data:image/png;base64,${png.toString("base64")}">`).join("");
    await sheet.setContent(
      `<body style="margin:0;padding:8px;display:flex;gap:8px;background:#8a94a6">${images}</body>`,
    );
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await sheet.screenshot({ path });
  } finally {
    await sheet.close();
  }
}
