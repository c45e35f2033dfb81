// The agent's side of the hub relay. `relay.open` over the control link asks the hub for a public
// port; for each visitor the hub sends `stream.open`, and the agent dials a new WebSocket to
// `<hub>/agent/stream/<streamId>` (device token in Authorization) and pipes it to the workload's
// loopback port. In a cluster the visitor may sit on another hub process than the control link's,
// and `stream.open` names that hub's own URL. One visitor connection = one WebSocket, with
// backpressure both ways.
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  LatticeError,
  MAX_MESSAGE_BYTES,
  type AgentToHub,
  type ErrorCode,
  type HubToAgent,
} from '../../../shared';
import type { TunnelEndpoint, TunnelOpenRequest, TunnelProvider, TunnelUpdate } from './tunnel-provider';
import { pumpStream } from '../../../shared/stream-pump';

/** The part of HubLink the relay needs (HubLink satisfies it). */
export interface RelayControlLink {
  readonly connected: boolean;
  send(msg: AgentToHub): boolean;
  onMessage(cb: (msg: HubToAgent) => void): () => void;
  onStatus(cb: (connected: boolean) => void): () => void;
}

export interface RelayTunnelOptions {
  link: RelayControlLink;
  hubUrl: string;
  deviceToken: string;
  /** TLS `ca` of the stream WebSockets: HubLink.trustedCa (roots + the hub's private CA). */
  ca?: string[];
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** How long to wait for the hub's relay.opened. Default 15 s. */
  replyTimeoutMs?: number;
  /** How long open() waits for a link that is still connecting. Default 5 s. */
  linkWaitMs?: number;
}

interface Wanted {
  req: TunnelOpenRequest;
  endpoint?: TunnelEndpoint;
}

interface PendingReply {
  shareId: string;
  resolve(endpoint: TunnelEndpoint): void;
  reject(err: LatticeError): void;
  timer: NodeJS.Timeout;
}

interface StreamPair {
  ws: WebSocket;
  local?: Socket;
}

/** `<hub>/agent/stream/<id>` as a ws(s) URL, keeping a base path the hub may be mounted under. */
export function streamUrl(hubUrl: string, streamId: string): URL {
  const base = new URL(hubUrl);
  const url = new URL(
    `${base.pathname.replace(/\/+$/, '')}/agent/stream/${encodeURIComponent(streamId)}`,
    base,
  );
  url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return url;
}

/**
 * Whether no intermediary can read this stream's frames: TLS to the hub, or a hub on loopback.
 * RFC 6455 masks client frames so that a script cannot make them look like requests to a proxy
 * that reads the cleartext (§10.3); where nothing can read it, masking only costs a copy and an XOR
 * of every byte, and the agent sends a zero mask (the MASK bit stays set; the hub skips the XOR).
 * Over plain ws to another host the mask stays random.
 */
export function framesUnreadable(url: URL): boolean {
  if (url.protocol === 'wss:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

const zeroMask = (mask: Buffer) => mask.fill(0);

const HUB_CODES_KEPT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'relay_ports_exhausted',
  'quota_exceeded',
]);

export class RelayTunnelProvider implements TunnelProvider {
  readonly via = 'relay' as const;
  private readonly wanted = new Map<string, Wanted>();
  private readonly replies = new Map<string, PendingReply>();
  private readonly streams = new Map<string, Set<StreamPair>>();
  private readonly listeners = new Set<(u: TunnelUpdate) => void>();
  /**
   * Shares closed while the link was down: the hub never heard, and would keep their ports reserved
   * (counted against the account) until they expire. Told at the next connect.
   */
  private readonly unsentCloses = new Set<string>();
  private readonly unsubscribe: (() => void)[];
  private disposed = false;

  constructor(private readonly opts: RelayTunnelOptions) {
    streamUrl(opts.hubUrl, 'check'); // a bad hub URL fails here, not on the first visitor
    this.unsubscribe = [
      opts.link.onMessage((msg) => this.onMessage(msg)),
      opts.link.onStatus((connected) => {
        if (!connected) return;
        for (const shareId of [...this.unsentCloses]) this.sendClose(shareId);
        this.reopenAll();
      }),
    ];
  }

  async open(req: TunnelOpenRequest): Promise<TunnelEndpoint> {
    if (this.disposed) throw new LatticeError('share_failed', 'The relay is shut down');
    if (!this.opts.link.connected) await this.waitForLink();
    this.unsentCloses.delete(req.shareId);
    this.wanted.set(req.shareId, { req, endpoint: this.wanted.get(req.shareId)?.endpoint });
    try {
      const endpoint = await this.requestOpen(req, req.preferredPort);
      this.wanted.set(req.shareId, { req, endpoint });
      return endpoint;
    } catch (err) {
      this.wanted.delete(req.shareId);
      this.sendClose(req.shareId);
      throw err;
    }
  }

  /**
   * Registers a tunnel that should exist (a share re-opened at start) without waiting for the hub:
   * it opens now if the link is up, and again after every reconnect; results come through onUpdate.
   */
  restore(req: TunnelOpenRequest): void {
    this.unsentCloses.delete(req.shareId);
    this.wanted.set(req.shareId, { req, endpoint: this.wanted.get(req.shareId)?.endpoint });
    if (this.opts.link.connected) this.reopen(req.shareId);
  }

  async close(shareId: string): Promise<void> {
    const had = this.wanted.delete(shareId);
    for (const [id, pending] of this.replies) {
      if (pending.shareId !== shareId) continue;
      this.replies.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new LatticeError('share_failed', 'The share was closed while its tunnel was opening'));
    }
    // Sent even for an unknown id: the hub may hold a listener from before an agent restart.
    this.sendClose(shareId);
    this.cutStreams(shareId);
    if (had) this.opts.logger?.info({ shareId }, 'relay tunnel closed');
  }

  onUpdate(listener: (update: TunnelUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async closeAll(): Promise<void> {
    this.disposed = true;
    for (const u of this.unsubscribe) u();
    for (const pending of this.replies.values()) {
      clearTimeout(pending.timer);
      pending.reject(new LatticeError('share_failed', 'The agent is stopping'));
    }
    this.replies.clear();
    // Not relay.close: the shares live on and re-open (same port) when the agent starts again.
    for (const shareId of [...this.streams.keys()]) this.cutStreams(shareId);
    this.wanted.clear();
  }

  /** relay.close now, or at the next connect when the link is down. */
  private sendClose(shareId: string): void {
    if (this.opts.link.send({ type: 'relay.close', shareId })) this.unsentCloses.delete(shareId);
    else this.unsentCloses.add(shareId);
  }

  /** Open visitor connections per share (for tests and the console). */
  openConnections(shareId: string): number {
    return this.streams.get(shareId)?.size ?? 0;
  }

  private waitForLink(): Promise<void> {
    const ms = this.opts.linkWaitMs ?? 5_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new LatticeError(
            'share_failed',
            'Not connected to the hub, so the relay cannot open; check the hub link or share via ngrok',
          ),
        );
      }, ms);
      const off = this.opts.link.onStatus((connected) => {
        if (!connected) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  private requestOpen(req: TunnelOpenRequest, preferredPort: number | undefined): Promise<TunnelEndpoint> {
    return new Promise((resolve, reject) => {
      const requestId = randomUUID();
      const timer = setTimeout(() => {
        this.replies.delete(requestId);
        reject(new LatticeError('share_failed', 'The hub did not answer the relay request in time'));
      }, this.opts.replyTimeoutMs ?? 15_000);
      this.replies.set(requestId, { shareId: req.shareId, resolve, reject, timer });
      const sent = this.opts.link.send({
        type: 'relay.open',
        requestId,
        shareId: req.shareId,
        kind: req.kind,
        preferredPort,
        basicAuth: req.basicAuth,
        expiresAt: req.expiresAt,
        protection: req.protection,
      });
      if (!sent) {
        clearTimeout(timer);
        this.replies.delete(requestId);
        reject(new LatticeError('share_failed', 'Not connected to the hub, so the relay cannot open'));
      }
    });
  }

  private reopenAll(): void {
    for (const shareId of this.wanted.keys()) this.reopen(shareId);
  }

  private reopen(shareId: string): void {
    const wanted = this.wanted.get(shareId);
    if (!wanted) return;
    // The expiry passed while the hub was away: the share service expires it; do not re-open.
    if (wanted.req.expiresAt !== null && Date.parse(wanted.req.expiresAt) <= Date.now()) return;
    const preferred = wanted.endpoint?.publicPort ?? wanted.req.preferredPort;
    this.requestOpen(wanted.req, preferred).then(
      (endpoint) => {
        if (this.wanted.get(shareId) !== wanted) return;
        wanted.endpoint = endpoint;
        this.emit({ shareId, state: 'open', endpoint });
      },
      (err: LatticeError) => {
        if (this.wanted.get(shareId) !== wanted) return;
        this.opts.logger?.warn({ shareId, err: err.message }, 'relay re-open failed');
        this.emit({ shareId, state: 'lost', message: err.message });
      },
    );
  }

  private emit(update: TunnelUpdate): void {
    for (const l of this.listeners) {
      try {
        l(update);
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message }, 'tunnel update listener failed');
      }
    }
  }

  private onMessage(msg: HubToAgent): void {
    if (msg.type === 'relay.opened' || msg.type === 'relay.error') {
      const pending = this.replies.get(msg.requestId);
      if (!pending) return;
      this.replies.delete(msg.requestId);
      clearTimeout(pending.timer);
      if (msg.type === 'relay.error') {
        // The hub's code where the person can act on it (a full port range, an account cap).
        const code = HUB_CODES_KEPT.has(msg.error.code) ? msg.error.code : 'share_failed';
        pending.reject(new LatticeError(code, `The hub refused the relay: ${msg.error.message}`));
      } else {
        pending.resolve({
          url: msg.url,
          publicHost: msg.publicHost,
          publicPort: msg.publicPort,
          tls: msg.tls,
        });
      }
      return;
    }
    if (msg.type === 'stream.open') {
      const wanted = this.wanted.get(msg.shareId);
      if (!wanted) {
        // The hub still listens for a share this agent no longer has (revoked while the hub was away).
        this.opts.link.send({ type: 'relay.close', shareId: msg.shareId });
        return;
      }
      const url = this.streamTarget(msg.streamId, msg.hubUrl);
      if (url) this.dialStream(msg.streamId, wanted.req, url);
    }
  }

  /**
   * Where to dial a stream: the agent's own hub, or the hub process a cluster names for this visitor.
   * The device token goes only over the same scheme as the control link — a hub reached over TLS
   * can never have the agent send it in the clear.
   */
  private streamTarget(streamId: string, hubUrl: string | undefined): URL | undefined {
    if (hubUrl === undefined) return streamUrl(this.opts.hubUrl, streamId);
    const own = new URL(this.opts.hubUrl).protocol;
    let target: URL | undefined;
    try {
      target = streamUrl(hubUrl, streamId);
    } catch {
      target = undefined;
    }
    if (!target || new URL(hubUrl).protocol !== own || target.username || target.password) {
      this.opts.logger?.warn(
        { streamId, hubUrl: hubUrl.slice(0, 200) },
        `refused a relay stream to a hub address that is not ${own} like this agent's hub link`,
      );
      return undefined;
    }
    return target;
  }

  private dialStream(streamId: string, req: TunnelOpenRequest, url: URL): void {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.deviceToken}` },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      ...(framesUnreadable(url) ? { generateMask: zeroMask } : {}),
    });
    const pair: StreamPair = { ws };
    let set = this.streams.get(req.shareId);
    if (!set) this.streams.set(req.shareId, (set = new Set()));
    set.add(pair);
    const forget = () => {
      const s = this.streams.get(req.shareId);
      s?.delete(pair);
      if (s && s.size === 0) this.streams.delete(req.shareId);
    };
    ws.on('error', (err) => this.opts.logger?.debug({ streamId, err: err.message }, 'relay stream error'));
    ws.on('unexpected-response', (_r, res) => {
      this.opts.logger?.warn({ streamId, status: res.statusCode }, 'the hub refused a relay stream');
      res.resume();
      ws.terminate();
    });
    ws.on('close', forget);
    ws.on('open', () => {
      if (!this.wanted.has(req.shareId)) return ws.terminate();
      // No Nagle: a small reply (a Postgres ReadyForQuery) goes out now, not after the next ACK.
      const local = connect({ host: req.localHost, port: req.localPort, noDelay: true });
      pair.local = local;
      // Straight between the WebSocket and the socket, with a bound each way (stream-pump.ts).
      pumpStream(ws, local, {
        onClosed: (err) => {
          if (err) this.opts.logger?.debug({ streamId, err: err.message }, 'relay stream ended');
        },
      });
    });
  }

  private cutStreams(shareId: string): void {
    const set = this.streams.get(shareId);
    if (!set) return;
    this.streams.delete(shareId);
    for (const { ws, local } of set) {
      local?.destroy();
      ws.terminate();
    }
  }
}
