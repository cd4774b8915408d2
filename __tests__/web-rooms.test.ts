/**
 * Private rooms and moderation in the browser page (web/), in Debian's Chromium against the real local
 * runtime in auth mode jwt with its local issuer: three browser contexts (an owner, an invited user, an
 * outsider), and an admin signed in with a token naming the admin group. Skipped like web-client.test.ts
 * without Chromium, unless REQUIRE_BROWSER=1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { localUserId } from "../local/identity-provider/local-issuer";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { browserTestsEnabled, launchChromium } from "./support/browser";
import { synthesizeJwtWorkspace } from "./support/local-stacks";

const describeInBrowser = browserTestsEnabled() ? describe : describe.skip;

interface Chat {
  readonly page: Page;
  readonly userId: string;
}

describeInBrowser("private rooms and moderation in the web page", () => {
  let browser: Browser;
  let runtime: LocalRuntime;
  let workDir: string;
  let contexts: BrowserContext[] = [];
  let pageErrors: Error[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    workDir = mkdtempSync(join(tmpdir(), "web-rooms-"));
    runtime = await startLocalRuntime({
      stackDir: ({ httpUrl }) => synthesizeJwtWorkspace(workDir, "jwt", httpUrl).stackDir,
      localIssuer: true,
      host: "127.0.0.1",
      port: 0,
      log: () => undefined,
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    const errors = pageErrors;
    pageErrors = [];
    expect(errors).toEqual([]);
  });

  /** A page in a browser context of its own (its own storage: another person), not yet navigated. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error));
    return page;
  }

  /** Signs in as `name` through the page's form (a token from the local issuer), connected. */
  async function openChat(name: string): Promise<Chat> {
    const page = await newPage();
    await page.goto(runtime.httpUrl);
    await page.getByTestId("name-input").fill(name);
    await page.getByTestId("name-input").press("Enter");
    return { page, userId: await connectedUser(page) };
  }

  /** Signs in with a token naming the admin group, passed in the page's address as a real provider's would be. */
  async function openAdmin(name: string): Promise<Chat> {
    const page = await newPage();
    const now = Math.floor(Date.now() / 1000);
    const token = await runtime.issuer!.sign({ sub: localUserId(name), name, groups: ["chat-admins"], iat: now, exp: now + 600 });
    await page.goto(`${runtime.httpUrl}?stage=${runtime.stage}#token=${token}`);
    return { page, userId: await connectedUser(page) };
  }

  it("an owner creates a private room; an outsider is refused; the invited user accepts, chats, is kicked and sees why; admins are marked", async () => {
    const owner = await openChat("olive");
    const invited = await openChat("ivan");
    const outsider = await openChat("oscar");

    // The owner creates a private room and is in it, marked as its owner.
    await owner.page.getByTestId("create-input").fill("team");
    await owner.page.getByTestId("create-private").check();
    await owner.page.getByTestId("create-button").click();
    await joined(owner.page, "team").waitFor();
    await notice(owner.page, "created").filter({ hasText: "private room #team" }).waitFor();
    expect(await room(owner.page, "team").getByTestId("badge-private").count()).toBe(1);
    await member(owner.page, "team", owner.userId).getByTestId("badge-owner").waitFor();
    expect(await owner.page.getByTestId("target").inputValue()).toBe("room:team");

    // The outsider may not join it, and is told why.
    await joinByName(outsider.page, "team");
    await outsider.page.locator('[data-testid="error"][data-code="FORBIDDEN"]').waitFor();
    expect(await outsider.page.getByTestId("rooms-error").textContent()).toMatch(/^#team is a private room: ask the owner for an invitation\./);
    expect(await room(outsider.page, "team").count()).toBe(0);

    // The owner invites ivan by his user id; ivan sees the invitation and accepts it.
    await room(owner.page, "team").getByTestId("invite-input").fill(invited.userId);
    await room(owner.page, "team").getByTestId("invite-button").click();
    await notice(owner.page, "invited").waitFor();
    const invitation = invited.page.locator('[data-testid="invitation"][data-room="team"]');
    await invitation.waitFor();
    expect(await invitation.textContent()).toContain(`olive✓ · ${owner.userId.slice(-4)}`);
    await invitation.getByTestId("invitation-join").click();
    await joined(invited.page, "team").waitFor();
    await invitation.waitFor({ state: "detached" });
    await member(owner.page, "team", invited.userId).waitFor();
    await member(invited.page, "team", owner.userId).getByTestId("badge-owner").waitFor();
    // A member who is neither owner nor admin is offered no moderation.
    expect(await room(invited.page, "team").getByTestId("moderation").count()).toBe(0);
    expect(await room(invited.page, "team").getByTestId("kick-button").count()).toBe(0);

    // They exchange a message in the room.
    await send(invited.page, "hello from ivan");
    await roomMessage(owner.page, "team", "hello from ivan").waitFor();
    await send(owner.page, "welcome, ivan");
    await roomMessage(invited.page, "team", "welcome, ivan").waitFor();

    // An admin may join the private room uninvited; the others see the admin marked, in members and messages.
    const admin = await openAdmin("ada");
    expect(await admin.page.getByTestId("me").getByTestId("badge-admin").count()).toBe(1);
    await joinByName(admin.page, "team");
    await joined(admin.page, "team").waitFor();
    await member(owner.page, "team", admin.userId).getByTestId("badge-admin").waitFor();
    expect(await member(owner.page, "team", invited.userId).getByTestId("badge-admin").count()).toBe(0);
    await send(admin.page, "admin here");
    const fromAdmin = roomMessage(invited.page, "team", "admin here");
    await fromAdmin.waitFor();
    expect(await fromAdmin.getByTestId("sender").getByTestId("badge-admin").count()).toBe(1);
    // The admin may kick anyone, the owner too; nobody is offered a Kick for themselves.
    await member(admin.page, "team", owner.userId).getByTestId("kick-button").waitFor();
    await member(admin.page, "team", invited.userId).getByTestId("kick-button").waitFor();
    expect(await member(owner.page, "team", owner.userId).getByTestId("kick-button").count()).toBe(0);

    // The owner kicks ivan with a ban: ivan is told by whom and until when, and the room leaves his list.
    await room(owner.page, "team").getByTestId("ban-duration").selectOption("600");
    await member(owner.page, "team", invited.userId).getByTestId("kick-ban-button").click();
    const removed = notice(invited.page, "removed");
    await removed.waitFor();
    expect(await removed.textContent()).toMatch(new RegExp(`^You were removed from #team by olive · ${owner.userId.slice(-4)} \\(until .+\\)\\.$`));
    await room(invited.page, "team").waitFor({ state: "detached" });
    await member(owner.page, "team", invited.userId).waitFor({ state: "detached" });
    await member(admin.page, "team", invited.userId).waitFor({ state: "detached" });
    await notice(owner.page, "kicked").filter({ hasText: "banned from it until" }).waitFor();
    expect(await invited.page.locator('[data-testid="target"] option[value="room:team"]').count()).toBe(0);

    // Banned from the room, he cannot come back, and is told so.
    await joinByName(invited.page, "team");
    await invited.page.locator('[data-testid="error"][data-code="FORBIDDEN"]').waitFor();
    expect(await invited.page.getByTestId("rooms-error").textContent()).toMatch(/^#team is a private room/);
    expect(await room(invited.page, "team").count()).toBe(0);
  }, 120_000);

  it("an owner invites someone from a room they share (the invite field offers its members), who dismisses the invitation, joins all the same and is kicked", async () => {
    const owner = await openChat("petra");
    const friend = await openChat("quinn");
    for (const chat of [owner, friend]) {
      await joinByName(chat.page, "commons");
      await joined(chat.page, "commons").waitFor();
    }
    await owner.page.getByTestId("create-input").fill("club");
    await owner.page.getByTestId("create-private").check();
    await owner.page.getByTestId("create-button").click();
    await joined(owner.page, "club").waitFor();
    // A public room created by its first join has no owner: nobody but admins moderates it.
    expect(await room(owner.page, "commons").getByTestId("moderation").count()).toBe(0);

    const option = owner.page.locator(`#invite-candidates option[value="${friend.userId}"]`);
    await option.waitFor({ state: "attached" });
    expect(await option.getAttribute("label")).toBe(`quinn · ${friend.userId.slice(-4)}`);
    await room(owner.page, "club").getByTestId("invite-input").fill((await option.getAttribute("value"))!);
    await room(owner.page, "club").getByTestId("invite-input").press("Enter");
    await notice(owner.page, "invited").filter({ hasText: "quinn" }).waitFor();

    const invitation = friend.page.locator('[data-testid="invitation"][data-room="club"]');
    await invitation.waitFor();
    await invitation.getByTestId("invitation-dismiss").click();
    await invitation.waitFor({ state: "detached" });
    expect(await friend.page.getByTestId("invitations").isHidden()).toBe(true);
    // Dismissed on the page only: the invitation itself still lets them in.
    await joinByName(friend.page, "club");
    await joined(friend.page, "club").waitFor();

    // A Kick without a ban withdraws the invitation: the removed user is told by whom, with no end date, and
    // cannot join the private room again.
    await member(owner.page, "club", friend.userId).getByTestId("kick-button").click();
    const removed = notice(friend.page, "removed");
    await removed.waitFor();
    expect(await removed.textContent()).toBe(`You were removed from #club by petra · ${owner.userId.slice(-4)}.`);
    await room(friend.page, "club").waitFor({ state: "detached" });
    await joined(friend.page, "commons").waitFor();
    await joinByName(friend.page, "club");
    await friend.page.locator('[data-testid="error"][data-code="FORBIDDEN"]').waitFor();
    expect(await room(friend.page, "club").count()).toBe(0);
  }, 90_000);
});

/** The page's user id once it is connected. */
async function connectedUser(page: Page): Promise<string> {
  await page.locator('[data-testid="status"][data-state="open"]').waitFor();
  const me = page.locator('[data-testid="me"]:not([data-connection-id=""])');
  await me.waitFor();
  return (await me.getAttribute("data-user-id")) ?? "";
}

async function joinByName(page: Page, name: string): Promise<void> {
  await page.getByTestId("room-input").fill(name);
  await page.getByTestId("room-input").press("Enter");
}

async function send(page: Page, message: string): Promise<void> {
  await page.getByTestId("message-input").fill(message);
  await page.getByTestId("message-input").press("Enter");
}

function room(page: Page, name: string): Locator {
  return page.locator(`[data-testid="room"][data-room="${name}"]`);
}

function joined(page: Page, name: string): Locator {
  return page.locator(`[data-testid="room"][data-room="${name}"][data-state="joined"]`);
}

function member(page: Page, name: string, userId: string): Locator {
  return room(page, name).locator(`[data-testid="member"][data-user-id="${userId}"]`);
}

function notice(page: Page, kind: string): Locator {
  return page.locator(`[data-testid="notice"][data-kind="${kind}"]`);
}

function roomMessage(page: Page, name: string, text: string): Locator {
  return page.locator(`[data-testid="message"][data-room="${name}"]`).filter({ hasText: text });
}
