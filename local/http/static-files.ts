/** Serves the web client (web/) over GET and HEAD: `/` is index.html; nothing outside the folder is reachable. */
import { createReadStream, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, resolve, sep } from "node:path";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

function notFound(res: ServerResponse, method: string): void {
  const text = "Not found\n";
  res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(method === "HEAD" ? undefined : text);
}

/**
 * The page cannot know the stage name, which is the WebSocket URL's path; so `/` without `?stage=` (or
 * `?ws=`) redirects to `/?stage=<stage>`, and a page opened from the printed URL always connects.
 */
function redirectToStage(req: IncomingMessage, res: ServerResponse, stage: string): boolean {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname !== "/" || url.searchParams.has("stage") || url.searchParams.has("ws")) return false;
  url.searchParams.set("stage", stage);
  res.writeHead(302, { Location: `/${url.search}`, "Content-Length": 0 });
  res.end();
  return true;
}

/** Where the page looks for a local issuer (web/sign-in.js); the issuer answers it first when one runs. */
const DISCOVERY_PATH = "/.well-known/openid-configuration";

/**
 * The discovery path reached the files: no issuer runs here. 204 says so to the page's probe; a 404 would
 * be a console error on every anonymous load.
 */
function noIssuer(req: IncomingMessage, res: ServerResponse): boolean {
  if (new URL(req.url ?? "/", "http://localhost").pathname !== DISCOVERY_PATH) return false;
  res.writeHead(204, { "Cache-Control": "no-store" });
  res.end();
  return true;
}

export function serveStatic(req: IncomingMessage, res: ServerResponse, webDir: string, stage: string): void {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD", "Content-Length": 0 });
    res.end();
    return;
  }
  if (redirectToStage(req, res, stage) || noIssuer(req, res)) return;
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  } catch {
    return notFound(res, method);
  }
  const root = resolve(webDir);
  const file = resolve(join(root, path.endsWith("/") ? `${path}index.html` : path));
  const inside = relative(root, file);
  if (inside.startsWith("..") || inside.split(sep).includes("..") || path.includes("\0")) return notFound(res, method);

  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return notFound(res, method);
    size = stat.size;
  } catch {
    return notFound(res, method);
  }
  res.writeHead(200, {
    "Content-Type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": size,
    // The page is under development: always fetch the current files.
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
  if (method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}
