/**
 * Screenshots of the web page for docs/web-page.md: Ann and Ben in "lobby", a direct message each way, then
 * Ann pastes a 40 KB message and presses Enter. Drives a runtime that is already running, so it can be
 * pointed at any checkout's `npm start` (CHAT_AUTH=jwt shows verified names).
 *
 *   node --import tsx scripts/screenshots.ts <page URL> <suffix> [out dir]
 *   e.g. CHAT_AUTH=jwt PORT=9000 npm start, then: node --import tsx scripts/screenshots.ts http://127.0.0.1:9000/ after
 *
 * Writes <out dir>/page-<suffix>.png (both pages side by side) and page-too-large-<suffix>.png (Ann's page
 * after the paste); <out dir> defaults to docs/images.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const VIEWPORT = { width: 760, height: 560 };
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** A paste of log lines, 40 KB: over the 32 KB frame API Gateway accepts. */
const PASTE = "2026-12-07T19:00:00.000Z INFO GET /orders/1842 200 12ms\n".repeat(40_000 / 56 + 1).slice(0, 40_000);

async function openChat(browser: Browser, url: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByTestId("name-input").fill(name);
  await page.getByTestId("name-input").press("Enter");
  await page.locator('[data-testid="status"][data-state="open"]').waitFor();
  return page;
}

async function joinRoom(page: Page, room: string): Promise<void> {
  await page.getByTestId("room-input").fill(room);
  await page.getByTestId("room-input").press("Enter");
  await page.locator(`[data-testid="room"][data-room="${room}"][data-state="joined"]`).waitFor();
}

async function send(page: Page, message: string): Promise<void> {
  await page.getByTestId("message-input").fill(message);
  await page.getByTestId("message-input").press("Enter");
}

/** Sends `message` from `from` and waits until `to` shows it. */
async function say(from: Page, to: Page, message: string): Promise<void> {
  await send(from, message);
  await to.getByTestId("message").filter({ hasText: message }).waitFor();
}

/** Addresses a direct message to the sender of the last message from `name`, as a user would: by clicking it. */
async function replyDirectly(page: Page, name: string): Promise<void> {
  await page.getByTestId("sender").filter({ hasText: name }).last().click();
}

async function writeSideBySide(pages: readonly Page[], path: string): Promise<void> {
  const shots = await Promise.all(pages.map((page) => page.screenshot()));
  const sheet = await pages[0]!.context().newPage();
  await sheet.setViewportSize({ width: VIEWPORT.width * pages.length + 8 * (pages.length + 1), height: VIEWPORT.height + 16 });
  const images = shots.map((png) => `<img src="data:image/png;base64,${png.toString("base64")}">`).join("");
  await sheet.setContent(`<body style="margin:0;padding:8px;display:flex;gap:8px;background:#8a94a6">${images}</body>`);
  await sheet.screenshot({ path });
  await sheet.close();
}

async function main(): Promise<void> {
  const [url, suffix, outDir = join("docs", "images")] = process.argv.slice(2);
  if (!url || !suffix) throw new Error("Usage: node --import tsx scripts/screenshots.ts <page URL> <suffix> [out dir]");
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const ann = await openChat(browser, url, "Ann");
    const ben = await openChat(browser, url, "Ben");
    await joinRoom(ann, "lobby");
    await joinRoom(ben, "lobby");
    await say(ann, ben, "Morning! Is the deploy still on for today?");
    await say(ben, ann, "Yes, after the standup.");
    await replyDirectly(ben, "Ann");
    await say(ben, ann, "Between us: the staging table is nearly full.");
    await replyDirectly(ann, "Ben");
    await say(ann, ben, "Thanks, I'll paste you the logs.");
    await writeSideBySide([ann, ben], join(outDir, `page-${suffix}.png`));

    await ann.getByTestId("message-input").fill(PASTE);
    await ann.getByTestId("message-input").press("Enter");
    // The page refuses it, or sends it and the server closes the connection: shoot once either shows.
    await Promise.race([
      ann.locator('[data-testid="status"]:not([data-state="open"])').waitFor(),
      ann.locator('[data-testid="message-error"]:not(:empty)').waitFor(),
    ]);
    // The last message's header (its ack, a Retry) matters more than its 40 KB of text.
    await ann.getByTestId("own-message").last().evaluate((entry) => entry.scrollIntoView({ block: "start" }));
    await ann.screenshot({ path: join(outDir, `page-too-large-${suffix}.png`) });
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
