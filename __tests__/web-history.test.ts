/**
 * The browser page's room history in Debian's Chromium, against the real local runtime (anonymous mode):
 * messages in seq order, catching up after the page was offline, a gap read from history, "Load earlier".
 * The other side of each conversation is a real `ws` client. Skipped like web-client.test.ts without
 * Chromium, unless REQUIRE_BROWSER=1.
 */
import { DeleteConnectionCommand, ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { browserTestsEnabled, launchChromium } from "./support/browser";
import { TestClient } from "./support/ws-client";

const describeInBrowser = browserTestsEnabled() ? describe : describe.skip;

describeInBrowser("room history in the web page", () => {
  let browser: Browser;
  let runtime: LocalRuntime;
  let workDir: string;
  let contexts: BrowserContext[] = [];
  let clients: TestClient[] = [];
  let pageErrors: Error[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    workDir = mkdtempSync(join(tmpdir(), "web-history-"));
    const stackDir = synthesizeStack({ outdir: join(workDir, "cdktf.out"), env: { CHAT_AUTH: "none" }, warn: () => undefined });
    runtime = await startLocalRuntime({ stackDir, host: "127.0.0.1", port: 0, log: () => undefined });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    const errors = pageErrors;
    pageErrors = [];
    expect(errors).toEqual([]);
  });

  /** A page signed in as `name`, in `room`; `route` may stand between it and the server. */
  async function openPage(name: string, room: string, route?: (ws: WebSocketRoute) => void): Promise<{ page: Page; context: BrowserContext; id: string }> {
    const context = await browser.newContext({ viewport: { width: 760, height: 520 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error));
    if (route) await page.routeWebSocket(/\/prod(\?|$)/, route);
    await page.goto(runtime.httpUrl);
    await page.getByTestId("name-input").fill(name);
    await page.getByTestId("name-input").press("Enter");
    const id = await connectionId(page);
    await page.getByTestId("room-input").fill(room);
    await page.getByTestId("room-input").press("Enter");
    await page.locator(`[data-testid="room"][data-room="${room}"][data-state="joined"]`).waitFor();
    return { page, context, id };
  }

  async function sender(room: string): Promise<TestClient> {
    const client = await TestClient.connect(runtime.wsUrl);
    clients.push(client);
    expect(await client.request({ action: "join", room })).toMatchObject({ type: "joined" });
    return client;
  }

  /**
   * Sends `texts` to `room` from `senders` taking turns, all at once; the replies sorted by seq. A frame
   * over a sender's rate limit (or a busy room) is sent again after `retryAfterMs`, as a client would.
   */
  async function sendAll(senders: TestClient[], room: string, texts: string[]): Promise<{ id: string; seq: number; text: string }[]> {
    const sendOne = async (sender: TestClient, text: string, requestId: string): Promise<{ type: string; id: string; seq: number }> => {
      for (;;) {
        const reply = await sender.request({ action: "send-message", room, message: text, requestId });
        if (reply.type !== "error" || reply.code !== "RATE_LIMITED") return reply;
        await new Promise((resolve) => setTimeout(resolve, Number(reply.retryAfterMs) || 200));
      }
    };
    const replies = await Promise.all(texts.map(async (text, i) => ({ ...(await sendOne(senders[i % senders.length]!, text, `load-${room}-${i}`)), text })));
    for (const reply of replies) expect(reply).toMatchObject({ type: "sent", seq: expect.any(Number) });
    return replies.sort((a, b) => a.seq - b.seq);
  }

  /** The room's messages as the page shows them, top to bottom. */
  function shown(page: Page, room: string): Promise<{ id: string; seq: number; text: string }[]> {
    return page.evaluate(
      (room) =>
        Array.from(document.querySelectorAll<HTMLElement>('#log [data-testid="message"]'))
          .filter((entry) => entry.dataset.room === room)
          .map((entry) => ({ id: entry.dataset.messageId ?? "", seq: Number(entry.dataset.seq), text: entry.querySelector(".text")?.textContent ?? "" })),
      room,
    );
  }

  async function waitForCount(page: Page, room: string, count: number, timeout = 20_000): Promise<void> {
    await page.waitForFunction(
      ({ room, count }) => Array.from(document.querySelectorAll<HTMLElement>('#log [data-testid="message"]')).filter((entry) => entry.dataset.room === room).length >= count,
      { room, count },
      { timeout },
    );
  }

  it("after being offline, the page shows every room message sent meanwhile once, in seq order", async () => {
    const others = [await sender("lobby"), await sender("lobby")];
    const { page, context, id } = await openPage("Ann", "lobby");
    const before = await sendAll(others, "lobby", ["before 1", "before 2"]);
    await waitForCount(page, "lobby", 2);

    // Offline, so that the page cannot reconnect at once; then its socket is dropped by the server.
    await context.setOffline(true);
    await managementApi(runtime, (client) => client.send(new DeleteConnectionCommand({ ConnectionId: id })));
    await page.locator('[data-testid="status"]:not([data-state="open"])').waitFor();
    const away = await sendAll(others, "lobby", Array.from({ length: 20 }, (_, i) => `away ${i + 1}`));
    await context.setOffline(false);

    await connectionId(page, id);
    // Sent while the page is catching up: live above its joined seq, or read from history, once either way.
    const after = await sendAll(others, "lobby", ["after 1", "after 2", "after 3"]);
    const expected = [...before, ...away, ...after];
    await waitForCount(page, "lobby", expected.length);
    await page.waitForTimeout(500);
    expect(await shown(page, "lobby")).toEqual(expected.map(({ id, seq, text }) => ({ id, seq, text })));
  }, 90_000);

  it("a reload catches up from the last seq the tab showed, kept in sessionStorage with its rooms", async () => {
    const other = await sender("reloads");
    const { page, context, id } = await openPage("Dee", "reloads");
    await sendAll([other], "reloads", ["seen 1", "seen 2"]);
    await waitForCount(page, "reloads", 2);

    await context.setOffline(true);
    await managementApi(runtime, (client) => client.send(new DeleteConnectionCommand({ ConnectionId: id })));
    const away = await sendAll([other], "reloads", Array.from({ length: 5 }, (_, i) => `away ${i + 1}`));
    await context.setOffline(false);
    await page.reload();

    await connectionId(page, id);
    await waitForCount(page, "reloads", 5);
    await page.waitForTimeout(500);
    // A new page shows what it missed, and not what the tab showed before the reload.
    expect(await shown(page, "reloads")).toEqual(away.map(({ id, seq, text }) => ({ id, seq, text })));
  }, 60_000);

  it("room messages that arrive out of order are shown in seq order", async () => {
    const other = await sender("order");
    let held: string | undefined;
    // "first" is held back until "second" has been delivered, as two posts to a page may overtake.
    const { page } = await openPage("Eve", "order", (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onClose((code, reason) => ws.close({ code, reason }));
      server.onMessage((message) => {
        const frame = JSON.parse(String(message)) as { type?: string; message?: string };
        if (frame.type === "message" && frame.message === "first") return void (held = String(message));
        ws.send(message);
        if (frame.type === "message" && frame.message === "second" && held) ws.send(held);
      });
    });
    const sent = [...(await sendAll([other], "order", ["first"])), ...(await sendAll([other], "order", ["second"]))];
    await waitForCount(page, "order", 2);
    expect(await shown(page, "order")).toEqual(sent.map(({ id, seq, text }) => ({ id, seq, text })));
  }, 60_000);

  it("a live message that skips a seq makes the page read the missing one from history", async () => {
    const [other] = [await sender("gaps")];
    // The server's frames reach the page, except the message "lost on the way".
    const { page } = await openPage("Ben", "gaps", (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => server.send(message));
      server.onClose((code, reason) => ws.close({ code, reason }));
      server.onMessage((message) => {
        const frame = JSON.parse(String(message)) as { type?: string; message?: string };
        if (!(frame.type === "message" && frame.message === "lost on the way")) ws.send(message);
      });
    });
    const sent = await sendAll([other!], "gaps", ["one"]);
    await waitForCount(page, "gaps", 1);
    sent.push(...(await sendAll([other!], "gaps", ["lost on the way"])));
    sent.push(...(await sendAll([other!], "gaps", ["three"])));
    await waitForCount(page, "gaps", 3);
    expect(await shown(page, "gaps")).toEqual(sent.map(({ id, seq, text }) => ({ id, seq, text })));
  }, 60_000);

  it('"Load earlier" pages back through the room\'s history, oldest at the top, until there is no more', async () => {
    const other = await sender("archive");
    const old = await sendAll([other], "archive", Array.from({ length: 45 }, (_, i) => `old ${i + 1}`));
    const { page } = await openPage("Cy", "archive");
    const live = await sendAll([other], "archive", ["new"]);
    await waitForCount(page, "archive", 1);

    const earlier = page.getByTestId("load-earlier");
    await earlier.click();
    await waitForCount(page, "archive", 31);
    expect((await shown(page, "archive")).map((message) => message.text)).toEqual([...old.slice(15), ...live].map((message) => message.text));
    await earlier.click();
    await waitForCount(page, "archive", 46);
    expect(await shown(page, "archive")).toEqual([...old, ...live].map(({ id, seq, text }) => ({ id, seq, text })));
    await earlier.waitFor({ state: "detached" });
  }, 60_000);
});

/** The page's connection id once it is connected; with `previous`, once it has another one. */
async function connectionId(page: Page, previous?: string): Promise<string> {
  await page.locator('[data-testid="status"][data-state="open"]').waitFor({ timeout: 30_000 });
  let selector = '[data-testid="me"]:not([data-connection-id=""])';
  if (previous) selector += `:not([data-connection-id="${previous}"])`;
  const me = page.locator(selector);
  await me.waitFor({ timeout: 30_000 });
  return (await me.getAttribute("data-connection-id")) ?? "";
}

async function managementApi<T>(runtime: LocalRuntime, use: (client: ApiGatewayManagementApiClient) => Promise<T>): Promise<T> {
  const client = new ApiGatewayManagementApiClient({ endpoint: runtime.managementUrl, region: runtime.region, credentials: runtime.adminCredentials });
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}
