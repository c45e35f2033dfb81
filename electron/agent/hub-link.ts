// The agent's side of the hub: pairing (one HTTP call) and the control WebSocket it dials out to.
// The agent never listens on the network; the hub relays dashboard commands down this socket and the
// agent's events go up it. Reconnects with full-jitter exponential backoff and watches the hub's
// pings so a silently dead link (NAT timeout, sleep) is noticed and redialled. A hub on a private CA
// is trusted only when the owner gave that CA at pairing (hub-ca.ts); verification is never off.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import type { Logger } from 'pino';
import {
  AgentToHub,
  ErrorCode,
  HubToAgent,
  LatticeError,
  CLOSE_PROTOCOL_VIOLATIONS,
  MAX_MESSAGE_BYTES,
  RELAY_CA_PATH,
  PairRedeemResponse,
  type AgentEvent,
  type Dispatch,
  type ErrorBody,
} from '../../shared';
import { LATTICE_VERSION } from '../../shared/version';
import { HUB_CA_FIELD, hubTlsCa, untrustedCertificateCode } from './hub-ca';

/** Joins `path` onto the hub URL, keeping a base path the hub may be mounted under. */
function hubEndpoint(hubUrl: string, path: string, ws: boolean): URL {
  let base: URL;
  try {
    base = new URL(hubUrl);
  } catch {
    throw new LatticeError('invalid_argument', `Hub URL "${hubUrl}" is not a URL`, 'hubUrl');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new LatticeError(
      'invalid_argument',
      `Hub URL "${hubUrl}" must start with http:// or https://`,
      'hubUrl',
    );
  }
  const url = new URL(base.pathname.replace(/\/+$/, '') + path, base);
  if (ws) url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return url;
}

/** Where the hub hands out its private CA (`lattice hub --tls-ca`), for the owner to download. */
export function hubCaUrl(hubUrl: string): string {
  return hubEndpoint(hubUrl, RELAY_CA_PATH, false).toString();
}

/** What to tell the owner when the hub's certificate is signed by no CA this agent trusts. */
function untrustedHubError(hubUrl: string, verdict: string, caGiven: boolean): LatticeError {
  const origin = new URL(hubUrl).origin;
  const fetchCa = `Download the hub's CA from ${hubCaUrl(hubUrl)} (check with whoever runs the hub that it is theirs)`;
  return new LatticeError(
    'invalid_argument',
    caGiven
      ? `The hub's certificate at ${origin} is not trusted: it was not issued by the Hub CA certificate given (${verdict}). ${fetchCa} and pair again with it.`
      : `The hub's certificate at ${origin} is not trusted by this computer (${verdict}): it was issued by a CA this computer does not know, such as a self-hosted hub's private CA. ${fetchCa}, then pair again with it: \`lattice pair --hub-ca ca.pem …\`, or in the console's Settings → Pair, the field "Hub CA certificate (PEM)".`,
    HUB_CA_FIELD,
  );
}

/** One JSON POST over node:http(s), which (unlike the global fetch) takes a `ca` for this request only. */
function postJson(
  url: URL,
  body: unknown,
  ca: string[] | undefined,
  timeoutMs: number,
): Promise<{ status: number; statusText: string; location?: string; body: unknown }> {
  const payload = Buffer.from(JSON.stringify(body));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        signal: AbortSignal.timeout(timeoutMs),
        ...(ca && url.protocol === 'https:' ? { ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_MESSAGE_BYTES) return void res.destroy(new Error('the answer is too large'));
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            ...(res.headers.location ? { location: res.headers.location } : {}),
            body: parsed,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Redeems a pairing code shown in the dashboard; the device token it returns is this computer's
 * credential. `caPem` (already checked by parseHubCa) is trusted for this request besides the roots.
 */
export async function pairWithHub(opts: {
  hubUrl: string;
  code: string;
  name: string;
  caPem?: string;
}): Promise<{ deviceId: string; deviceToken: string }> {
  const url = hubEndpoint(opts.hubUrl, '/api/devices/pair', false);
  let res: Awaited<ReturnType<typeof postJson>>;
  try {
    res = await postJson(url, { code: opts.code, name: opts.name }, hubTlsCa(opts.caPem), 15_000);
  } catch (err) {
    const verdict = untrustedCertificateCode(err);
    if (verdict) throw untrustedHubError(opts.hubUrl, verdict, Boolean(opts.caPem));
    const e = err as { code?: string; message?: string; name?: string };
    const why =
      e.name === 'TimeoutError' || e.name === 'AbortError' ? 'no answer in 15 s' : (e.code ?? e.message);
    throw new LatticeError('internal', `Cannot reach the hub at ${opts.hubUrl}: ${why}`);
  }
  if (res.status >= 300 && res.status <= 399 && res.location) {
    // Not followed: the device token must come from, and the link go to, the address the owner gave.
    let target: string;
    try {
      const to = new URL(res.location, url);
      target = to.origin + to.pathname.replace(/\/api\/devices\/pair\/?$/, '');
    } catch {
      target = res.location.slice(0, 200);
    }
    throw new LatticeError(
      'invalid_argument',
      `The hub at ${opts.hubUrl} redirects to ${target}: use that address as the hub URL`,
      'hubUrl',
    );
  }
  const body = res.body as { error?: ErrorBody } | undefined;
  if (res.status < 200 || res.status > 299) {
    const hubError = body?.error;
    if (res.status === 400 || res.status === 401 || res.status === 404 || res.status === 410) {
      throw new LatticeError(
        'invalid_argument',
        `The hub refused the pairing code: ${hubError?.message ?? 'the code is wrong, already used or expired'}`,
        'code',
      );
    }
    if (res.status === 429 || res.status === 503) {
      throw new LatticeError('rate_limited', `The hub refused: ${hubError?.message ?? 'too many attempts'}`);
    }
    throw new LatticeError(
      'internal',
      `The hub answered ${res.status}: ${hubError?.message ?? res.statusText}`,
    );
  }
  const parsed = PairRedeemResponse.safeParse(body);
  if (!parsed.success) {
    throw new LatticeError(
      'internal',
      `The hub at ${opts.hubUrl} answered the pairing with an unexpected body`,
    );
  }
  return parsed.data;
}

export interface HubLinkOptions {
  hubUrl: string;
  deviceToken: string;
  name: string;
  /** The hub's private CA given at pairing (PEM, checked by parseHubCa), trusted besides the roots. */
  caPem?: string;
  dispatch: Dispatch;
  onEvent: (l: (e: AgentEvent) => void) => () => void;
  logger: Logger;
  /** The hub pings every ≤ 20 s; silence longer than this means the link is dead. Default 60 s. */
  silenceTimeoutMs?: number;
  /** Backoff bounds for redialling. Default 500 ms → 30 s. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

function errorBodyOf(err: unknown): ErrorBody {
  if (err instanceof LatticeError) return err.toBody();
  const code = (err as { code?: unknown })?.code;
  const message = (err as { message?: unknown })?.message;
  if (ErrorCode.safeParse(code).success && typeof message === 'string') {
    return { code: code as ErrorCode, message };
  }
  return { code: 'internal', message: err instanceof Error ? err.message : 'The command failed' };
}

export class HubLink {
  private ws: WebSocket | undefined;
  private running = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private unsubscribeEvents: (() => void) | undefined;
  private readonly statusListeners = new Set<(connected: boolean) => void>();
  private readonly messageListeners = new Set<(msg: HubToAgent) => void>();
  private isConnected = false;
  private readonly silenceMs: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly tlsCa: string[] | undefined;
  /** The last untrusted-certificate verdict logged, so a redial loop says it once, not every time. */
  private untrustedLogged: string | undefined;

  constructor(private readonly opts: HubLinkOptions) {
    this.tlsCa = hubTlsCa(opts.caPem);
    this.silenceMs = opts.silenceTimeoutMs ?? 60_000;
    this.baseMs = opts.backoffBaseMs ?? 500;
    this.capMs = opts.backoffCapMs ?? 30_000;
    // Fail on a bad URL now rather than in a retry loop.
    hubEndpoint(opts.hubUrl, '/agent', true);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  // [sharing] The relay dials one stream WebSocket per visitor to this hub, with this device token.
  get hubUrl(): string {
    return this.opts.hubUrl;
  }

  get deviceToken(): string {
    return this.opts.deviceToken;
  }

  /** The `ca` for TLS to this hub (roots + the private CA given at pairing), undefined for Node's defaults. */
  get trustedCa(): string[] | undefined {
    return this.tlsCa;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribeEvents = this.opts.onEvent((event) => {
      // hub.status is about this very link; the hub knows presence better than we do.
      if (event.type === 'hub.status') return;
      this.send({ type: 'event', event });
    });
    this.dial();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    this.unsubscribeEvents?.();
    this.unsubscribeEvents = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const done = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2_000);
        ws.once('close', () => {
          clearTimeout(done);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'agent stopping');
      });
    }
    this.setConnected(false);
  }

  /** Redial now (after sleep or a network change) instead of waiting for the backoff. */
  reconnectNow(): void {
    if (!this.running) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    const ws = this.ws;
    this.ws = undefined;
    ws?.removeAllListeners();
    ws?.on('error', () => undefined);
    ws?.terminate();
    this.setConnected(false);
    this.dial();
  }

  onStatus(cb: (connected: boolean) => void): () => void {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }

  onMessage(cb: (msg: HubToAgent) => void): () => void {
    this.messageListeners.add(cb);
    return () => this.messageListeners.delete(cb);
  }

  /** Sends when the link is up; false when it is not (the caller decides whether that matters). */
  send(msg: AgentToHub): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  private setConnected(value: boolean): void {
    if (this.isConnected === value) return;
    this.isConnected = value;
    for (const cb of this.statusListeners) {
      try {
        cb(value);
      } catch (err) {
        this.opts.logger.warn({ err }, 'hub status listener failed');
      }
    }
  }

  private dial(): void {
    if (!this.running) return;
    const url = hubEndpoint(this.opts.hubUrl, '/agent', true);
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.deviceToken}` },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 15_000,
      ...(this.tlsCa ? { ca: this.tlsCa } : {}),
    });
    this.ws = ws;
    let refused = false;

    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401 || status === 403) {
        refused = true;
        this.opts.logger.error(
          { hub: this.opts.hubUrl, status },
          'The hub refused this device (revoked or unknown): pair it again with `lattice pair`. Retrying slowly.',
        );
      } else {
        this.opts.logger.warn({ hub: this.opts.hubUrl, status }, 'hub answered the upgrade with an error');
      }
      ws.terminate();
    });
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.untrustedLogged = undefined;
      this.armSilence(ws);
      this.opts.logger.info({ hub: this.opts.hubUrl }, 'connected to hub');
      this.send({ type: 'hello', agentVersion: LATTICE_VERSION, name: this.opts.name });
      this.setConnected(true);
    });
    ws.on('ping', () => this.armSilence(ws));
    ws.on('message', (data, isBinary) => {
      this.armSilence(ws);
      if (isBinary) return;
      this.handle(data.toString());
    });
    ws.on('error', (err) => {
      const verdict = untrustedCertificateCode(err);
      if (verdict && this.untrustedLogged !== verdict) {
        this.untrustedLogged = verdict;
        this.opts.logger.error(
          { hub: this.opts.hubUrl, verdict, privateCa: Boolean(this.opts.caPem) },
          `The hub's certificate is not trusted${this.opts.caPem ? ' with the Hub CA certificate given at pairing' : ''}: pair again with its CA (\`lattice pair --hub-ca ca.pem\`, downloadable at ${hubCaUrl(this.opts.hubUrl)}). Retrying.`,
        );
        return;
      }
      this.opts.logger.debug({ err: err.message, hub: this.opts.hubUrl }, 'hub link error');
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearTimeout(this.silenceTimer);
      this.setConnected(false);
      if (!this.running) return;
      if (code === CLOSE_PROTOCOL_VIOLATIONS) {
        // The hub stopped understanding this agent (or is holding it off for a while): redial slowly.
        this.opts.logger.warn(
          { hub: this.opts.hubUrl, code, reason: reason.toString() },
          'The hub closed the link over messages it does not understand (is one side out of date?). Retrying slowly.',
        );
        this.scheduleRetry(true);
        return;
      }
      if (code !== 1000 || !refused)
        this.opts.logger.info({ hub: this.opts.hubUrl, code }, 'hub link closed');
      this.scheduleRetry(refused);
    });
  }

  private armSilence(ws: WebSocket): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      if (this.ws !== ws) return;
      this.opts.logger.warn({ hub: this.opts.hubUrl }, 'hub went silent; redialling');
      ws.terminate();
    }, this.silenceMs);
    this.silenceTimer.unref?.();
  }

  private scheduleRetry(refused: boolean): void {
    clearTimeout(this.retryTimer);
    // A revoked device would otherwise hammer the hub: go straight to the cap.
    const ceiling = refused ? this.capMs : Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt++;
    // Full jitter: spread reconnecting agents apart after a hub restart.
    const delay = refused ? ceiling / 2 + Math.random() * (ceiling / 2) : Math.random() * ceiling;
    this.retryTimer = setTimeout(() => this.dial(), delay);
  }

  private handle(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.opts.logger.warn('hub sent malformed JSON; ignored');
      return;
    }
    const parsed = HubToAgent.safeParse(raw);
    if (!parsed.success) {
      this.opts.logger.warn(
        { type: (raw as { type?: unknown })?.type },
        'hub sent an unknown message; ignored',
      );
      return;
    }
    const msg = parsed.data;
    if (msg.type === 'command') void this.runCommand(msg);
    for (const cb of this.messageListeners) {
      try {
        cb(msg);
      } catch (err) {
        this.opts.logger.warn({ err }, 'hub message listener failed');
      }
    }
  }

  private async runCommand(msg: Extract<HubToAgent, { type: 'command' }>): Promise<void> {
    let result: Extract<AgentToHub, { type: 'result' }>['result'];
    try {
      // The name is checked by the dispatcher (unknown_command); it is typed loosely here on purpose.
      const value = await this.opts.dispatch(msg.name as never, msg.args, {
        door: 'remote',
        user: { id: msg.user.id, email: msg.user.email },
        commandId: msg.id,
      });
      result = { ok: true, value };
    } catch (err) {
      result = { ok: false, error: errorBodyOf(err) };
    }
    if (Buffer.byteLength(JSON.stringify(result ?? null)) > MAX_MESSAGE_BYTES - 1024) {
      // The hub closes a socket that sends more than its payload limit; say so instead.
      result = {
        ok: false,
        error: {
          code: 'invalid_argument',
          message: 'The result is too large to relay (over 1 MiB); ask for less',
        },
      };
    }
    if (!this.send({ type: 'result', id: msg.id, result })) {
      this.opts.logger.warn({ id: msg.id, name: msg.name }, 'hub link down; command result not delivered');
    }
  }
}
