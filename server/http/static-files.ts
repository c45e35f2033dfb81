// Serves the built dashboard (dist/renderer) for non-API GETs, with index.html as the fallback for
// client-side routes, a strict Content-Security-Policy and nosniff.
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { CONSOLE_SHELL, consoleCsp, contentTypeOf, resolveConsoleAsset } from '../../shared/console-assets';
import { baseHeaders } from './responses';

/** The dashboard's CSP: the console's, plus the hub's public WebSocket origin. */
export function contentSecurityPolicy(publicOrigin: string | undefined): string {
  return consoleCsp(publicOrigin ? [publicOrigin.replace(/^http/, 'ws')] : []);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * True when it answered; false when there is no dashboard build to serve. `path` is the request's
 * pathname, as the router parsed it (request-path.ts).
 */
export function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  rootDir: string,
  csp: string,
): boolean {
  const root = resolve(rootDir);
  const index = join(root, CONSOLE_SHELL);
  if (!isFile(index)) return false;
  const asset = resolveConsoleAsset(path);
  const candidate = asset && join(root, asset.file);
  const file =
    candidate && isFile(candidate) ? candidate : !asset || asset.shellIfMissing ? index : undefined;
  baseHeaders(res);
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': csp });
    res.end('Not found');
    return true;
  }
  const isIndex = file === index;
  res.writeHead(200, {
    'Content-Type': contentTypeOf(file),
    'Content-Security-Policy': csp,
    'Cache-Control': isIndex ? 'no-cache' : 'public, max-age=3600',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
  return true;
}
