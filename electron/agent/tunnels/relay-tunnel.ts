// The agent's side of the hub relay. `relay.open` over the control link asks the hub for a public
// port; for each visitor the hub sends `stream.open`, and the agent dials a new stream to
// `<hub>/agent/stream/<streamId>` (device token in Authorization) and joins it to the workload's
// loopback port (relay-streams.ts). In a cluster the visitor may sit on another hub process than the
// control link's, and `stream.open` names that hub's own URL. One visitor connection = one stream,
// with backpressure both ways.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LatticeError, type AgentToHub, type ErrorCode, type HubToAgent } from '../../../shared';
import type { TunnelEndpoint, TunnelOpenRequest, TunnelProvider, TunnelUpdate } from './tunnel-provider';
import { RelayStreams, streamUrl } from './relay-streams';

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
  /** TLS `ca` of the streams: HubLink.trustedCa (roots + the hub's private CA). */
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

const HUB_CODES_KEPT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'relay_ports_exhausted',
  'quota_exceeded',
]);

export class RelayTunnelProvider implements TunnelProvider {
  readonly via = 'relay' as const;
  private readonly wanted = new Map<string, Wanted>();
  private readonly replies = new Map<string, PendingReply>();
  private readonly streams: RelayStreams;
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
    this.streams = new RelayStreams({ deviceToken: opts.deviceToken, ca: opts.ca, logger: opts.logger });
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
    this.streams.cutShare(shareId);
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
    this.streams.close();
    this.wanted.clear();
  }

  /** relay.close now, or at the next connect when the link is down. */
  private sendClose(shareId: string): void {
    if (this.opts.link.send({ type: 'relay.close', shareId })) this.unsentCloses.delete(shareId);
    else this.unsentCloses.add(shareId);
  }

  /** Open visitor connections per share (for tests and the console). */
  openConnections(shareId: string): number {
    return this.streams.count(shareId);
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
      if (!url) return;
      this.streams.dial({
        streamId: msg.streamId,
        shareId: msg.shareId,
        url,
        localHost: wanted.req.localHost,
        localPort: wanted.req.localPort,
        byteStream: msg.byteStream === true,
        stillWanted: () => this.wanted.has(msg.shareId),
      });
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
}
