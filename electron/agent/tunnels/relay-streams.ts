// The agent's relay streams: one connection to the hub per visitor, joined to the workload's
// loopback port. The hub's `stream.open` names the stream; the agent dials `<hub>/agent/stream/<id>`
// with its device token and, where the hub offers it (`byteStream`), asks for an HTTP upgrade to
// BYTE_STREAM_PROTOCOL: after the 101 the connection carries the visitor's bytes as they are, so
// each hop costs what a plain TCP proxy costs. Otherwise — an older hub, or a proxy on the way that
// does not answer that upgrade with 101 — the stream is a WebSocket (one binary message per chunk).
// A hub address whose byte-stream upgrade failed where a WebSocket then worked gets WebSockets from
// then on, so only the first visitor pays the extra round trip.
//
// Byte streams are dialed and pumped in a worker thread (relay-stream-thread.ts,
// relay-stream-worker.ts), where Node's stream code costs less CPU per MB than on the agent's busy
// main thread; this thread keeps what it knows of shares (which streams each has, stillWanted(),
// cuts) and the WebSocket streams. If that thread cannot start, byte streams are pumped here.
import type { IncomingMessage } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { BYTE_STREAM_PROTOCOL, MAX_MESSAGE_BYTES } from '../../../shared';
import { joinSockets, prepareByteStream, pumpStream } from '../../../shared/stream-pump';
import { requestByteStream } from './byte-stream-request';
import { pumpThread, type PumpThread } from './relay-stream-thread';

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

const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface RelayStreamsOptions {
  deviceToken: string;
  /** TLS `ca` of the streams: HubLink.trustedCa (roots + the hub's private CA). */
  ca?: string[];
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** The thread that pumps byte streams: the agent's own unless a test gives another. */
  thread?: PumpThread;
}

/** Where one stream goes: the hub's stream URL and the workload's loopback port. */
export interface StreamDial {
  streamId: string;
  shareId: string;
  /** From streamUrl(): ws: or wss:. */
  url: URL;
  localHost: string;
  localPort: number;
  /** The hub offered a byte stream. */
  byteStream: boolean;
  /** Asked once the hub connection is up: false cuts it (the share was closed meanwhile). */
  stillWanted(): boolean;
}

/** One visitor's stream; `cut()` ends it at once (whatever stage it is in). */
interface LiveStream {
  cut(): void;
}

export class RelayStreams {
  private readonly byShare = new Map<string, Set<LiveStream>>();
  /** Hub addresses (origins) where a byte-stream upgrade failed and a WebSocket then worked. */
  private readonly webSocketOnly = new Set<string>();
  private readonly thread: PumpThread;

  constructor(private readonly opts: RelayStreamsOptions) {
    this.thread = opts.thread ?? pumpThread;
  }

  dial(d: StreamDial): void {
    if (d.byteStream && !this.webSocketOnly.has(d.url.origin)) this.dialByteStream(d);
    else this.dialWebSocket(d, false);
  }

  /** Open streams of a share (for tests and the console). */
  count(shareId: string): number {
    return this.byShare.get(shareId)?.size ?? 0;
  }

  cutShare(shareId: string): void {
    const set = this.byShare.get(shareId);
    if (!set) return;
    this.byShare.delete(shareId);
    for (const s of set) s.cut();
  }

  cutAll(): void {
    for (const shareId of [...this.byShare.keys()]) this.cutShare(shareId);
  }

  /** Cuts every stream and lets the worker thread stop if no other RelayStreams uses it. */
  close(): void {
    this.cutAll();
    this.thread.release(this);
  }

  private track(shareId: string, stream: LiveStream): () => void {
    let set = this.byShare.get(shareId);
    if (!set) this.byShare.set(shareId, (set = new Set()));
    set.add(stream);
    return () => {
      const s = this.byShare.get(shareId);
      s?.delete(stream);
      if (s && s.size === 0) this.byShare.delete(shareId);
    };
  }

  private refused(d: StreamDial, status: number | undefined): void {
    this.opts.logger?.warn({ streamId: d.streamId, status }, 'the hub refused a relay stream');
  }

  /** The workload's end: no Nagle, so a small reply (a Postgres ReadyForQuery) goes out now. */
  private local(d: StreamDial): Socket {
    return connect({ host: d.localHost, port: d.localPort, noDelay: true });
  }

  private dialByteStream(d: StreamDial): void {
    const target = new URL(d.url);
    target.protocol = d.url.protocol === 'wss:' ? 'https:' : 'http:';
    if (!this.thread.failed) {
      let forget = () => {};
      const stream = this.thread.dial(
        this,
        {
          url: target.href,
          upgrade: BYTE_STREAM_PROTOCOL,
          deviceToken: this.opts.deviceToken,
          ...(this.opts.ca ? { ca: this.opts.ca } : {}),
          localHost: d.localHost,
          localPort: d.localPort,
          timeoutMs: HANDSHAKE_TIMEOUT_MS,
        },
        {
          upgraded: () => {
            if (d.stillWanted()) return true;
            forget();
            return false;
          },
          refused: (status) => {
            forget();
            this.refused(d, status);
          },
          // Not switched: an older hub, or a proxy on the way that passes only WebSocket upgrades.
          notSwitched: () => {
            forget();
            this.dialWebSocket(d, true);
          },
          ended: (err, joined) => {
            forget();
            if (err) {
              const msg = joined ? 'relay stream ended' : 'relay stream error';
              this.opts.logger?.debug({ streamId: d.streamId, err }, msg);
            }
          },
          notTaken: () => {
            forget();
            this.joinHere(d, target);
          },
        },
        (msg, err) => this.opts.logger?.warn({ err }, msg),
      );
      if (stream) {
        forget = this.track(d.shareId, stream);
        return;
      }
    }
    this.joinHere(d, target);
  }

  /** The byte stream dialed and joined on this thread: where the worker thread cannot start. */
  private joinHere(d: StreamDial, target: URL): void {
    const request = requestByteStream(target, {
      upgrade: BYTE_STREAM_PROTOCOL,
      deviceToken: this.opts.deviceToken,
      timeoutMs: HANDSHAKE_TIMEOUT_MS,
      ca: this.opts.ca,
    });
    const stream: LiveStream = { cut: () => request.destroy() };
    const forget = this.track(d.shareId, stream);
    request.on('error', (err) => {
      forget();
      this.opts.logger?.debug({ streamId: d.streamId, err: err.message }, 'relay stream error');
    });
    request.on('response', (res: IncomingMessage) => {
      forget();
      res.resume();
      if (res.statusCode === 401 || res.statusCode === 403) return this.refused(d, res.statusCode);
      // Not switched: an older hub, or a proxy on the way that passes only WebSocket upgrades.
      this.dialWebSocket(d, true);
    });
    request.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      forget();
      if ((res.headers.upgrade ?? '').toLowerCase() !== BYTE_STREAM_PROTOCOL || !d.stillWanted()) {
        socket.destroy();
        return;
      }
      // The visitor's first bytes may have come in the same read as the 101.
      prepareByteStream(socket, head);
      const local = this.local(d);
      const forgetJoined = this.track(d.shareId, {
        cut: () => {
          local.destroy();
          socket.destroy();
        },
      });
      joinSockets(socket, local, (err) => {
        forgetJoined();
        if (err) this.opts.logger?.debug({ streamId: d.streamId, err: err.message }, 'relay stream ended');
      });
    });
    request.end();
  }

  /** `afterByteStream`: the byte-stream upgrade was not answered with 101 — remember it if this works. */
  private dialWebSocket(d: StreamDial, afterByteStream: boolean): void {
    const ws = new WebSocket(d.url, {
      headers: { authorization: `Bearer ${this.opts.deviceToken}` },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      ...(framesUnreadable(d.url) ? { generateMask: zeroMask } : {}),
    });
    let local: Socket | undefined;
    const forget = this.track(d.shareId, {
      cut: () => {
        local?.destroy();
        ws.terminate();
      },
    });
    ws.on('error', (err) =>
      this.opts.logger?.debug({ streamId: d.streamId, err: err.message }, 'relay stream error'),
    );
    ws.on('unexpected-response', (_r, res) => {
      this.refused(d, res.statusCode);
      res.resume();
      ws.terminate();
    });
    ws.on('close', forget);
    ws.on('open', () => {
      if (afterByteStream && !this.webSocketOnly.has(d.url.origin)) {
        this.webSocketOnly.add(d.url.origin);
        this.opts.logger?.info(
          { hub: d.url.origin },
          'byte-stream upgrades do not reach this hub (a proxy that passes only WebSocket?): relay streams use WebSocket',
        );
      }
      if (!d.stillWanted()) return ws.terminate();
      local = this.local(d);
      // Straight between the WebSocket and the socket, with a bound each way (stream-pump.ts).
      pumpStream(ws, local, {
        onClosed: (err) => {
          if (err) this.opts.logger?.debug({ streamId: d.streamId, err: err.message }, 'relay stream ended');
        },
      });
    });
  }
}
