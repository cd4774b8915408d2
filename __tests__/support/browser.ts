import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium: the browser tests drive the system package, never a downloaded build. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const MISSING = `Chromium is not installed at ${CHROMIUM_PATH}; install it with \`apt-get install chromium\``;

/**
 * Whether to run the browser tests. Without Chromium they are skipped, with a message saying how to install
 * it, so that `npm test` passes after a bare `npm ci`; with REQUIRE_BROWSER=1 (as `.ci/run` sets) they run
 * and a missing browser fails them.
 */
export function browserTestsEnabled(): boolean {
  if (existsSync(CHROMIUM_PATH) || process.env.REQUIRE_BROWSER === "1") return true;
  console.warn(`Skipping the browser tests: ${MISSING} (or point CHROMIUM_PATH at a Chromium).`);
  return false;
}

/** Launches headless Chromium with nothing that talks to the network on its own. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${MISSING}. REQUIRE_BROWSER=1 makes a missing browser a failure.`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}
