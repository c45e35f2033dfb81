// The console is served from `app://lattice/…`, a privileged custom scheme, rather than file://.
// It gives the page a real origin of its own (so `'self'` in the CSP and the IPC sender check mean
// exactly our files), lets Vite's absolute `/assets/…` URLs resolve, and never exposes the filesystem.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Protocol } from 'electron';
import { CONSOLE_SHELL, contentTypeOf, resolveConsoleAsset } from '../../shared/console-assets';
import { CONTENT_SECURITY_POLICY } from './csp';

export const APP_SCHEME = 'app';
export const APP_HOST = 'lattice';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const CONSOLE_URL = `${APP_ORIGIN}/index.html`;

/** True only for a URL of the console itself (custom schemes have an opaque `origin`, so compare parts). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    return (
      parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST && !parsed.username && !parsed.password
    );
  } catch {
    return false;
  }
}

/** Must run before the app is ready: Electron fixes the scheme list at startup. */
export function registerAppScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
};

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Answers `app://lattice/<path>` from `rootDir` (dist/renderer). Paths that escape the root and
 * other hosts get 404; routes without an extension get the app shell, as a single-page app expects.
 */
export function createAppRequestHandler(rootDir: string): (request: Request) => Promise<Response> {
  const root = resolve(rootDir);
  const notFound = () =>
    new Response('Not found', {
      status: 404,
      headers: { 'content-type': 'text/plain', ...SECURITY_HEADERS },
    });
  // A window that only said "Not found" would leave a developer guessing.
  const notBuilt = () =>
    new Response(`Lattice's console is not built (${root} has no index.html): run \`npm run build\`.`, {
      status: 503,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS },
    });
  return async (request) => {
    const url = new URL(request.url);
    if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return notFound();
    const asset = resolveConsoleAsset(url.pathname);
    if (!asset) return notFound();
    const shell = join(root, CONSOLE_SHELL);
    if (!(await isFile(shell))) return notBuilt();
    let file = join(root, asset.file);
    if (!(await isFile(file))) {
      if (!asset.shellIfMissing) return notFound();
      file = shell;
    }
    const body = await readFile(file);
    return new Response(new Uint8Array(body), {
      status: 200,
      headers: {
        'content-type': contentTypeOf(file),
        ...SECURITY_HEADERS,
      },
    });
  };
}

export function serveAppProtocol(protocol: Pick<Protocol, 'handle'>, rootDir: string): void {
  protocol.handle(APP_SCHEME, createAppRequestHandler(rootDir));
}
