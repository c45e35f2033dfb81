// Serves the built console (dist/renderer) to browsers on loopback. The shell is public — it asks
// for the token itself — and the API behind it stays closed without a session.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

export const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** `dist/renderer` at the repo root, when this file runs from source (bundles pass consoleDir). */
export function defaultConsoleDir(): string {
  const here = typeof import.meta.url === 'string' ? fileURLToPath(import.meta.url) : undefined;
  return here ? resolve(here, '../../../../dist/renderer') : resolve(process.cwd(), 'dist/renderer');
}

/** Answers a GET for the console; false when there is no console build to serve. */
export function serveConsoleFile(dir: string, pathname: string, res: ServerResponse): boolean {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    decoded = '/';
  }
  const candidate = resolve(root, `.${decoded}`);
  const inside = candidate === root || candidate.startsWith(root + sep);
  let file = inside && existsSync(candidate) && statSync(candidate).isFile() ? candidate : undefined;
  // Client-side routes (no file extension) get the app shell; a missing asset is a plain 404.
  if (!file && (!inside || extname(decoded) === '')) file = join(root, 'index.html');
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end('Not found');
    return true;
  }
  res.writeHead(200, {
    'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    // Hashed assets may be cached; the shell must not be, so a new build shows at once.
    'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  createReadStream(file).pipe(res);
  return true;
}
