// One running hub: HTTP(S) server with the JSON API, the WebSocket upgrades, the built dashboard,
// the relay for shares, and the store. `startHub` is what `lattice hub` runs and what tests start on
// port 0.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino, { type Logger } from 'pino';
import type { AccountCaps } from './account-caps';
import { Accounts, type AccountsOptions } from './accounts';
import { loadOrCreateSigningKeys, sharedSigningKeys, TokenService } from './auth/tokens';
import { CommandQueue } from './command-queue';
import { CommandRelay, DEFAULT_COMMAND_TIMEOUTS_MS } from './command-relay';
import { advertiseAddress, hubAddress } from './hub-address';
import type { HubContext } from './hub-context';
import { createHubServer, listen } from './http/hub-server';
// Hub hardening (issue 13): connection caps and timeouts, trusted proxies, protocol violations.
import { ConnectionGuard, type ConnectionLimits } from './http/connection-guard';
import type { HashPoolOptions } from './auth/hash-pool';
import { ProtocolViolations, type ViolationLimits } from './sockets/protocol-violations';
import { createRequestRouter } from './http/request-router';
import { Inventory } from './inventory';
import { Presence } from './presence';
import { HubRelay } from './relay/hub-relay';
import { DEFAULT_RELAY_PORTS } from './relay/port-range';
import { DEFAULT_SOCKET_LIMITS, Heartbeat } from './sockets/socket-limits';
import { createUpgradeHandler } from './sockets/upgrade';
import type { HubStore } from './store/hub-store';
import { connectNatsBus } from './bus/nats-bus';
import { openPostgresStore } from './store/pg-store';
import { openSqliteStore } from './store/sqlite-store';
import type { AcmeOptions } from './tls/acme';
import { RELAY_CA_PATH, type HubToAgent } from '../shared';
import { serveRelayCa, startHubTls, type HubTls } from './tls/hub-tls';

/** The hub's one database file in its data directory. */
const HUB_DB_FILE = 'hub.db';

export interface HubOptions {
  dataDir: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 to serve the network. */
  host?: string;
  /** The URL people and agents use (behind a proxy it differs from the listen address). */
  publicUrl?: string;
  /**
   * PEM files: serve HTTPS/WSS and TLS on every relay port. `caFile`: the CA clients must trust when
   * the certificate is not publicly trusted (offered at /api/relay-ca.pem).
   */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /** Obtain and renew the certificate by ACME instead (server/tls/acme.ts). */
  acme?: AcmeOptions;
  allowedOrigins?: string[];
  /** Public ports for relay shares; default 20000-20099. */
  relayPorts?: { from: number; to: number };
  /** Host name visitors use for relay ports; default the public URL's host. */
  publicHost?: string;
  relay?: RelayTuning;
  /** Per-account caps on paired devices and relay shares; defaults in account-caps.ts. */
  accountCaps?: Partial<AccountCaps>;
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
  /** Login, registration, pairing and refresh limits (accounts.ts DEFAULT_AUTH_LIMITS). */
  authLimits?: AccountsOptions['limits'];
  /** How many password hashes run at once and how long one may wait (auth/hash-pool.ts). */
  hashPool?: Partial<HashPoolOptions>;
  /** Idle and keep-alive timeouts, per-address and global socket caps (http/connection-guard.ts). */
  connections?: Partial<ConnectionLimits>;
  /** Reverse proxies in front of the hub whose X-Forwarded-For is believed; default 0 (none). */
  trustProxy?: number;
  /** When a device's bad messages get it disconnected (sockets/protocol-violations.ts). */
  protocolViolations?: Partial<ViolationLimits>;
  /** Another store implementation; default SQLite (hub.db) in the data directory. */
  store?: HubStore;
  /** A postgres:// URL: keep all state there (store/pg-store.ts) instead of hub.db, shared by every hub. */
  database?: string;
  /** A nats:// URL: route commands, events and presence between the hubs sharing `database` (bus/). */
  bus?: string;
  /**
   * With `bus`: this hub process's own URL (not the load balancer's), which agents dial for relay
   * visitors that reach this hub. Default: the listen address; required when that is a wildcard.
   */
  advertiseUrl?: string;
}

/** Relay settings besides the port range; the defaults suit a real hub, tests shorten the waits. */
export interface RelayTuning {
  /** Where relay ports bind; default the hub's own listen address (`--host`). */
  bindHost?: string;
  streamClaimTimeoutMs?: number;
  offlineGraceMs?: number;
}

export interface RunningHub {
  url: string;
  port: number;
  store: HubStore;
  relay: HubRelay;
  /** The certificate (and its ACME renewal) when the hub serves TLS. */
  tls: HubTls;
  close(): Promise<void>;
}

const PACKAGE_ROOT = resolve(fileURLToPath(import.meta.url), '../..');

function timeoutFor(option: HubOptions['commandTimeoutMs']): (name: string) => number {
  if (typeof option === 'number') return () => option;
  if (typeof option === 'function') return option;
  return (name) => DEFAULT_COMMAND_TIMEOUTS_MS[name] ?? DEFAULT_COMMAND_TIMEOUTS_MS.default;
}

/**
 * The data directory is the hub operator's alone (0700), also when it existed looser: it holds the
 * signing key and the database.
 */
function keepPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Creates the file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the same mode). */
function privateFile(file: string): string {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return file;
}

export async function startHub(opts: HubOptions): Promise<RunningHub> {
  const host = opts.host ?? '127.0.0.1';
  const https = Boolean(opts.tls || opts.acme);
  // Checked before anything opens: a cluster hub without an address agents can dial is refused.
  if (opts.bus) advertiseAddress({ port: opts.port ?? 8080, host, https, advertiseUrl: opts.advertiseUrl });
  keepPrivate(opts.dataDir);
  const logger = opts.logger ?? pino({ level: process.env.LATTICE_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const store =
    opts.store ??
    (opts.database
      ? await openPostgresStore(opts.database)
      : openSqliteStore(privateFile(join(opts.dataDir, HUB_DB_FILE)), undefined, {
          onFallback: (err) =>
            logger.warn(
              { err: err.message },
              'hub.db checkpoint thread unavailable: SQLite checkpoints in the hub thread',
            ),
        }));
  const limits = {
    heartbeatMs: opts.heartbeatMs ?? DEFAULT_SOCKET_LIMITS.heartbeatMs,
    maxBufferedBytes: opts.maxBufferedBytes ?? DEFAULT_SOCKET_LIMITS.maxBufferedBytes,
  };
  const presence = new Presence(limits.maxBufferedBytes);
  try {
    if (opts.bus) presence.bus = await connectNatsBus(opts.bus, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  let accounts: Accounts;
  let port: number;
  let tls: HubTls;
  try {
    const certHost = opts.publicHost ?? (opts.publicUrl ? new URL(opts.publicUrl).hostname : undefined);
    tls = await startHubTls(opts, certHost, opts.dataDir, logger);
  } catch (err) {
    await presence.bus.close();
    await store.close();
    throw err;
  }
  const server = createHubServer(tls.certificate?.pair);
  // A renewed certificate applies to the next handshake; open connections keep their session.
  tls.certificate?.onChange((pair) =>
    (server as HttpsServer).setSecureContext({ cert: pair.certPem, key: pair.keyPem }),
  );
  const connections = new ConnectionGuard(opts.connections, opts.trustProxy ?? 0, logger);
  connections.attach(server);
  try {
    const keys = opts.database
      ? await sharedSigningKeys(store, opts.dataDir, (file) =>
          logger.warn(
            { file },
            "this key file differs from the signing key in the database; the database's is used",
          ),
        )
      : loadOrCreateSigningKeys(opts.dataDir);
    accounts = new Accounts(store, new TokenService(keys), {
      loginFailures: opts.loginFailures,
      pairFailures: opts.pairFailures,
      registrations: opts.registrations,
      maxDevices: opts.accountCaps?.devices,
      limits: opts.authLimits,
      hashPool: opts.hashPool,
    });
    port = await listen(server, opts.port ?? 8080, host);
  } catch (err) {
    await tls.acme?.close();
    await presence.bus.close();
    await store.close();
    throw err;
  }
  const address = hubAddress({
    port,
    host,
    https: Boolean(tls.certificate),
    publicUrl: opts.publicUrl,
    extraOrigins: opts.allowedOrigins,
  });

  const heartbeat = new Heartbeat(limits);
  const relayLogger = logger.child({ part: 'relay' });
  const ports = opts.relayPorts
    ? { first: opts.relayPorts.from, last: opts.relayPorts.to }
    : DEFAULT_RELAY_PORTS;
  const publicHost = opts.publicHost ?? new URL(address.url).hostname;
  // In a cluster the agent's own hub URL is the load balancer, which may send its stream to any hub:
  // streams are dialled to this hub process by name.
  const ownUrl = opts.bus
    ? advertiseAddress({ port, host, https: Boolean(tls.certificate), advertiseUrl: opts.advertiseUrl })
    : undefined;
  /** `stream.open` down the device's socket on this hub; false when it has none here. */
  const openStreamHere = (
    deviceId: string,
    open: Omit<Extract<HubToAgent, { type: 'stream.open' }>, 'type'>,
  ) => presence.agent(deviceId)?.send({ type: 'stream.open', ...open }) ?? false;
  const relayCaUrl = new URL(RELAY_CA_PATH, address.url).toString();
  const relay = new HubRelay({
    publicHost,
    ports,
    bindHost: opts.relay?.bindHost ?? host,
    assignments: store,
    sendToDevice: (deviceId, msg) => presence.agent(deviceId)?.send(msg) ?? false,
    requestStream: (deviceId, stream) => {
      if (presence.agent(deviceId)) return openStreamHere(deviceId, { ...stream, hubUrl: ownUrl });
      if (!ownUrl) return false;
      return presence.bus.streamElsewhere({ deviceId, ...stream, hubUrl: ownUrl }, 5_000);
    },
    isDeviceOnline: (deviceId) =>
      presence.agent(deviceId) !== undefined || presence.bus.isOnlineElsewhere(deviceId),
    announce: opts.bus
      ? {
          opened: (notice) => presence.bus.announceShare(notice),
          closed: (shareId) => presence.bus.announceShareClosed(shareId),
        }
      : undefined,
    logger: relayLogger,
    streamClaimTimeoutMs: opts.relay?.streamClaimTimeoutMs,
    offlineGraceMs: opts.relay?.offlineGraceMs,
    maxSharesPerAccount: opts.accountCaps?.relayShares,
    tls: tls.certificate ? { certificate: tls.certificate, caUrl: relayCaUrl } : undefined,
  });
  relayLogger.info({ ports: `${ports.first}-${ports.last}`, publicHost }, 'relay sharing enabled');

  const commands = new CommandRelay(store, presence, logger, timeoutFor(opts.commandTimeoutMs));
  const queue = new CommandQueue(store, presence, commands, logger.child({ part: 'queue' }));
  await presence.bus.start({
    runCommand: ({ user, device, cmd }) => commands.relay(user, device, cmd, { fromBus: true }),
    deliverEvent: (userId, event) => presence.publishHere(userId, event),
    closeAgent: (deviceId) => presence.agent(deviceId)?.ws.close(4009, 'connected through another hub'),
    openStream: ({ deviceId, ...open }) => openStreamHere(deviceId, open),
    shareOpened: (notice) => void relay.remoteOpened(notice),
    shareClosed: (shareId) => void relay.remoteClosed(shareId),
    sharesHere: () => relay.homeShares(),
  });
  const ctx: HubContext = {
    store,
    accounts,
    presence,
    commands,
    inventory: new Inventory(store, presence, logger.child({ part: 'inventory' })),
    queue,
    relay,
    heartbeat,
    limits,
    logger,
    allowedOrigins: address.allowedOrigins,
    publicUrl: address.url,
    staticDir: opts.staticDir ?? join(PACKAGE_ROOT, 'dist', 'renderer'),
    csp: address.csp,
    trustProxy: opts.trustProxy ?? 0,
    // A CA to hand out exists only when the certificate is not publicly trusted (hub-certificate.ts).
    hubCaUrl: () => (tls.certificate?.trust.caPem ? relayCaUrl : undefined),
    violations: new ProtocolViolations(logger, opts.protocolViolations),
  };
  // Attached in the same tick as listen() resolved: no request can arrive before its handler.
  const router = createRequestRouter(ctx);
  server.on('request', (req, res) => {
    if (!serveRelayCa(tls, req, res)) router(req, res);
  });
  const upgrades = createUpgradeHandler(ctx);
  server.on('upgrade', (req, socket, head) => {
    if (connections.admitUpgrade(req, socket)) upgrades.handle(req, socket, head);
  });

  let closing: Promise<void> | undefined;
  return {
    url: address.url,
    port,
    store,
    relay,
    tls,
    close() {
      closing ??= (async () => {
        heartbeat.stop();
        queue.close();
        upgrades.close();
        presence.closeAll();
        await presence.bus.close();
        await relay.close().catch((err) => logger.error({ err }, 'relay close failed'));
        await tls.acme?.close();
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
