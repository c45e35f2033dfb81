// Sockets are the hub's scarcest resource: each holds a file descriptor, and at the descriptor limit
// a process can no longer accept, open its database or answer anyone. The guard keeps the hub below
// that limit and keeps idle peers from holding descriptors:
//  - a socket must start a request within `idleTimeoutMs` of being accepted, each byte restarting
//    the clock (Node's headersTimeout/requestTimeout only start with a request, so a silent socket
//    lived forever); once a request has begun, headersTimeout bounds a slow sender. One timer looks
//    at every such socket (sweepIdle) instead of a timeout per socket: Node keeps a socket's timer
//    object after it is cleared, and an agent's socket lives for days;
//  - between requests, a keep-alive socket lives `keepAliveTimeoutMs`;
//  - at most `maxConnectionsPerAddress` sockets and `maxUpgradesPerAddress` WebSockets per address;
//  - at most `maxConnections` sockets in all, by default well under the process's descriptor limit,
//    so at the cap the hub refuses new sockets and keeps serving the ones it has.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { clientAddress } from './client-address';

export interface ConnectionLimits {
  /** From accept to the first byte of a request (TLS: to the end of the handshake). */
  idleTimeoutMs: number;
  /** An idle keep-alive socket between two requests. */
  keepAliveTimeoutMs: number;
  maxConnectionsPerAddress: number;
  /** Open WebSockets per address (an agent holds one, plus one per relayed visitor connection). */
  maxUpgradesPerAddress: number;
  /** Every socket of the hub's HTTP server together. */
  maxConnections: number;
}

/** The soft limit on open files of this process, when the OS says (Linux); undefined elsewhere. */
export function descriptorLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The global cap: 8192, or less when the descriptor limit is lower — a fifth of the descriptors (at
 * least 64) stay free for the database, the signing key, relay ports and their visitors.
 */
export function defaultMaxConnections(limit = descriptorLimit()): number {
  if (limit === undefined) return 8192;
  return Math.max(16, Math.min(8192, limit - Math.max(64, Math.floor(limit / 5))));
}

export function defaultConnectionLimits(): ConnectionLimits {
  return {
    idleTimeoutMs: 5_000,
    keepAliveTimeoutMs: 5_000,
    maxConnectionsPerAddress: 256,
    maxUpgradesPerAddress: 128,
    maxConnections: defaultMaxConnections(),
  };
}

const REFUSAL_LOG_INTERVAL_MS = 60_000;
const BUSY_RESPONSE =
  'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 10\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

export class ConnectionGuard {
  readonly limits: ConnectionLimits;
  private readonly perAddress = new Map<string, number>();
  private readonly upgradesPerAddress = new Map<string, number>();
  /** Sockets that have not started a request yet: their bytes read when last seen, and since when. */
  private readonly fresh = new Map<Socket, { bytesRead: number; since: number }>();
  private sweeper: NodeJS.Timeout | undefined;
  /** The address each accepted socket counts against, and the one its WebSocket counts against. */
  private readonly addressOf = new WeakMap<Duplex, string>();
  private readonly upgradeAddressOf = new WeakMap<Duplex, string>();
  // Shared listeners (an emitter calls them with itself as `this`) instead of closures per socket:
  // a hub holds thousands of idle agent sockets.
  private readonly onClose: (this: Duplex) => void;
  private open = 0;
  private refused = { perAddress: 0, upgrades: 0, total: 0 };
  private lastRefusalLog = 0;

  constructor(
    limits: Partial<ConnectionLimits> = {},
    private readonly trustProxy = 0,
    private readonly logger?: Logger,
  ) {
    this.limits = { ...defaultConnectionLimits(), ...limits };
    for (const [name, value] of Object.entries(this.limits)) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`connection limit ${name} must be ≥ 1`);
    }
    const closed = (socket: Duplex) => this.closed(socket);
    this.onClose = function () {
      closed(this);
    };
  }

  /** Installs the limits on the hub's server (HTTP or HTTPS). */
  attach(server: Server): void {
    server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    // Refused by net.Server itself, before any HTTP machinery: the cheapest possible refusal.
    server.maxConnections = this.limits.maxConnections;
    server.on('drop', () => {
      this.refused.total++;
      this.logRefusals();
    });
    server.on('connection', (socket: Socket) => this.accepted(socket));
    // HTTPS: the handshake is over; the HTTP layer reads from the TLS socket from here on.
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const raw = (tlsSocket as TLSSocket & { _parent?: Socket })._parent;
      if (raw) this.started(raw);
      this.armIdle(tlsSocket);
    });
    server.on('request', (req: IncomingMessage) => this.started(req.socket));
  }

  stats() {
    return { open: this.open, refused: { ...this.refused } };
  }

  /**
   * For the server's 'upgrade' event: false (and the socket answered 503 and closed) when the
   * address already holds its share of WebSockets.
   */
  admitUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    this.started(req.socket);
    const address = clientAddress(req, this.trustProxy);
    const count = this.upgradesPerAddress.get(address) ?? 0;
    if (count >= this.limits.maxUpgradesPerAddress) {
      this.refused.upgrades++;
      this.logRefusals();
      refuse(socket);
      return false;
    }
    this.upgradesPerAddress.set(address, count + 1);
    this.upgradeAddressOf.set(socket, address);
    // A plain HTTP upgrade is the accepted socket, whose close listener counts it down too; a TLS
    // socket is another object over the accepted one and gets its own.
    if (!this.addressOf.has(socket)) socket.on('close', this.onClose);
    return true;
  }

  private accepted(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const count = this.perAddress.get(address) ?? 0;
    if (count >= this.limits.maxConnectionsPerAddress) {
      this.refused.perAddress++;
      this.logRefusals();
      refuse(socket);
      return;
    }
    this.perAddress.set(address, count + 1);
    this.open++;
    this.addressOf.set(socket, address);
    // 'close' comes once: a plain listener, without the wrapper `once` makes per socket.
    socket.on('close', this.onClose);
    this.armIdle(socket);
  }

  private closed(socket: Duplex): void {
    this.fresh.delete(socket as Socket);
    const address = this.addressOf.get(socket);
    if (address !== undefined) {
      this.addressOf.delete(socket);
      this.open--;
      decrement(this.perAddress, address);
    }
    const upgradedFrom = this.upgradeAddressOf.get(socket);
    if (upgradedFrom !== undefined) {
      this.upgradeAddressOf.delete(socket);
      decrement(this.upgradesPerAddress, upgradedFrom);
    }
  }

  /** Until its first request, a socket may be silent for idleTimeoutMs; any byte restarts the clock. */
  private armIdle(socket: Socket): void {
    this.fresh.set(socket, { bytesRead: socket.bytesRead, since: Date.now() });
    if (this.sweeper) return;
    // A quarter of the timeout, at most a second: a silent socket goes within 1.25× the timeout.
    const every = Math.min(1_000, Math.max(25, Math.floor(this.limits.idleTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweepIdle(), every);
    this.sweeper.unref();
  }

  /** A request or upgrade began: from here Node's request, headers and keep-alive timeouts apply. */
  private started(socket: Socket): void {
    this.fresh.delete(socket);
  }

  /** Closes the sockets that have read nothing for idleTimeoutMs; stops once none is waiting. */
  private sweepIdle(): void {
    const now = Date.now();
    for (const [socket, seen] of this.fresh) {
      if (socket.destroyed) this.fresh.delete(socket);
      else if (socket.bytesRead !== seen.bytesRead) {
        seen.bytesRead = socket.bytesRead;
        seen.since = now;
      } else if (now - seen.since >= this.limits.idleTimeoutMs) {
        this.fresh.delete(socket);
        socket.destroy();
      }
    }
    if (this.fresh.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private logRefusals(): void {
    const now = Date.now();
    if (!this.logger || now - this.lastRefusalLog < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastRefusalLog = now;
    this.logger.warn(
      { refused: this.refused, open: this.open, limits: this.limits },
      'refusing connections over the caps (counts since start; logged at most once a minute)',
    );
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

/** A short answer, then the descriptor is released at once. */
function refuse(socket: Duplex): void {
  if (socket.writable) socket.write(BUSY_RESPONSE);
  socket.destroy();
}
