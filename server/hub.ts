// One running hub: HTTP(S) server with the JSON API, the WebSocket upgrades, the built dashboard,
// and the store. `startHub` is what `lattice hub` runs and what tests start on port 0.
import { mkdirSync, readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import { Accounts, type AccountsOptions } from './accounts';
import { loadOrCreateSigningKeys, TokenService } from './auth/tokens';
import { CommandRelay, DEFAULT_COMMAND_TIMEOUTS_MS } from './command-relay';
import type { HubContext } from './hub-context';
import { handleApi } from './http/api-routes';
import { baseHeaders, sendJson } from './http/responses';
import { contentSecurityPolicy, serveStatic } from './http/static-files';
import { Presence } from './presence';
import { relayDisabled, type RelayFactory } from './relay/relay-hooks';
import { DEFAULT_SOCKET_LIMITS, Heartbeat } from './sockets/socket-limits';
import { createUpgradeHandler } from './sockets/upgrade';
import type { HubStore } from './store/hub-store';
import { openSqliteStore } from './store/sqlite-store';

export interface HubOptions {
  dataDir: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 to serve the network. */
  host?: string;
  /** The URL people and agents use (behind a proxy it differs from the listen address). */
  publicUrl?: string;
  /** PEM files: serve HTTPS/WSS directly. */
  tls?: { certFile: string; keyFile: string };
  allowedOrigins?: string[];
  relayPorts?: { from: number; to: number };
  publicHost?: string;
  /** The built dashboard; default dist/renderer of this package. */
  staticDir?: string;
  logger?: Logger;
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  /** One timeout for every command, or per command name. Default 120 s for deploy, 60 s otherwise. */
  commandTimeoutMs?: number | ((name: string) => number);
  loginFailures?: AccountsOptions['loginFailures'];
  pairFailures?: AccountsOptions['pairFailures'];
  registrations?: AccountsOptions['registrations'];
  /** The relay module (server/relay/); default: relay sharing disabled. */
  relay?: RelayFactory;
  /** Another store implementation; default SQLite in the data directory. */
  store?: HubStore;
}

export interface RunningHub {
  url: string;
  port: number;
  store: HubStore;
  close(): Promise<void>;
}

const PACKAGE_ROOT = resolve(fileURLToPath(import.meta.url), '../..');

function timeoutFor(option: HubOptions['commandTimeoutMs']): (name: string) => number {
  if (typeof option === 'number') return () => option;
  if (typeof option === 'function') return option;
  return (name) => DEFAULT_COMMAND_TIMEOUTS_MS[name] ?? DEFAULT_COMMAND_TIMEOUTS_MS.default;
}

export async function startHub(opts: HubOptions): Promise<RunningHub> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const logger = opts.logger ?? pino({ level: process.env.LATTICE_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const store = opts.store ?? openSqliteStore(join(opts.dataDir, 'hub.db'));
  const tokens = new TokenService(loadOrCreateSigningKeys(opts.dataDir));
  const limits = {
    heartbeatMs: opts.heartbeatMs ?? DEFAULT_SOCKET_LIMITS.heartbeatMs,
    maxBufferedBytes: opts.maxBufferedBytes ?? DEFAULT_SOCKET_LIMITS.maxBufferedBytes,
  };
  const presence = new Presence(limits.maxBufferedBytes);
  const accounts = new Accounts(store, tokens, {
    loginFailures: opts.loginFailures,
    pairFailures: opts.pairFailures,
    registrations: opts.registrations,
  });
  const heartbeat = new Heartbeat(limits);
  const https = Boolean(opts.tls);
  const ctx: HubContext = {
    store,
    accounts,
    presence,
    commands: new CommandRelay(store, presence, logger, timeoutFor(opts.commandTimeoutMs)),
    relayHooks: undefined as unknown as HubContext['relayHooks'],
    heartbeat,
    limits,
    logger,
    allowedOrigins: new Set(),
    publicUrl: '',
    staticDir: opts.staticDir ?? join(PACKAGE_ROOT, 'dist', 'renderer'),
    csp: '',
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    const origin = req.headers.origin;
    if (origin && ctx.allowedOrigins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS' && path.startsWith('/api/')) {
      baseHeaders(res);
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, DELETE',
        'Access-Control-Allow-Headers': 'authorization, content-type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      void handleApi(ctx, req, res);
      return;
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && serveStatic(req, res, ctx.staticDir, ctx.csp))
      return;
    sendJson(res, 404, {
      ok: false,
      error: { code: 'not_found', message: 'Nothing here (the dashboard is not built: npm run build)' },
    });
  };

  const server: Server = opts.tls
    ? createHttpsServer(
        { cert: readFileSync(opts.tls.certFile), key: readFileSync(opts.tls.keyFile) },
        onRequest,
      )
    : createHttpServer(onRequest);
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000 * 3;
  const upgrades = createUpgradeHandler(ctx);
  server.on('upgrade', (req, socket, head) => upgrades.handle(req, socket, head));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  const scheme = https ? 'https' : 'http';
  const listenHost = opts.host ?? '127.0.0.1';
  const shownHost = listenHost === '0.0.0.0' || listenHost === '::' ? 'localhost' : listenHost;
  const url = (
    opts.publicUrl ?? `${scheme}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`
  ).replace(/\/+$/, '');
  const publicOrigin = new URL(url).origin;
  ctx.publicUrl = url;
  ctx.csp = contentSecurityPolicy(publicOrigin);
  ctx.allowedOrigins.add(publicOrigin);
  if (!opts.publicUrl) {
    for (const host of ['127.0.0.1', 'localhost']) ctx.allowedOrigins.add(`${scheme}://${host}:${port}`);
  }
  for (const o of opts.allowedOrigins ?? []) ctx.allowedOrigins.add(new URL(o).origin);
  ctx.relayHooks = (opts.relay ?? relayDisabled)({
    logger: logger.child({ part: 'relay' }),
    relayPorts: opts.relayPorts,
    publicHost: opts.publicHost ?? new URL(url).hostname,
    publicUrl: url,
    device: (deviceId) => {
      const conn = presence.agent(deviceId);
      return conn && { deviceId: conn.deviceId, userId: conn.userId, send: (m) => conn.send(m) };
    },
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    store,
    close() {
      closing ??= (async () => {
        heartbeat.stop();
        upgrades.close();
        presence.closeAll();
        await ctx.relayHooks.close().catch((err) => logger.error({ err }, 'relay close failed'));
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
        await store.close();
      })();
      return closing;
    },
  };
}
