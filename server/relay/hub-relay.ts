// The hub's side of relay shares. For each share it listens on a public port from the configured
// range; for every visitor connection it asks the owning agent to dial a new stream back to
// `/agent/stream/:streamId`, then joins the visitor and that stream — one connection per visitor,
// with backpressure. The stream is an HTTP upgrade to BYTE_STREAM_PROTOCOL (after the 101 the
// connection carries the visitor's bytes as they are, as in a plain TCP proxy), or a WebSocket when
// the agent or a proxy between does not take that upgrade. A TCP share's plain byte stream and its
// plain visitor are joined in the pump process (pump-child.ts), off this process's main thread and
// its busier stream code; TLS sockets and WebSocket streams are joined here. HTTP shares are parsed
// here so basic auth is checked before anything reaches the owner's computer. Built and owned by
// startHub (server/hub.ts); port reservations live in the hub's one store (relay_assignments).
//
// In a cluster every hub listens on every live share's port (the load balancer may send a visitor to
// any of them): the hub holding the device's control link opens the share ("home") and announces it;
// the others listen for it too ("mirror") and ask for streams through the bus. When the device
// reconnects through another hub, its re-open there makes that hub the home.
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, Socket, type Server as TcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  BYTE_STREAM_PROTOCOL,
  MAX_MESSAGE_BYTES,
  type AgentToHub,
  type ErrorBody,
  type HubToAgent,
} from '../../shared';
import { KeyedLock, timerDelay } from '../../shared/keyed-lock';
import { rejectUpgrade } from '../sockets/reject-upgrade';
import type { RelayAssignment, RelayAssignmentStore } from '../store/hub-store';
import { BASIC_AUTH_CHALLENGE, basicAuthMatches, type BasicCredentials } from './basic-auth';
import { proxyHttpRequest, proxyHttpUpgrade } from './http-relay-proxy';
import { inRange, type PortRange } from './port-range';
import type { HubCertificate } from '../tls/hub-certificate';
import type { RelayShareNotice } from '../bus/hub-bus';
import { tlsFront, type RelayProtection } from './relay-tls';
import { joinSockets, prepareByteStream, pumpStream } from '../../shared/stream-pump';
import { RelayPump } from './pump-child';

type RelayOpen = Extract<AgentToHub, { type: 'relay.open' }>;
type RelayClose = Extract<AgentToHub, { type: 'relay.close' }>;

/**
 * HTTP shares' streams (a Duplex for http.request): how far each direction may run ahead of its
 * reader. createWebSocketStream's default, 16 KiB, is less than one socket read: every message paused
 * the WebSocket and every write waited for the one before, so bulk data crawled. Still a bound. TCP
 * shares pump bytes without a Duplex (stream-pump.ts), with a bound of their own. Byte streams need
 * neither: they are sockets.
 */
const STREAM_BUFFERS = { readableHighWaterMark: 256 * 1024, writableHighWaterMark: 256 * 1024 };

type RelayMessage = RelayOpen | RelayClose;

/** An agent's stream for one visitor: its upgraded socket (byte stream), or a WebSocket. */
type AgentStream = { socket: Socket } | { ws: WebSocket };

/** A stream as the Duplex an HTTP share's request travels over. */
const asDuplex = (stream: AgentStream): Duplex => {
  if ('socket' in stream) return stream.socket;
  const duplex = createWebSocketStream(stream.ws, STREAM_BUFFERS);
  duplex.on('error', () => undefined);
  return duplex;
};

const cutStream = (stream: AgentStream): void => {
  if ('ws' in stream) stream.ws.terminate();
  else stream.socket.destroy();
};

/** Whether an upgrade to `/agent/stream/:id` asks for a byte stream rather than a WebSocket. */
const wantsByteStream = (req: IncomingMessage): boolean =>
  (req.headers.upgrade ?? '').trim().toLowerCase() === BYTE_STREAM_PROTOCOL;

/** The device whose control link a relay message came over, and its account. */
export interface RelayDevice {
  deviceId: string;
  userId: string;
}

export interface HubRelayOptions {
  /** Host name visitors use (from `--public-host`, or the host of the hub's public URL). */
  publicHost: string;
  ports: PortRange;
  /** Where relay listeners bind; default all interfaces (they are public by design). */
  bindHost?: string;
  /** The hub's store: reservations survive hub restarts so re-opened shares keep their address. */
  assignments: RelayAssignmentStore;
  /** Sends a message down a device's control link; false when the device is offline. */
  sendToDevice(deviceId: string, msg: HubToAgent): boolean;
  /**
   * Asks the device's agent to dial the stream to this hub, over its control link here or through
   * the hub holding it; false (or a promise of false) when no hub holds the device.
   */
  requestStream(
    deviceId: string,
    stream: { streamId: string; shareId: string; byteStream: boolean },
  ): boolean | Promise<boolean>;
  /** Whether the device has a control link to any hub now (an old socket's close can arrive after the new one opened). */
  isDeviceOnline?(deviceId: string): boolean;
  /** Tells the other hubs of a cluster that a share opened here, or ended. */
  announce?: {
    opened(notice: RelayShareNotice): void;
    closed(shareId: string): void;
  };
  /**
   * Relay shares one account may hold at once (open, or reserved while its device is away), so one
   * account cannot take the whole range. Default 20.
   */
  maxSharesPerAccount?: number;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** A visitor whose stream the agent has not claimed by then is dropped. Default 10 s. */
  streamClaimTimeoutMs?: number;
  /** Listeners of a device whose control link dropped stay open this long for it to come back. Default 2 min. */
  offlineGraceMs?: number;
  /** Ping interval of stream WebSockets; a stream that misses a whole interval is terminated. Default 30 s. */
  heartbeatMs?: number;
  /** The hub's certificate: every relay port speaks TLS with it (relay-tls.ts), unless a share asks plain. */
  tls?: { certificate: HubCertificate; caUrl: string };
}

interface LiveShare {
  /** Opened by the device's agent over this hub (false: opened through another hub, listened for here too). */
  home: boolean;
  deviceId: string;
  userId: string;
  shareId: string;
  kind: 'tcp' | 'http';
  /** How the public side is secured (`plain` whenever the hub has no certificate). */
  protection: RelayProtection;
  port: number;
  url: string;
  basicAuth?: BasicCredentials;
  expiresAt: string | null;
  server: TcpServer | HttpServer;
  /** Every visitor socket, so closing the share cuts them all. */
  visitors: Set<Duplex>;
  streams: Set<AgentStream>;
  /** Visitors joined to their streams in the pump process (pump-child.ts), by pair number. */
  pumped: Set<number>;
  pending: Set<string>;
  expiryTimer?: NodeJS.Timeout;
}

interface PendingStream {
  share: LiveShare;
  resolve(stream: AgentStream): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class RelayError extends Error {
  constructor(readonly body: ErrorBody) {
    super(body.message);
  }
}

export class HubRelay {
  private readonly live = new Map<string, LiveShare>();
  private readonly pendingStreams = new Map<string, PendingStream>();
  /** Serialises open/close per share: an agent re-opening after a reconnect may race its own close. */
  private readonly shareLock = new KeyedLock();
  /**
   * Serialises choosing ports and counting an account's shares across all shares of this hub, so two
   * opens cannot both pass the account's cap or both pick the last free port.
   */
  private readonly allocation = new KeyedLock();
  private readonly offlineTimers = new Map<string, NodeJS.Timeout>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly wss: WebSocketServer;
  private readonly heartbeat: NodeJS.Timeout;
  /** In a cluster: mirrors whose device no hub holds, since when (they close after the grace period). */
  private readonly mirrorsOffline = new Map<string, number>();
  private readonly mirrorSweep?: NodeJS.Timeout;
  private closed = false;
  /** Where plain byte streams are pumped, off this process's main thread (pump-process.ts). */
  private readonly pump: RelayPump;

  constructor(private readonly opts: HubRelayOptions) {
    this.pump = new RelayPump(opts.logger);
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
    });
    this.heartbeat = setInterval(() => this.pingStreams(), opts.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
    if (opts.announce) {
      const grace = opts.offlineGraceMs ?? 120_000;
      this.mirrorSweep = setInterval(
        () => this.sweepMirrors(grace),
        Math.min(15_000, Math.max(250, grace / 4)),
      );
      this.mirrorSweep.unref();
    }
  }

  /**
   * A mirror has no control link here to lose, so no agentDisconnected: when its home hub died and the
   * device came back through no hub within the grace period, it closes here too.
   */
  private sweepMirrors(graceMs: number): void {
    const now = Date.now();
    for (const share of this.live.values()) {
      if (share.home || this.opts.isDeviceOnline?.(share.deviceId) !== false) {
        this.mirrorsOffline.delete(share.shareId);
        continue;
      }
      const since = this.mirrorsOffline.get(share.shareId) ?? now;
      this.mirrorsOffline.set(share.shareId, since);
      if (now - since < graceMs) continue;
      this.mirrorsOffline.delete(share.shareId);
      void this.shareLock.run(share.shareId, async () => {
        if (this.live.get(share.shareId) === share) await this.closeLive(share, 'device offline');
      });
    }
    for (const id of this.mirrorsOffline.keys()) if (!this.live.has(id)) this.mirrorsOffline.delete(id);
  }

  /** Handles `relay.open` / `relay.close` from a device's control link; replies go down the same link. */
  async handleAgentMessage(device: RelayDevice, msg: RelayMessage): Promise<void> {
    const { deviceId } = device;
    if (msg.type === 'relay.close') {
      await this.shareLock.run(msg.shareId, () => this.closeForDevice(deviceId, msg.shareId));
      return;
    }
    let reply: HubToAgent;
    try {
      const share = await this.shareLock.run(msg.shareId, () => this.open(device, msg));
      reply = {
        type: 'relay.opened',
        requestId: msg.requestId,
        shareId: share.shareId,
        publicHost: this.opts.publicHost,
        publicPort: share.port,
        url: share.url,
        ...(share.protection !== 'plain' ? { tls: this.tlsInfo(share.protection) } : {}),
      };
    } catch (err) {
      const body: ErrorBody =
        err instanceof RelayError
          ? err.body
          : { code: 'share_failed', message: `The hub could not open the relay: ${(err as Error).message}` };
      reply = { type: 'relay.error', requestId: msg.requestId, error: body };
    }
    this.opts.sendToDevice(deviceId, reply);
  }

  /** The device's control link is up again: keep its listeners. */
  agentConnected(deviceId: string): void {
    clearTimeout(this.offlineTimers.get(deviceId));
    this.offlineTimers.delete(deviceId);
  }

  /**
   * The device's control link dropped. Its listeners stay open for a grace period (a network blip
   * should not cut visitors whose streams are still up); after that they close. Port reservations
   * stay, so the agent's re-open gets the same addresses.
   */
  agentDisconnected(deviceId: string): void {
    clearTimeout(this.offlineTimers.get(deviceId));
    const timer = setTimeout(() => {
      this.offlineTimers.delete(deviceId);
      if (this.opts.isDeviceOnline?.(deviceId)) return;
      for (const share of [...this.live.values()]) {
        if (share.deviceId === deviceId)
          void this.shareLock.run(share.shareId, () => this.closeLive(share, 'device offline'));
      }
    }, this.opts.offlineGraceMs ?? 120_000);
    timer.unref();
    this.offlineTimers.set(deviceId, timer);
  }

  /** The device was revoked: its shares end, so their listeners close and their ports are free. */
  async forgetDevice(deviceId: string): Promise<void> {
    for (const share of [...this.live.values()]) {
      if (share.deviceId !== deviceId) continue;
      await this.shareLock.run(share.shareId, () => this.closeLive(share, 'device revoked'));
      this.opts.announce?.closed(share.shareId);
    }
    await this.opts.assignments.releaseRelayPortsOfDevice(deviceId);
  }

  /**
   * `/agent/stream/:streamId`, after the hub checked the device token at the upgrade. Only the device
   * that owns the share may claim its stream.
   */
  handleStreamUpgrade(
    deviceId: string,
    streamId: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): void {
    const pending = this.pendingStreams.get(streamId);
    if (!pending || pending.share.deviceId !== deviceId) {
      rejectUpgrade(socket, pending ? 403 : 404, pending ? 'Not your stream' : 'No such stream');
      return;
    }
    this.pendingStreams.delete(streamId);
    pending.share.pending.delete(streamId);
    clearTimeout(pending.timer);
    if (!wantsByteStream(req)) {
      // ws answers a bad handshake itself (400) and never calls back: the visitor must not wait on it.
      const failed = () => pending.reject(new Error("the agent's stream handshake failed"));
      socket.once('close', failed);
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.off('close', failed);
        pending.resolve({ ws });
      });
      return;
    }
    // The upgrade's own server socket (net.Socket, or a TLS socket on an https hub).
    const raw = socket as Socket;
    raw.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${BYTE_STREAM_PROTOCOL}\r\n\r\n`,
      (err) => {
        // Once the 101 is in the kernel: the socket may then go to the pump process, where this
        // process's unsent bytes would not follow it.
        if (err || raw.destroyed) {
          raw.destroy();
          pending.reject(new Error("the agent's stream closed at its upgrade"));
          return;
        }
        // Bytes the agent sent behind its request belong to the visitor's stream.
        prepareByteStream(raw, head);
        pending.resolve({ socket: raw });
      },
    );
  }

  /** Public ports currently listening, by share id (for status pages and tests). */
  listening(): { shareId: string; deviceId: string; port: number; kind: 'tcp' | 'http'; visitors: number }[] {
    return [...this.live.values()].map((s) => ({
      shareId: s.shareId,
      deviceId: s.deviceId,
      port: s.port,
      kind: s.kind,
      visitors: s.visitors.size + s.pumped.size,
    }));
  }

  /** The pump process: its pid once started, and the pairs it carries (for tests and status). */
  pumpStatus(): ReturnType<RelayPump['status']> {
    return this.pump.status();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.mirrorSweep);
    for (const t of this.offlineTimers.values()) clearTimeout(t);
    this.offlineTimers.clear();
    await Promise.all([...this.live.values()].map((s) => this.closeLive(s, 'hub stopping')));
    await this.pump.close();
    this.wss.close();
  }

  // ---- opening ----

  private async open(device: RelayDevice, msg: RelayOpen): Promise<LiveShare> {
    const { deviceId } = device;
    if (this.closed) throw new RelayError({ code: 'share_failed', message: 'The hub is stopping' });
    if (msg.expiresAt !== null && Date.parse(msg.expiresAt) <= Date.now()) {
      throw new RelayError({
        code: 'invalid_argument',
        message: 'The share has already expired',
        field: 'expiresAt',
      });
    }
    const existing = this.live.get(msg.shareId);
    if (existing && existing.deviceId !== deviceId) throw this.notYours();
    const reserved = await this.opts.assignments.relayAssignment(msg.shareId);
    if (reserved && reserved.deviceId !== deviceId) throw this.notYours();

    if (existing && existing.kind === msg.kind && existing.protection === this.protectionOf(msg)) {
      // The agent re-opening after a reconnect (perhaps through this hub after another died): same
      // listener, refreshed terms, and this hub is now the one that opened it.
      existing.home = true;
      existing.basicAuth = msg.basicAuth;
      existing.expiresAt = msg.expiresAt;
      await this.opts.assignments.reserveRelayPort({
        shareId: existing.shareId,
        userId: existing.userId,
        deviceId,
        port: existing.port,
        kind: existing.kind,
        expiresAt: msg.expiresAt,
      });
      this.armExpiry(existing);
      this.opts.announce?.opened(this.notice(existing));
      return existing;
    }
    if (existing) await this.closeLive(existing, 'kind or protection changed');
    const share = await this.allocation.run('ports', async () => {
      await this.releaseEnded();
      if (!reserved) await this.checkAccountCap(device.userId);
      // The share's own reservation first (its visitors know that address), then the port the agent
      // asks for if nobody holds it; whoever holds a port, it is never taken from them here.
      const candidates: number[] = [];
      if (reserved && inRange(this.opts.ports, reserved.port)) candidates.push(reserved.port);
      if (msg.preferredPort !== undefined && inRange(this.opts.ports, msg.preferredPort)) {
        const holder = await this.opts.assignments.relayAssignmentAt(msg.preferredPort);
        if (!holder || holder.shareId === msg.shareId) candidates.push(msg.preferredPort);
      }
      return this.listenOnFirstFree(device, msg, candidates, reserved);
    });
    this.live.set(msg.shareId, share);
    this.armExpiry(share);
    this.opts.announce?.opened(this.notice(share));
    this.opts.logger?.info(
      { deviceId, shareId: msg.shareId, port: share.port, kind: msg.kind },
      'relay share open',
    );
    return share;
  }

  // ---- shares opened through other hubs of a cluster ----

  /** The shares opened through this hub, as the other hubs need them. */
  homeShares(): RelayShareNotice[] {
    return [...this.live.values()].filter((s) => s.home).map((s) => this.notice(s));
  }

  /**
   * Another hub opened (or re-opened) a share: listen on its port here too. A copy this hub opened
   * itself becomes a mirror — the device has moved to the other hub.
   */
  async remoteOpened(notice: RelayShareNotice): Promise<void> {
    await this.shareLock.run(notice.shareId, async () => {
      if (this.closed) return;
      const existing = this.live.get(notice.shareId);
      if (
        existing &&
        existing.deviceId === notice.deviceId &&
        existing.kind === notice.kind &&
        existing.protection === notice.protection &&
        existing.port === notice.port
      ) {
        existing.home = false;
        existing.basicAuth = notice.basicAuth;
        existing.expiresAt = notice.expiresAt;
        this.armExpiry(existing);
        return;
      }
      if (existing) await this.closeLive(existing, 'opened anew through another hub');
      if (notice.protection !== 'plain' && !this.opts.tls) {
        this.opts.logger?.warn(
          { shareId: notice.shareId, port: notice.port },
          'a share of another hub needs TLS and this hub has no certificate; not listening for it',
        );
        return;
      }
      const share = await this.tryListen({ ...notice, home: false }, notice.port);
      if (!share) {
        this.opts.logger?.warn(
          { shareId: notice.shareId, port: notice.port },
          'could not listen for a share opened through another hub (port in use here)',
        );
        return;
      }
      this.live.set(share.shareId, share);
      this.armExpiry(share);
      this.opts.logger?.info(
        { shareId: share.shareId, port: share.port, deviceId: share.deviceId },
        'relay share of another hub listened for here',
      );
    });
  }

  /** The share ended on another hub (closed by its owner, expired, revoked). */
  async remoteClosed(shareId: string): Promise<void> {
    await this.shareLock.run(shareId, async () => {
      const share = this.live.get(shareId);
      if (share) await this.closeLive(share, 'ended through another hub');
    });
  }

  private notice(share: LiveShare): RelayShareNotice {
    return {
      shareId: share.shareId,
      deviceId: share.deviceId,
      userId: share.userId,
      kind: share.kind,
      protection: share.protection,
      port: share.port,
      basicAuth: share.basicAuth,
      expiresAt: share.expiresAt,
    };
  }

  /**
   * Frees the reservations of shares that have ended by expiry while nobody listened for them (their
   * device was away at the time): the port is no longer anyone's.
   */
  private async releaseEnded(): Promise<void> {
    const now = Date.now();
    for (const a of await this.opts.assignments.relayAssignments()) {
      if (a.expiresAt === null || Date.parse(a.expiresAt) > now || this.live.has(a.shareId)) continue;
      await this.opts.assignments.releaseRelayPort(a.shareId);
      this.opts.logger?.info(
        { shareId: a.shareId, port: a.port },
        'relay reservation of an ended share freed',
      );
    }
  }

  private accountCap(): number {
    return this.opts.maxSharesPerAccount ?? 20;
  }

  private accountFull(): RelayError {
    return new RelayError({
      code: 'quota_exceeded',
      message: `This account already holds ${this.accountCap()} relay shares on this hub (the hub's --max-shares-per-account); revoke one first`,
    });
  }

  /** Before trying ports: the clear answer for the common case (the store decides races). */
  private async checkAccountCap(userId: string): Promise<void> {
    const held = (await this.opts.assignments.relayAssignments()).filter((a) => a.userId === userId).length;
    if (held >= this.accountCap()) throw this.accountFull();
  }

  private notYours(): RelayError {
    return new RelayError({ code: 'forbidden', message: 'This share belongs to another device' });
  }

  /**
   * Reserves a port in the store, then listens on it; a port another share holds, or one another
   * process listens on, is skipped. The share's reservation ends up on the port it listens on. No
   * reservation of another share is ever given up here: a full range is the requester's error.
   */
  private async listenOnFirstFree(
    device: RelayDevice,
    msg: RelayOpen,
    preferred: number[],
    reserved0: RelayAssignment | undefined,
  ): Promise<LiveShare> {
    const livePorts = new Set([...this.live.values()].map((s) => s.port));
    const tried = new Set<number>();
    // A new share's first reservation is where the account's cap is decided, by the database (other
    // hubs may be opening this account's shares too); after that the reservation only moves.
    let reservedHere = reserved0 !== undefined;
    const attempt = async (port: number) => {
      if (tried.has(port) || livePorts.has(port)) return undefined;
      tried.add(port);
      const reservation = {
        shareId: msg.shareId,
        userId: device.userId,
        deviceId: device.deviceId,
        port,
        kind: msg.kind,
        expiresAt: msg.expiresAt,
      };
      if (reservedHere) {
        if (!(await this.opts.assignments.reserveRelayPort(reservation))) return undefined;
      } else {
        const outcome = await this.opts.assignments.reserveNewRelayPort(reservation, this.accountCap());
        if (outcome === 'account_full') throw this.accountFull();
        if (outcome === 'port_taken') return undefined;
        reservedHere = true;
      }
      return this.tryListen(
        {
          ...reservation,
          protection: this.protectionOf(msg),
          basicAuth: msg.basicAuth,
          home: true,
        },
        port,
      );
    };
    for (const port of preferred) {
      const share = await attempt(port);
      if (share) return share;
    }
    const { first, last } = this.opts.ports;
    const reserved = new Set((await this.opts.assignments.relayAssignments()).map((a) => a.port));
    for (let port = first; port <= last; port++) {
      if (reserved.has(port)) continue;
      const share = await attempt(port);
      if (share) return share;
    }
    // Nothing listened: the share keeps the reservation it came with, and takes none otherwise.
    if (reserved0) await this.opts.assignments.reserveRelayPort(reserved0);
    else await this.opts.assignments.releaseRelayPort(msg.shareId);
    throw new RelayError({
      code: 'relay_ports_exhausted',
      message:
        `Every relay port of this hub (${first}-${last}) is reserved by another share; ` +
        'try again when one ends, or ask the hub operator to widen --relay-ports',
    });
  }

  /** `plain` without a certificate; HTTP shares are HTTPS with one; tcp shares say what they want. */
  private protectionOf(msg: RelayOpen): RelayProtection {
    if (!this.opts.tls) return 'plain';
    return msg.kind === 'http' ? 'tls' : (msg.protection ?? 'tls');
  }

  private tlsInfo(protection: 'postgres' | 'tls') {
    const { trust } = this.opts.tls!.certificate;
    return {
      protection,
      publiclyTrusted: trust.publiclyTrusted,
      ...(trust.caPem ? { caPem: trust.caPem, caUrl: this.opts.tls!.caUrl } : {}),
    };
  }

  private tryListen(
    terms: Omit<RelayShareNotice, 'port'> & { home: boolean },
    port: number,
  ): Promise<LiveShare | undefined> {
    const { protection } = terms;
    const scheme =
      terms.kind === 'http'
        ? protection === 'plain'
          ? 'http'
          : 'https'
        : protection === 'tls'
          ? 'tls'
          : 'tcp';
    const fields = {
      home: terms.home,
      deviceId: terms.deviceId,
      userId: terms.userId,
      shareId: terms.shareId,
      kind: terms.kind,
      protection,
      port,
      url: `${scheme}://${this.opts.publicHost}:${port}`,
      basicAuth: terms.basicAuth,
      expiresAt: terms.expiresAt,
      visitors: new Set<Duplex>(),
      streams: new Set<AgentStream>(),
      pumped: new Set<number>(),
      pending: new Set<string>(),
    };
    const share = fields as LiveShare;
    share.server = terms.kind === 'tcp' ? this.tcpServer(share) : this.httpServer(share);
    if (protection !== 'plain') {
      const { certificate } = this.opts.tls!;
      share.server = tlsFront(
        share.server,
        protection,
        () => certificate.context,
        (why) => this.opts.logger?.debug({ shareId: share.shareId, why }, 'relay visitor refused at TLS'),
      );
    }
    share.server.on('connection', (socket: Socket) => {
      share.visitors.add(socket);
      socket.on('close', () => share.visitors.delete(socket));
      socket.on('error', () => undefined);
    });
    return new Promise((resolve) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.opts.logger?.debug({ port, err: err.code }, 'relay port unavailable');
        resolve(undefined);
      };
      share.server.once('error', onError);
      share.server.listen({ port, host: this.opts.bindHost }, () => {
        share.server.off('error', onError);
        share.server.on('error', (err) =>
          this.opts.logger?.warn({ port, err: err.message }, 'relay listener error'),
        );
        resolve(share);
      });
    });
  }

  private tcpServer(share: LiveShare): TcpServer {
    // Paused until the agent's stream is there: the visitor's first bytes wait in the kernel.
    const server = createTcpServer({ pauseOnConnect: true });
    server.on('connection', (visitor: Socket) => {
      this.openStream(share).then(
        (stream) => {
          if (visitor.destroyed) return cutStream(stream);
          const join = () => {
            // No Nagle: a small answer (a Postgres ReadyForQuery) reaches the visitor now.
            visitor.setNoDelay(true);
            // Straight between the two, with a bound each way (stream-pump.ts).
            if ('socket' in stream) joinSockets(visitor, stream.socket);
            else pumpStream(stream.ws, visitor);
          };
          if ('socket' in stream && share.protection === 'plain' && this.pumpable(visitor, stream.socket)) {
            this.handToPump(share, visitor, stream, join);
          } else {
            join();
          }
        },
        (err: Error) => {
          this.opts.logger?.debug({ shareId: share.shareId, err: err.message }, 'visitor dropped');
          visitor.destroy();
        },
      );
    });
    return server;
  }

  /**
   * Whether a pair can be pumped in the pump process: both plain `net.Socket`s (a TLS socket's state
   * cannot leave this process: a TLS hub's stream, a share's TLS visitor stay here).
   */
  private pumpable(visitor: Socket, stream: Socket): boolean {
    const plain = (s: Socket) => s instanceof Socket && !(s instanceof TLSSocket);
    return this.pump.available && plain(visitor) && plain(stream);
  }

  /**
   * The pair leaves for the pump process; its sockets here close once sent, so the share counts it in
   * `pumped` until the pump reports it closed, and closeLive cuts it there.
   */
  private handToPump(
    share: LiveShare,
    visitor: Socket,
    stream: { socket: Socket },
    joinHere: () => void,
  ): void {
    share.visitors.delete(visitor);
    share.streams.delete(stream);
    let id = 0;
    id = this.pump.adopt(visitor, stream.socket, {
      inProcess: () => {
        share.pumped.delete(id);
        if (!visitor.destroyed) share.visitors.add(visitor);
        if (!stream.socket.destroyed) share.streams.add(stream);
        joinHere();
      },
      closed: () => share.pumped.delete(id),
    });
    // adopt may already have given it back (inProcess) or ended it (closed).
    if (this.pump.holds(id)) share.pumped.add(id);
  }

  private httpServer(share: LiveShare): HttpServer {
    const server = createHttpServer();
    // Per-request streams: keep-alive with visitors is fine, each request still gets its own stream.
    server.on('request', (req, res) => {
      if (share.basicAuth && !basicAuthMatches(req.headers.authorization, share.basicAuth)) {
        res.writeHead(401, {
          'www-authenticate': BASIC_AUTH_CHALLENGE,
          'content-type': 'text/plain; charset=utf-8',
        });
        res.end('This share needs a user name and password.\n');
        return;
      }
      this.openStream(share).then(
        (stream) => {
          proxyHttpRequest(req, res, asDuplex(stream), { stripAuthorization: !!share.basicAuth }, () =>
            cutStream(stream),
          );
        },
        () => {
          if (res.headersSent) return res.destroy();
          res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('The shared service is not reachable right now (its computer is offline).\n');
        },
      );
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      share.visitors.add(socket);
      socket.on('close', () => share.visitors.delete(socket));
      socket.on('error', () => undefined);
      if (share.basicAuth && !basicAuthMatches(req.headers.authorization, share.basicAuth)) {
        rejectUpgrade(socket, 401, 'This share needs a user name and password.', {
          'WWW-Authenticate': BASIC_AUTH_CHALLENGE,
        });
        return;
      }
      this.openStream(share).then(
        (stream) => {
          proxyHttpUpgrade(
            req,
            socket,
            head,
            asDuplex(stream),
            { stripAuthorization: !!share.basicAuth },
            () => {
              socket.destroy();
              cutStream(stream);
            },
          );
        },
        () => socket.destroy(),
      );
    });
    return server;
  }

  /** Asks the agent for a stream and waits for it to dial back (bounded by the claim timeout). */
  private openStream(share: LiveShare): Promise<AgentStream> {
    return new Promise<AgentStream>((resolve, reject) => {
      if (!this.live.has(share.shareId)) return reject(new Error('share closed'));
      const streamId = randomUUID();
      const timer = setTimeout(() => {
        this.pendingStreams.delete(streamId);
        share.pending.delete(streamId);
        reject(new Error('the agent did not claim the stream in time'));
      }, this.opts.streamClaimTimeoutMs ?? 10_000);
      this.pendingStreams.set(streamId, {
        share,
        timer,
        reject,
        resolve: (stream) => {
          if (!this.live.has(share.shareId) || this.live.get(share.shareId) !== share) {
            cutStream(stream);
            return reject(new Error('share closed'));
          }
          share.streams.add(stream);
          if ('ws' in stream) {
            const { ws } = stream;
            this.alive.add(ws);
            ws.on('pong', () => this.alive.add(ws));
            ws.on('close', () => share.streams.delete(stream));
          } else {
            stream.socket.on('close', () => share.streams.delete(stream));
          }
          resolve(stream);
        },
      });
      share.pending.add(streamId);
      const offline = () => {
        if (this.pendingStreams.get(streamId)?.share !== share) return;
        clearTimeout(timer);
        this.pendingStreams.delete(streamId);
        share.pending.delete(streamId);
        reject(new Error('device offline'));
      };
      const asked = this.opts.requestStream(share.deviceId, {
        streamId,
        shareId: share.shareId,
        byteStream: true,
      });
      if (asked === false) offline();
      else if (asked !== true) asked.then((sent) => (sent ? undefined : offline()), offline);
    });
  }

  private pingStreams(): void {
    for (const share of this.live.values()) {
      for (const stream of share.streams) {
        if (!('ws' in stream)) continue; // byte streams: TCP keepalive
        const { ws } = stream;
        if (!this.alive.has(ws)) {
          ws.terminate();
          continue;
        }
        this.alive.delete(ws);
        ws.ping();
      }
    }
  }

  // ---- closing ----

  private armExpiry(share: LiveShare): void {
    clearTimeout(share.expiryTimer);
    share.expiryTimer = undefined;
    if (share.expiresAt === null) return;
    const left = Date.parse(share.expiresAt) - Date.now();
    share.expiryTimer = setTimeout(() => {
      if (this.live.get(share.shareId) !== share) return;
      if (Date.parse(share.expiresAt ?? '') > Date.now()) return this.armExpiry(share);
      void this.shareLock.run(share.shareId, async () => {
        await this.closeLive(share, 'expired');
        await this.opts.assignments.releaseRelayPort(share.shareId);
        this.opts.announce?.closed(share.shareId);
      });
    }, timerDelay(left));
    share.expiryTimer.unref();
  }

  private async closeForDevice(deviceId: string, shareId: string): Promise<void> {
    const share = this.live.get(shareId);
    if (share && share.deviceId !== deviceId) return;
    if (share) await this.closeLive(share, 'closed by its owner');
    this.opts.announce?.closed(shareId);
    if ((await this.opts.assignments.relayAssignment(shareId))?.deviceId === deviceId)
      await this.opts.assignments.releaseRelayPort(shareId);
  }

  /** Stops the listener and cuts every visitor and stream of the share. */
  private async closeLive(share: LiveShare, why: string): Promise<void> {
    if (this.live.get(share.shareId) === share) this.live.delete(share.shareId);
    clearTimeout(share.expiryTimer);
    for (const id of share.pending) {
      const pending = this.pendingStreams.get(id);
      this.pendingStreams.delete(id);
      if (pending) {
        clearTimeout(pending.timer);
        pending.reject(new Error('share closed'));
      }
    }
    share.pending.clear();
    const stopped = new Promise<void>((resolve) => share.server.close(() => resolve()));
    for (const visitor of share.visitors) visitor.destroy();
    for (const stream of share.streams) cutStream(stream);
    this.pump.cut([...share.pumped]);
    await stopped;
    this.opts.logger?.info({ shareId: share.shareId, port: share.port, why }, 'relay share closed');
  }
}
