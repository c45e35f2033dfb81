// How the built console (dist/renderer) is served, wherever it is served from: the agent's loopback
// API, the hub, and the Electron app's `app://` scheme. Pure string logic; each server does its own I/O.

/**
 * The console's Content-Security-Policy. It is what turns an injected string in a log line or an image
 * name into inert text instead of script. The renderer needs no inline script or style (React sets
 * styles through the CSSOM, which CSP does not govern) and no eval. `connect` adds origins the page may
 * talk to beyond its own (the hub's public WebSocket origin).
 */
export function consoleCsp(connect: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    ['connect-src', "'self'", ...connect].join(' '),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

const extensionOf = (path: string) => /\.[^./]+$/.exec(path)?.[0].toLowerCase() ?? '';

export const contentTypeOf = (path: string) => CONTENT_TYPES[extensionOf(path)] ?? 'application/octet-stream';

export const CONSOLE_SHELL = 'index.html';

/**
 * What a GET of `urlPath` asks for: `file`, a '/'-separated path relative to the build folder that
 * cannot leave it, and whether a missing file should get the app shell instead (client-side routes
 * have no extension; a missing asset is a plain 404). Undefined for paths that try to escape.
 */
export function resolveConsoleAsset(urlPath: string): { file: string; shellIfMissing: boolean } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return undefined;
  const file = segments.join('/') || CONSOLE_SHELL;
  return { file, shellIfMissing: extensionOf(file) === '' };
}
