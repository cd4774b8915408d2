/**
 * The local metrics page: `/_local/metrics` (HTML), its script and style (static files in page/, no build
 * step), and `/_local/metrics.json?window=<seconds>`, the figures the page polls.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";

export const METRICS_PATH = "/_local/metrics";

const FILES: Readonly<Record<string, [string, string]>> = {
  [METRICS_PATH]: ["metrics.html", "text/html; charset=utf-8"],
  [`${METRICS_PATH}/`]: ["metrics.html", "text/html; charset=utf-8"],
  [`${METRICS_PATH}.js`]: ["metrics.js", "text/javascript; charset=utf-8"],
  [`${METRICS_PATH}.css`]: ["metrics.css", "text/css; charset=utf-8"],
};
const PAGE_DIR = join(__dirname, "page");
/** The page is static files and JSON from this origin: nothing inline, nothing from elsewhere. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** A window the page may ask for: a minute to the hour the store keeps. */
const MIN_WINDOW_SECONDS = 60;
const MAX_WINDOW_SECONDS = 3600;

export function servePage(req: IncomingMessage, res: ServerResponse, snapshot: (windowSeconds?: number) => unknown): boolean {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (!url.pathname.startsWith(METRICS_PATH)) return false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD", "Content-Length": 0 }).end();
    return true;
  }
  let body: string | Buffer;
  let type: string;
  if (url.pathname === `${METRICS_PATH}.json`) {
    const asked = Number(url.searchParams.get("window"));
    const window = Number.isFinite(asked) && asked > 0 ? Math.min(MAX_WINDOW_SECONDS, Math.max(MIN_WINDOW_SECONDS, asked)) : undefined;
    body = JSON.stringify(snapshot(window));
    type = "application/json; charset=utf-8";
  } else {
    const file = FILES[url.pathname];
    if (!file) return false;
    body = readFileSync(join(PAGE_DIR, file[0]));
    type = file[1];
  }
  res.writeHead(200, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": CSP });
  res.end(req.method === "HEAD" ? undefined : body);
  return true;
}
