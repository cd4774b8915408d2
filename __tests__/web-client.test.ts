/**
 * The browser client (web/) in Debian's Chromium, against the real local runtime: the synthesized stack,
 * its bundled handlers, dynalite; in auth mode jwt, also its authorizer and the local issuer. Skipped with a
 * message when Chromium is missing, unless REQUIRE_BROWSER=1.
 *
 * Frames the server sends a page are real: replies are reordered or rewritten on their way through
 * Playwright's WebSocket routing (as AWS may reorder them), and extra frames are posted with the real
 * @connections API, as a handler (or a redelivery) would.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, WebSocketRoute } from "playwright-core";
import { localUserId } from "../local/identity-provider/local-issuer";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { synthesizeStack } from "../local/terraform/synth";
import { browserTestsEnabled, launchChromium } from "./support/browser";
import { synthesizeJwtWorkspace } from "./support/local-stacks";

const OUTPUT_DIR = join(__dirname, "output");
const VIEWPORT = { width: 760, height: 520 };

const describeInBrowser = browserTestsEnabled() ? describe : describe.skip;

interface Chat {
  readonly page: Page;
  /** The connection id the page shows in its header's tooltip. */
  readonly id: string;
  readonly userId: string;
}

/** What a test may do to the frames between a page and the server (Playwright's WebSocket routing). */
interface FrameTap {
  /** Replies (`sent`, `error`) held back instead of delivered, until released. */
  holdReplies: boolean;
  readonly held: string[];
  /** Rewrites a reply on its way to the page. */
  rewriteReply?: (frame: Record<string, unknown>) => Record<string, unknown>;
  /** Frames from the page that never reach the server. */
  dropFromPage?: (frame: Record<string, unknown>) => boolean;
  /** Rewrites a frame from the page on its way to the server. */
  rewriteFromPage?: (frame: Record<string, unknown>) => Record<string, unknown>;
  /** Delivers `frame` to the page as if the server had sent it. */
  deliver(frame: string): void;
}

/**
 * One runtime and one browser per describe; a browser context per user (pages of one context share the
 * remembered name, as tabs do). Every page must end its test without an uncaught exception.
 */
function useChatPages(browser: () => Browser, startRuntime: (workDir: string) => Promise<LocalRuntime>) {
  const env = {} as { runtime: LocalRuntime };
  let workDir: string;
  let contexts: BrowserContext[] = [];
  let pageErrors: Error[] = [];

  beforeAll(async () => {
    // Without a browser the outer beforeAll has already failed every test with the reason.
    if (!browser()) return;
    workDir = mkdtempSync(join(tmpdir(), "web-client-"));
    env.runtime = await startRuntime(workDir);
  }, 60_000);

  afterAll(async () => {
    await env.runtime?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    contexts = [];
    const errors = pageErrors;
    pageErrors = [];
    expect(errors).toEqual([]);
  });

  /** A fresh browser profile (its own localStorage) with one page, not yet navigated. */
  async function newPage(): Promise<Page> {
    const context = await browser().newContext({ viewport: VIEWPORT });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error));
    return page;
  }

  /** Opens the page, signs in as `name` through the form, and waits until it is connected. */
  async function openChat(name: string, options: { tap?: FrameTap; page?: Page } = {}): Promise<Chat> {
    const page = options.page ?? (await newPage());
    if (options.tap) await routeThrough(page, options.tap);
    await page.goto(env.runtime.httpUrl);
    await signIn(page, name);
    return { page, ...(await whoAmI(page)) };
  }

  return { env, newPage, openChat };
}

async function signIn(page: Page, name: string): Promise<void> {
  await page.getByTestId("name-input").fill(name);
  await page.getByTestId("name-input").press("Enter");
}

/** The page's connection and user once it is connected; with `previous`, once it has another connection. */
async function whoAmI(page: Page, previous?: string): Promise<{ id: string; userId: string }> {
  await page.locator('[data-testid="status"][data-state="open"]').waitFor();
  let selector = '[data-testid="me"]:not([data-connection-id=""])';
  if (previous) selector += `:not([data-connection-id="${previous}"])`;
  const me = page.locator(selector);
  await me.waitFor();
  return { id: (await me.getAttribute("data-connection-id")) ?? "", userId: (await me.getAttribute("data-user-id")) ?? "" };
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

/** A room's entry for one user in the page's members panel. */
function member(page: Page, room: string, userId: string) {
  return page.locator(`[data-testid="room"][data-room="${room}"] [data-testid="member"][data-user-id="${userId}"]`);
}

function ack(page: Page, text: string) {
  return page.getByTestId("own-message").filter({ hasText: text }).getByTestId("ack");
}

/** A FrameTap that passes everything through until a test changes it. */
function frameTap(): FrameTap {
  return { holdReplies: false, held: [], deliver: () => undefined };
}

/** Routes the page's chat WebSocket through `tap`, connected to the real server. */
async function routeThrough(page: Page, tap: FrameTap): Promise<void> {
  await page.routeWebSocket(/\/prod(\?|$)/, (ws: WebSocketRoute) => {
    const server = ws.connectToServer();
    tap.deliver = (frame) => ws.send(frame);
    ws.onMessage((message) => {
      const frame = JSON.parse(String(message)) as Record<string, unknown>;
      if (tap.dropFromPage?.(frame)) return;
      server.send(tap.rewriteFromPage ? JSON.stringify(tap.rewriteFromPage(frame)) : message);
    });
    // The server's close code reaches the page as the server sent it (1009 for a frame too large).
    server.onClose((code, reason) => ws.close({ code, reason }));
    server.onMessage((message) => {
      const frame = JSON.parse(String(message)) as Record<string, unknown>;
      const reply = frame.type === "sent" || frame.type === "error";
      if (reply && tap.holdReplies) return void tap.held.push(String(message));
      ws.send(reply && tap.rewriteReply ? JSON.stringify(tap.rewriteReply(frame)) : message);
    });
  });
}

async function managementApi<T>(runtime: LocalRuntime, use: (client: ApiGatewayManagementApiClient) => Promise<T>): Promise<T> {
  const client = new ApiGatewayManagementApiClient({ endpoint: runtime.managementUrl, region: runtime.region, credentials: runtime.adminCredentials });
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/**
 * Closes a connection from the server side with DELETE @connections/{id}, signed by the real SDK: the local
 * management API checks SigV4 and IAM as AWS does.
 */
function dropConnection(runtime: LocalRuntime, connectionId: string): Promise<unknown> {
  return managementApi(runtime, (client) => client.send(new DeleteConnectionCommand({ ConnectionId: connectionId })));
}

/** Posts a frame to a connection with POST @connections/{id}, as a handler does. */
function postFrame(runtime: LocalRuntime, connectionId: string, frame: unknown): Promise<unknown> {
  return managementApi(runtime, (client) =>
    client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(JSON.stringify(frame)) })),
  );
}

describeInBrowser("web client in Chromium", () => {
  let browser: Browser;

  beforeAll(async () => {
    // Launch first: without a browser there is no point synthesizing, and the error says how to install it.
    browser = await launchChromium();
  }, 30_000);

  afterAll(() => browser?.close());

  describe("anonymous mode", () => {
    const { env, newPage, openChat } = useChatPages(() => browser, async (workDir) => {
      const stackDir = synthesizeStack({ outdir: join(workDir, "cdktf.out"), env: { CHAT_AUTH: "none" }, warn: () => undefined });
      return startLocalRuntime({ stackDir, host: "127.0.0.1", port: 0, log: () => undefined });
    });

    it("two pages chat: B sees A's message under A's name with the time, A sees it delivered", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");
      const before = Date.now();

      await send(a.page, "hello <b>from A</b>");

      const received = b.page.getByTestId("message").filter({ hasText: "hello" });
      await received.waitFor();
      expect(await received.getAttribute("data-from")).toBe(a.id);
      expect(await received.getByTestId("sender").textContent()).toBe("Ann");
      expect(await received.getByTestId("sender").getAttribute("title")).toContain(a.id);
      // Anonymous names are not verified, and are not marked as if they were.
      expect(await received.getByTestId("verified").count()).toBe(0);
      // Text, never markup: the angle brackets arrive as characters.
      expect(await received.locator(".text").textContent()).toBe("hello <b>from A</b>");
      expect(await b.page.locator("#log b").count()).toBe(0);
      const time = received.getByTestId("time");
      expect(await time.textContent()).toMatch(/\d{1,2}:\d{2}:\d{2}/);
      const sentAt = Date.parse((await time.getAttribute("datetime")) ?? "");
      expect(sentAt).toBeGreaterThanOrEqual(before - 1000);
      expect(sentAt).toBeLessThanOrEqual(Date.now() + 1000);

      const delivered = a.page.locator('[data-testid="ack"][data-state="delivered"]');
      await delivered.waitFor();
      expect(await delivered.textContent()).toBe("delivered to 1");
      expect(await a.page.getByTestId("me").textContent()).toBe("Ann");
      expect(await a.page.getByTestId("me").getAttribute("title")).toContain(a.id);

      await send(b.page, "hi Ann, Ben here");
      await a.page.getByTestId("message").filter({ hasText: "Ben here" }).getByTestId("sender").filter({ hasText: "Ben" }).waitFor();
      await b.page.locator('[data-testid="ack"][data-state="delivered"]').waitFor();
      await writeSideBySide([a.page, b.page], join(OUTPUT_DIR, "web-chat.png"));
    });

    it("?ws= may point at the page's own host, and not at another origin: the page says so and opens no socket", async () => {
      const ok = await newPage();
      const wsUrl = `ws://127.0.0.1:${new URL(env.runtime.httpUrl).port}/${env.runtime.stage}`;
      await ok.goto(`${env.runtime.httpUrl}?ws=${encodeURIComponent(wsUrl)}`);
      await signIn(ok, "Wes");
      await whoAmI(ok);

      const page = await newPage();
      const sockets: string[] = [];
      page.on("websocket", (socket) => sockets.push(socket.url()));
      await page.goto(`${env.runtime.httpUrl}?ws=${encodeURIComponent("wss://chat.example.com/prod")}`);
      await page.getByTestId("notice").filter({ hasText: "?ws= may only point at this page's own host" }).waitFor();
      expect(await page.getByTestId("notice").filter({ hasText: "wss://chat.example.com is not one" }).count()).toBe(1);
      expect(sockets).toEqual([]);
    });

    it("the name form refuses a name the protocol does not allow, saying why, and a reload goes straight back in", async () => {
      const page = await newPage();
      await page.goto(env.runtime.httpUrl);
      const error = page.getByTestId("sign-in-error");
      const connections = env.runtime.openConnections().length;

      await signIn(page, "<b>Ann</b>");
      expect(await error.textContent()).toBe('A name is letters, marks, digits, spaces, "_", "." and "-" only.');
      expect(await page.getByTestId("name-input").getAttribute("aria-invalid")).toBe("true");
      await signIn(page, "   ");
      expect(await error.textContent()).toBe("Enter a display name.");
      await signIn(page, "x".repeat(65));
      expect(await error.textContent()).toBe("A name is 1 to 64 characters after trimming (this one has 65).");
      await signIn(page, "p\u0430ypal");
      expect(await error.textContent()).toBe("A name may not mix letters of different scripts (such as Latin and Cyrillic).");
      await signIn(page, "Ann\u200B");
      expect(await error.textContent()).toMatch(/^A name may not contain invisible or format characters/);
      await writeSideBySide([page], join(OUTPUT_DIR, "web-sign-in.png"));
      expect(await page.getByTestId("status").getAttribute("data-state")).toBe("closed");
      expect(env.runtime.openConnections().length).toBe(connections);

      await signIn(page, "Zoë O Neil");
      const first = await whoAmI(page);
      expect(await page.getByTestId("me").textContent()).toBe("Zoë O Neil");
      expect(await page.getByTestId("sign-in").isHidden()).toBe(true);

      await page.reload();
      const again = await whoAmI(page);
      expect(again.id).not.toBe(first.id);
      expect(await page.getByTestId("me").textContent()).toBe("Zoë O Neil");
      expect(await page.getByTestId("sign-in").isHidden()).toBe(true);

      // Changing the name forgets it: the next load asks again.
      await page.getByTestId("sign-out").click();
      expect(await page.getByTestId("name-input").inputValue()).toBe("Zoë O Neil");
      await page.reload();
      await page.getByTestId("sign-in").waitFor();
      expect(await page.getByTestId("status").getAttribute("data-state")).toBe("closed");
    });

    it("a room message reaches its members, a click on its sender answers directly, and the members panel follows joins and leaves", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");
      const outsider = await openChat("Oz");
      await joinRoom(a.page, "lobby");
      await joinRoom(b.page, "lobby");
      // Joining from the form makes the room the target.
      expect(await a.page.getByTestId("target").inputValue()).toBe("room:lobby");
      await member(a.page, "lobby", b.userId).waitFor();
      expect(await member(a.page, "lobby", a.userId).getAttribute("data-self")).toBe("true");
      expect(await member(a.page, "lobby", a.userId).textContent()).toBe("Ann (you)");
      await member(b.page, "lobby", a.userId).waitFor();

      await send(a.page, "lobby only");

      const received = b.page.locator('[data-testid="message"][data-room="lobby"]');
      await received.waitFor();
      expect(await received.getAttribute("data-from")).toBe(a.id);
      expect(await received.getByTestId("badge-room").textContent()).toBe("#lobby");
      await ack(a.page, "lobby only").and(a.page.locator('[data-state="delivered"]')).waitFor();
      expect(await ack(a.page, "lobby only").textContent()).toBe("delivered to 1");

      // Clicking a sender's name makes the next message a direct one to that user: the outsider gets neither.
      await received.getByTestId("sender").click();
      expect(await b.page.getByTestId("target").inputValue()).toBe("direct");
      expect(await b.page.locator('[data-testid="target"] option:checked').textContent()).toBe("Direct to Ann");
      // The recipient field names the user; the id goes in the frame.
      expect(await b.page.getByTestId("to-input").inputValue()).toBe("Ann");
      await send(b.page, "just me");
      const direct = a.page.getByTestId("message").filter({ hasText: "just me" });
      await direct.waitFor();
      expect(await direct.getAttribute("data-direct")).toBe("true");
      expect(await direct.getByTestId("badge-direct").textContent()).toBe("direct");
      await ack(b.page, "just me").and(b.page.locator('[data-state="delivered"]')).waitFor();
      expect(await ack(b.page, "just me").textContent()).toBe("delivered to 1");
      expect(await outsider.page.getByTestId("message").count()).toBe(0);

      // Presence: a third member appears in the others' panels, and disappears when it leaves.
      await joinRoom(outsider.page, "lobby");
      await member(a.page, "lobby", outsider.userId).waitFor();
      await member(b.page, "lobby", outsider.userId).waitFor();
      await member(outsider.page, "lobby", a.userId).waitFor();
      await outsider.page.locator('[data-room="lobby"] [data-testid="leave-button"]').click();
      await outsider.page.locator('[data-testid="room"][data-room="lobby"]').waitFor({ state: "detached" });
      await member(a.page, "lobby", outsider.userId).waitFor({ state: "detached" });
      await member(b.page, "lobby", outsider.userId).waitFor({ state: "detached" });
    });

    it("an error frame is shown with its code and message, the send is marked failed, and the page stays connected", async () => {
      const a = await openChat("Ann");
      await a.page.getByTestId("target").selectOption("direct");
      await a.page.getByTestId("to-input").fill("nobody-at-all");

      await send(a.page, "anyone there?");

      const error = a.page.locator('[data-testid="error"][data-code="UNKNOWN_RECIPIENT"]');
      await error.waitFor();
      expect(await error.getByRole("alert").count()).toBe(1);
      expect(await error.textContent()).toMatch(/UNKNOWN_RECIPIENT.*send-message.*no open connection/s);
      expect(await a.page.getByTestId("ack").getAttribute("data-state")).toBe("failed");
      expect(await a.page.getByTestId("ack").textContent()).toBe("not sent: UNKNOWN_RECIPIENT");
      expect(await a.page.getByTestId("status").getAttribute("data-state")).toBe("open");
    });

    it("reconnects after the server drops the connection, re-joins its rooms, re-reads their members and can send again", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");
      await joinRoom(a.page, "lobby");
      await joinRoom(b.page, "lobby");
      await recordStatusChanges(a.page);

      await dropConnection(env.runtime, a.id);

      const again = await whoAmI(a.page, a.id);
      expect(await statusChanges(a.page)).toEqual(expect.arrayContaining(["reconnecting", "open"]));
      // Frames are handled concurrently, so a send racing the re-join could be answered NOT_A_MEMBER.
      await a.page.locator('[data-testid="room"][data-room="lobby"][data-state="joined"]').waitFor();
      // The members are read again: Ben, and this page's new connection as itself.
      await member(a.page, "lobby", b.userId).waitFor();
      await member(a.page, "lobby", again.userId).and(a.page.locator('[data-self="true"]')).waitFor();
      expect(await a.page.locator('[data-room="lobby"] [data-testid="member"]').count()).toBe(2);
      // Ben's panel has dropped the old connection and shows the new one.
      await member(b.page, "lobby", a.userId).waitFor({ state: "detached" });
      await member(b.page, "lobby", again.userId).waitFor();

      await send(a.page, "back again");
      const received = b.page.getByTestId("message").filter({ hasText: "back again" });
      await received.waitFor();
      expect(await received.getAttribute("data-from")).toBe(again.id);
      expect(await received.getAttribute("data-room")).toBe("lobby");
      expect(await a.page.getByTestId("error").count()).toBe(0);
    });

    it("a message delivered twice is shown once", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");
      await send(b.page, "only once");
      const shown = a.page.getByTestId("message").filter({ hasText: "only once" });
      await shown.waitFor();
      const id = (await shown.getAttribute("data-message-id")) ?? "";
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);

      // The same frame again, twice, through the real @connections API (at-least-once delivery), then one
      // with another id: once that is shown, the copies before it have been handled.
      const again = { type: "message", id, message: "only once", from: b.id, sender: { id: b.userId, name: "Ben", verified: false }, sentAt: new Date().toISOString() };
      await postFrame(env.runtime, a.id, again);
      await postFrame(env.runtime, a.id, again);
      await postFrame(env.runtime, a.id, { ...again, id: "another-message-id-0001", message: "a different message" });
      await a.page.getByTestId("message").filter({ hasText: "a different message" }).waitFor();

      expect(await shown.count()).toBe(1);
    });

    it("replies that arrive out of order are matched to their sends by requestId", async () => {
      const tap = frameTap();
      const a = await openChat("Ann", { tap });
      const b = await openChat("Ben");
      await joinRoom(a.page, "lobby");
      await joinRoom(b.page, "lobby");

      tap.holdReplies = true;
      await send(a.page, "to the lobby");
      await a.page.getByTestId("target").selectOption("direct");
      await a.page.getByTestId("to-input").fill("nobody-at-all");
      await send(a.page, "to nobody");
      await waitUntil(() => tap.held.length === 2, "both replies");
      // Whatever order the server answered in (each frame is its own invocation), the page gets the reply
      // to the second send first.
      const sentReply = tap.held.find((frame) => JSON.parse(frame).type === "sent")!;
      const errorReply = tap.held.find((frame) => JSON.parse(frame).type === "error")!;
      expect([sentReply, errorReply].every(Boolean)).toBe(true);
      tap.holdReplies = false;
      tap.deliver(errorReply);
      tap.deliver(sentReply);

      await ack(a.page, "to nobody").and(a.page.locator('[data-state="failed"]')).waitFor();
      expect(await ack(a.page, "to nobody").textContent()).toBe("not sent: UNKNOWN_RECIPIENT");
      await ack(a.page, "to the lobby").and(a.page.locator('[data-state="delivered"]')).waitFor();
      expect(await ack(a.page, "to the lobby").textContent()).toBe("delivered to 1");
      // Each own message carries the requestId its reply echoed.
      const requestIds = await a.page.getByTestId("own-message").evaluateAll((entries) => entries.map((entry) => (entry as HTMLElement).dataset.requestId));
      expect(requestIds).toEqual([JSON.parse(sentReply).requestId, JSON.parse(errorReply).requestId]);
    });

    it("the ack tells delivered, queued and incomplete sends apart, and offers a retry that the recipients see once", async () => {
      const tap = frameTap();
      const a = await openChat("Ann", { tap });
      const b = await openChat("Ben");
      await joinRoom(a.page, "lobby");
      await joinRoom(b.page, "lobby");

      // The real replies, with what a queued fan-out and a partial one would add.
      tap.rewriteReply = (frame) => ({ ...frame, queued: 40 });
      await send(a.page, "via the queue");
      await ack(a.page, "via the queue").and(a.page.locator('[data-state="queued"]')).waitFor();
      expect(await ack(a.page, "via the queue").textContent()).toBe("delivered to 1 · 40 queued");

      tap.rewriteReply = (frame) => ({ ...frame, failed: 2, incomplete: true });
      await send(a.page, "partly");
      const partly = a.page.getByTestId("own-message").filter({ hasText: "partly" });
      await ack(a.page, "partly").and(a.page.locator('[data-state="incomplete"]')).waitFor();
      expect(await ack(a.page, "partly").textContent()).toBe("delivered to 1 · 2 failed · not every recipient reached");
      const firstId = await partly.getAttribute("data-message-id");
      await b.page.getByTestId("message").filter({ hasText: "partly" }).waitFor();

      // Retrying sends the same requestId on the same connection: the server gives it the same message id,
      // and Ben, who already has it, does not see it twice.
      tap.rewriteReply = undefined;
      await partly.getByTestId("retry-button").click();
      await ack(a.page, "partly").and(a.page.locator('[data-state="delivered"]')).waitFor();
      expect(await partly.getAttribute("data-message-id")).toBe(firstId);
      await send(a.page, "after the retry");
      await b.page.getByTestId("message").filter({ hasText: "after the retry" }).waitFor();
      expect(await b.page.getByTestId("message").filter({ hasText: "partly" }).count()).toBe(1);
    });

    it("a send the server never confirmed is marked failed when the connection drops, and Retry sends it on the new connection", async () => {
      const tap = frameTap();
      const a = await openChat("Ann", { tap });
      const b = await openChat("Ben");

      tap.dropFromPage = (frame) => frame.action === "send-message";
      await send(a.page, "lost in transit");
      await dropConnection(env.runtime, a.id);

      const lost = a.page.getByTestId("own-message").filter({ hasText: "lost in transit" });
      await ack(a.page, "lost in transit").and(a.page.locator('[data-state="failed"]')).waitFor();
      expect(await ack(a.page, "lost in transit").textContent()).toBe("not confirmed: connection lost");
      await whoAmI(a.page, a.id);
      tap.dropFromPage = undefined;
      await lost.getByTestId("retry-button").click();

      await ack(a.page, "lost in transit").and(a.page.locator('[data-state="delivered"]')).waitFor();
      await b.page.getByTestId("message").filter({ hasText: "lost in transit" }).waitFor();
      expect(await b.page.getByTestId("message").filter({ hasText: "lost in transit" }).count()).toBe(1);
    });

    it("the composer counts UTF-8 bytes as the user types and refuses a message whose frame would pass 32 KiB, saying why", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");
      const sent: string[] = [];
      a.page.on("websocket", (socket) => socket.on("framesent", (frame) => sent.push(String(frame.payload))));
      const count = a.page.getByTestId("message-count");
      const error = a.page.getByTestId("message-error");

      await a.page.getByTestId("message-input").fill("héllo ✓");
      expect(await count.textContent()).toMatch(/^10 \/ [\d,]+ bytes$/);
      const limit = Number(((await count.textContent()) ?? "").split(" / ")[1]!.replace(/[^\d]/g, ""));
      // The whole frame counts: the limit leaves room for the JSON around the message.
      expect(limit).toBeLessThan(32 * 1024);
      expect(limit).toBeGreaterThan(32 * 1024 - 200);

      // 2 bytes a character: 40,000 bytes in 20,000 characters.
      await a.page.getByTestId("message-input").fill("é".repeat(20_000));
      expect(await count.getAttribute("data-state")).toBe("over");
      expect(await count.textContent()).toBe(`40,000 / ${limit.toLocaleString("en-US")} bytes`);
      expect(await error.textContent()).toMatch(/^Too long to send: 40,000 bytes of UTF-8; at most [\d,]+ fit in one message/);
      expect(await a.page.getByTestId("send-button").isDisabled()).toBe(true);
      await a.page.getByTestId("message-input").press("Enter");
      expect(await a.page.getByTestId("own-message").count()).toBe(0);
      expect(await a.page.getByTestId("message-input").inputValue()).toHaveLength(20_000);
      expect(sent.filter((frame) => frame.includes('"send-message"'))).toEqual([]);
      await writeSideBySide([a.page], join(OUTPUT_DIR, "web-message-too-long.png"));

      // One byte over is refused; exactly the limit is sent, and the real server takes it.
      await a.page.getByTestId("message-input").fill("x".repeat(limit + 1));
      expect(await count.getAttribute("data-state")).toBe("over");
      await a.page.getByTestId("message-input").fill("x".repeat(limit));
      expect(await count.getAttribute("data-state")).not.toBe("over");
      expect(await error.textContent()).toBe("");
      expect(await a.page.getByTestId("send-button").isDisabled()).toBe(false);
      await a.page.getByTestId("message-input").press("Enter");
      await ack(a.page, "xxx").and(a.page.locator('[data-state="delivered"]')).waitFor();
      await b.page.getByTestId("message").filter({ hasText: "xxx" }).waitFor();
      expect(await a.page.getByTestId("status").getAttribute("data-state")).toBe("open");
    });

    it("a connection the server closes with 1009 is explained, and the send that caused it is not offered for a retry", async () => {
      const tap = frameTap();
      const a = await openChat("Ann", { tap });
      // As if the page's limit were wrong: the real runtime gets a frame over 32 KB and closes with 1009.
      tap.rewriteFromPage = (frame) => (frame.action === "send-message" ? { ...frame, message: "y".repeat(40_000) } : frame);

      await send(a.page, "too big on the wire");

      const failed = ack(a.page, "too big on the wire").and(a.page.locator('[data-state="failed"]'));
      await failed.waitFor();
      expect(await failed.textContent()).toMatch(/too large/);
      const explained = a.page.getByTestId("notice").filter({ hasText: "1009" });
      await explained.waitFor();
      expect(await explained.textContent()).toMatch(/too large/);
      expect(await a.page.getByTestId("notice").filter({ hasText: "Connection lost" }).count()).toBe(0);
      expect(await a.page.getByTestId("own-message").getByTestId("retry-button").count()).toBe(0);
      tap.rewriteFromPage = undefined;
      await whoAmI(a.page, a.id);
    });

    it("an anonymous load logs no error and requests nothing that is not there", async () => {
      const page = await newPage();
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on("response", (response) => {
        if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
      });
      await page.goto(env.runtime.httpUrl);
      await page.getByTestId("sign-in").waitFor();
      await signIn(page, "Ann");
      await whoAmI(page);
      // The browser asks for a favicon after the load event, if it asks at all.
      await page.waitForLoadState("networkidle");
      expect(problems).toEqual([]);
    });

    it("a message shows the server's sentAt for its sender, as for its recipients", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");

      await send(a.page, "what time is it");
      const received = b.page.getByTestId("message").filter({ hasText: "what time is it" });
      await received.waitFor();
      const sentAt = (await received.getByTestId("time").getAttribute("datetime")) ?? "";
      const own = a.page.getByTestId("own-message").filter({ hasText: "what time is it" });
      await ack(a.page, "what time is it").and(a.page.locator('[data-state="delivered"]')).waitFor();
      expect(await own.getByTestId("time").getAttribute("datetime")).toBe(sentAt);
      expect(await own.getByTestId("time").textContent()).toBe(await received.getByTestId("time").textContent());
      expect(await own.getByTestId("time").count()).toBe(1);
    });

    it("a reload rejoins the rooms the tab was in, and only that tab", async () => {
      const a = await openChat("Ann");
      const b = await openChat("Ben");
      await joinRoom(a.page, "lobby");
      await joinRoom(a.page, "kitchen");
      await joinRoom(b.page, "lobby");
      await a.page.locator('[data-room="kitchen"] [data-testid="leave-button"]').click();
      await a.page.locator('[data-testid="room"][data-room="kitchen"]').waitFor({ state: "detached" });

      await a.page.reload();
      const again = await whoAmI(a.page, a.id);
      await a.page.locator('[data-testid="room"][data-room="lobby"][data-state="joined"]').waitFor();
      await member(a.page, "lobby", again.userId).and(a.page.locator('[data-self="true"]')).waitFor();
      expect(await a.page.getByTestId("room").count()).toBe(1);
      await send(b.page, "welcome back");
      await a.page.locator('[data-testid="message"][data-room="lobby"]').filter({ hasText: "welcome back" }).waitFor();

      // Another tab of the same browser signs in with the remembered name but is in no room.
      const other = await a.page.context().newPage();
      await other.goto(env.runtime.httpUrl);
      await whoAmI(other);
      expect(await other.getByTestId("room").count()).toBe(0);
    });
  });

  describe("auth mode jwt, with the local issuer", () => {
    const { env, newPage, openChat } = useChatPages(() => browser, (workDir) =>
      startLocalRuntime({
        stackDir: ({ httpUrl }) => synthesizeJwtWorkspace(workDir, "jwt", httpUrl).stackDir,
        localIssuer: true,
        host: "127.0.0.1",
        port: 0,
        log: () => undefined,
      }),
    );

    it("alice and bob sign in, see each other in the room, exchange a room and a direct message, and presence drops bob when he leaves", async () => {
      const alice = await openChat("alice");
      const bob = await openChat("bob");
      expect(alice.userId).toBe(localUserId("alice"));
      expect(await alice.page.getByTestId("me").getAttribute("data-verified")).toBe("true");
      expect(await alice.page.getByTestId("me").getByTestId("verified").count()).toBe(1);

      await joinRoom(alice.page, "lobby");
      await joinRoom(bob.page, "lobby");
      await member(alice.page, "lobby", bob.userId).waitFor();
      await member(bob.page, "lobby", alice.userId).waitFor();
      // A verified name carries the end of its user id, which tells two users of one name apart.
      expect(await member(alice.page, "lobby", bob.userId).textContent()).toBe(`bob✓ · ${bob.userId.slice(-4)}`);
      expect(await member(alice.page, "lobby", alice.userId).getAttribute("data-self")).toBe("true");

      await send(alice.page, "hi lobby");
      const inRoom = bob.page.locator('[data-testid="message"][data-room="lobby"]').filter({ hasText: "hi lobby" });
      await inRoom.waitFor();
      expect(await inRoom.getByTestId("sender").textContent()).toBe(`alice✓ · ${alice.userId.slice(-4)}`);
      expect(await inRoom.getAttribute("data-user-id")).toBe(alice.userId);

      // Bob picks alice in the members panel: the message goes to her user, not to a connection.
      await member(bob.page, "lobby", alice.userId).getByRole("button").click();
      const alice4 = alice.userId.slice(-4);
      expect(await bob.page.locator('[data-testid="target"] option:checked').textContent()).toBe(`Direct to alice · ${alice4}`);
      expect(await bob.page.getByTestId("to-input").inputValue()).toBe(`alice · ${alice4}`);
      await send(bob.page, "just between us");
      const direct = alice.page.getByTestId("message").filter({ hasText: "just between us" });
      await direct.waitFor();
      expect(await direct.getAttribute("data-direct")).toBe("true");
      expect(await direct.getByTestId("badge-direct").textContent()).toBe("direct");
      expect(await direct.getByTestId("sender").textContent()).toBe(`bob✓ · ${bob.userId.slice(-4)}`);
      await ack(bob.page, "just between us").and(bob.page.locator('[data-state="delivered"]')).waitFor();
      await writeSideBySide([alice.page, bob.page], join(OUTPUT_DIR, "web-chat-jwt.png"));

      await bob.page.locator('[data-room="lobby"] [data-testid="leave-button"]').click();
      await member(alice.page, "lobby", bob.userId).waitFor({ state: "detached" });
      expect(await member(alice.page, "lobby", alice.userId).count()).toBe(1);
    });

    it("two verified users of the same name are told apart by the end of their ids", async () => {
      const alice = await openChat("alice");
      const bob = await openChat("bob");
      // Another account whose name is also "alice", signed by the same issuer.
      const now = Math.floor(Date.now() / 1000);
      const otherId = "local-another-account-9b2c";
      const token = await env.runtime.issuer!.sign({ sub: otherId, name: "alice", iat: now, exp: now + 600 });
      const other = await newPage();
      await other.goto(`${env.runtime.httpUrl}?stage=${env.runtime.stage}#token=${token}`);
      await whoAmI(other);
      // Taken from the fragment and removed from the address and the history at once.
      expect(await other.evaluate(() => location.href)).toBe(`${env.runtime.httpUrl}?stage=${env.runtime.stage}`);
      // The blank tab and this page: the token's entry was replaced, not followed by a clean one.
      expect(await other.evaluate(() => history.length)).toBe(2);
      for (const page of [alice.page, bob.page, other]) await joinRoom(page, "twins");

      await member(bob.page, "twins", otherId).waitFor();
      await member(bob.page, "twins", alice.userId).waitFor();
      expect(await member(bob.page, "twins", otherId).textContent()).toBe("alice✓ · 9b2c");
      expect(await member(bob.page, "twins", alice.userId).textContent()).toBe(`alice✓ · ${alice.userId.slice(-4)}`);
      expect(alice.userId.slice(-4)).not.toBe("9b2c");
    });

    it("a token the chat refuses sends the page back to the sign-in form, saying why, and signing in with a name works", async () => {
      const page = await newPage();
      await page.goto(`${env.runtime.httpUrl}?stage=${env.runtime.stage}&token=not.a.token`);

      await page.getByTestId("sign-in").waitFor();
      expect(await page.getByTestId("sign-in-error").textContent()).toMatch(/refused the token in the page's address/);
      expect(await page.getByTestId("sign-in-hint").textContent()).toMatch(/identity provider/);
      expect(await page.getByTestId("status").getAttribute("data-state")).toBe("closed");

      await signIn(page, "carol");
      const carol = await whoAmI(page);
      expect(carol.userId).toBe(localUserId("carol"));
    });

    it("an expired token in the page's address is not even tried: the form says when it expired", async () => {
      const page = await newPage();
      const sockets: string[] = [];
      page.on("websocket", (socket) => sockets.push(socket.url()));
      const now = Math.floor(Date.now() / 1000);
      const expired = await env.runtime.issuer!.sign({ sub: localUserId("erin"), name: "erin", iat: now - 3600, exp: now - 60 });
      await page.goto(`${env.runtime.httpUrl}?stage=${env.runtime.stage}&token=${expired}`);

      await page.getByTestId("sign-in").waitFor();
      expect(await page.getByTestId("sign-in-error").textContent()).toMatch(/^The sign-in token in the page's address expired at .+; open the page with a new #token=\.$/);
      expect(sockets).toEqual([]);
    });

    it("offers Everyone only to an admin (the info frame's broadcast policy, admins by default with tokens)", async () => {
      const bob = await openChat("bob");
      const now = Math.floor(Date.now() / 1000);
      const token = await env.runtime.issuer!.sign({ sub: localUserId("ada"), name: "ada", groups: ["chat-admins"], iat: now, exp: now + 600 });
      const admin = await newPage();
      await admin.goto(`${env.runtime.httpUrl}?stage=${env.runtime.stage}#token=${token}`);
      await whoAmI(admin);

      const everyone = (page: Page) => page.locator('[data-testid="target"] option[value="everyone"]');
      await waitUntilAsync(async () => (await everyone(bob.page).isDisabled()), "bob's Everyone option disabled");
      expect(await bob.page.getByTestId("target").inputValue()).not.toBe("everyone");
      expect(await everyone(admin).isDisabled()).toBe(false);
      expect(await admin.getByTestId("target").inputValue()).toBe("everyone");

      await send(admin, "announcement to all");
      await bob.page.getByTestId("message").filter({ hasText: "announcement to all" }).waitFor();
    });

    it("reconnects with a fresh token from the issuer after a drop", async () => {
      const page = await newPage();
      const tokenRequests: string[] = [];
      page.on("request", (request) => {
        if (request.method() === "POST" && new URL(request.url()).pathname === "/dev/token") tokenRequests.push(request.postData() ?? "");
      });
      const dave = await openChat("dave", { page });
      expect(tokenRequests).toEqual(['{"name":"dave"}']);

      await dropConnection(env.runtime, dave.id);

      const again = await whoAmI(page, dave.id);
      expect(again.userId).toBe(dave.userId);
      expect(tokenRequests).toEqual(['{"name":"dave"}', '{"name":"dave"}']);
    });
  });
});

async function waitUntilAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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
  const sheet = await pages[0]!.context().newPage();
  try {
    await sheet.setViewportSize({ width: VIEWPORT.width * pages.length + 8 * (pages.length + 1), height: VIEWPORT.height + 16 });
    const images = shots.map((png) => `<img src="data:image/png;base64,${png.toString("base64")}">`).join("");
    await sheet.setContent(
      `<body style="margin:0;padding:8px;display:flex;gap:8px;background:#8a94a6">${images}</body>`,
    );
    // The images decoded before the shot; and Chromium on a busy machine sometimes cannot capture a page
    // it has just opened ("Unable to capture screenshot"): one more try after a frame.
    await sheet.evaluate(() => Promise.all(Array.from(document.images, (img) => img.decode())));
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await sheet.screenshot({ path }).catch(async (error: unknown) => {
      if (!String(error).includes("Unable to capture screenshot")) throw error;
      await sheet.waitForTimeout(250);
      await sheet.screenshot({ path });
    });
  } finally {
    await sheet.close();
  }
}
