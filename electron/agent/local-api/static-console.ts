// Serves the built console (dist/renderer) to browsers on loopback. The shell is public — it asks
// for the token itself — and the API behind it stays closed without a session.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import {
  CONSOLE_SHELL,
  consoleCsp,
  contentTypeOf,
  resolveConsoleAsset,
} from '../../../shared/console-assets';

export const SECURITY_HEADERS = {
  'content-security-policy': consoleCsp(),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** `dist/renderer` at the repo root, when this file runs from source (bundles pass consoleDir). */
export function defaultConsoleDir(): string {
  const here = typeof import.meta.url === 'string' ? fileURLToPath(import.meta.url) : undefined;
  return here ? resolve(here, '../../../../dist/renderer') : resolve(process.cwd(), 'dist/renderer');
}

/** Answers a GET for the console; false when there is no console build to serve. */
export function serveConsoleFile(dir: string, pathname: string, res: ServerResponse): boolean {
  const root = resolve(dir);
  const shell = join(root, CONSOLE_SHELL);
  if (!existsSync(shell)) return false;
  const asset = resolveConsoleAsset(pathname);
  const candidate = asset && join(root, asset.file);
  let file = candidate && existsSync(candidate) && statSync(candidate).isFile() ? candidate : undefined;
  if (!file && (!asset || asset.shellIfMissing)) file = shell;
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end('Not found');
    return true;
  }
  res.writeHead(200, {
    'content-type': contentTypeOf(file),
    'content-length': statSync(file).size,
    // Hashed assets may be cached; the shell must not be, so a new build shows at once.
    'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  createReadStream(file).pipe(res);
  return true;
}
