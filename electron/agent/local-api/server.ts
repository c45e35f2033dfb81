// The agent's loopback HTTP API: the CLI's door (API token) and the headless console's (session cookie).
// Listens on 127.0.0.1 only; Host and Origin checks keep web pages on other origins out.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LOCAL_API, LatticeError } from '../../../shared';
import type { Agent } from '../agent';
import { LATTICE_VERSION } from '../../../shared/version';
import { ApiAuth, hostAllowed, loadOrCreateApiToken, originIsOwn } from './auth';
import { HttpError, readJsonBody, sendError, sendJson } from './http-io';
import { buildOpenApi } from './openapi';
import { handleApiRoute } from './routes';
import { SECURITY_HEADERS, defaultConsoleDir, serveConsoleFile } from './static-console';
import { removeRunningFile, writeRunningFile, type RunningAgentFile } from './running-file';

export interface LocalApiOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The built console to serve; defaults to dist/renderer at the repo root. */
  consoleDir?: string;
}

export interface LocalApi {
  url: string;
  port: number;
  /** Opens the console with a one-time token that becomes a session cookie. */
  consoleLoginUrl: string;
  /** A fresh one-time login URL (the tray's "Open console in browser" asks for one each time). */
  newConsoleLoginUrl(): string;
  server: Server;
  close(): Promise<void>;
}

export async function startLocalApi(agent: Agent, opts: LocalApiOptions = {}): Promise<LocalApi> {
  const auth = new ApiAuth(loadOrCreateApiToken(agent.dataDir));
  const consoleDir = opts.consoleDir ?? defaultConsoleDir();
  let openapi: Record<string, unknown> | undefined;
  let port = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostAllowed(req, port)) {
      throw new LatticeError(
        'forbidden',
        `Host "${req.headers.host ?? ''}" is not this agent (use 127.0.0.1:${port})`,
      );
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (path === LOCAL_API.health && method === 'GET')
      return sendJson(res, 200, { service: 'agent', version: LATTICE_VERSION });
    if (path === LOCAL_API.openapi && method === 'GET') {
      openapi ??= buildOpenApi(LATTICE_VERSION);
      return sendJson(res, 200, openapi);
    }
    if (path === LOCAL_API.login && method === 'GET') return login(url, res);
    if (path === LOCAL_API.session) {
      if (method !== 'POST') throw new HttpError(405, { code: 'invalid_argument', message: 'Use POST' });
      // A browser always sends Origin on POST; one from elsewhere must not plant a session.
      if (req.headers.origin !== undefined && !originIsOwn(req)) {
        throw new LatticeError('forbidden', 'Origin is not this agent');
      }
      const body = (await readJsonBody(req)) as { token?: unknown } | undefined;
      const token = typeof body?.token === 'string' ? body.token : '';
      if (!token || !(auth.redeemOneTimeToken(token) || auth.isApiToken(token))) {
        throw new LatticeError('unauthorized', 'That console token is wrong or was already used');
      }
      return sendJson(
        res,
        200,
        { ok: true, value: {} },
        { 'set-cookie': auth.sessionCookie(auth.newSession()) },
      );
    }

    if (path === '/api' || path.startsWith('/api/')) {
      const how = auth.authenticate(req);
      if (!how) {
        throw new LatticeError(
          'unauthorized',
          'Missing or wrong API token (see the api-token file in the data dir)',
        );
      }
      if (how === 'cookie' && method !== 'GET' && method !== 'HEAD' && !originIsOwn(req)) {
        throw new LatticeError('forbidden', 'Cross-origin request refused');
      }
      return handleApiRoute(agent, { req, res, url });
    }

    if ((method === 'GET' || method === 'HEAD') && serveConsoleFile(consoleDir, path, res)) return;
    throw new LatticeError('not_found', `No console here (build it with \`npm run build\`): ${path}`);
  };

  function login(url: URL, res: ServerResponse) {
    const token = url.searchParams.get('token') ?? '';
    if (!token || !auth.redeemOneTimeToken(token)) {
      res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS });
      res.end(
        '<!doctype html><title>Lattice</title><p>This console link is wrong or was already used. ' +
          'Run <code>lattice agent</code> for a new one, or <a href="/">open the console</a> and paste the API token.</p>',
      );
      return;
    }
    res.writeHead(302, {
      location: '/',
      'set-cookie': auth.sessionCookie(auth.newSession()),
      'cache-control': 'no-store',
    });
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // The request may still be sending a body we refused: close instead of reading it all.
      if (err instanceof HttpError) {
        sendJson(res, err.status, { ok: false, error: err.body }, { connection: 'close' });
      } else sendError(res, err);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Loopback only, never another address: the Docker Engine behind this API is root on the machine.
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;

  const running: RunningAgentFile = { url, pid: process.pid, startedAt: new Date().toISOString() };
  writeRunningFile(agent.dataDir, running);

  const newConsoleLoginUrl = () => `${url}${LOCAL_API.login}?token=${auth.issueOneTimeToken()}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    port,
    consoleLoginUrl: newConsoleLoginUrl(),
    newConsoleLoginUrl,
    server,
    close: () =>
      (closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        // Event streams and followed logs never end by themselves.
        server.closeAllConnections();
        await done;
        removeRunningFile(agent.dataDir, running);
      })()),
  };
}
