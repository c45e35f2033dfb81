// Sharing through ngrok (`@ngrok/ngrok`, the embedded agent: no ngrok binary to install) for owners
// with an ngrok account. TCP for databases and S3, HTTPS for web apps. Without a token or a network
// it fails within seconds with a share_failed error that says what to do.
import type { Listener } from '@ngrok/ngrok';
import type { Logger } from 'pino';
import { LatticeError } from '../../../shared';
import type { TunnelEndpoint, TunnelOpenRequest, TunnelProvider, TunnelUpdate } from './tunnel-provider';

export const NO_NGROK_TOKEN_MESSAGE =
  'Set your ngrok authtoken in Settings before sharing via ngrok (or share through your hub relay)';

type ForwardConfig = {
  addr: string;
  proto: 'tcp' | 'http';
  authtoken: string;
  basic_auth?: string[];
  forwards_to?: string;
};
export type NgrokForward = (config: ForwardConfig) => Promise<Pick<Listener, 'url' | 'close'>>;

export interface NgrokTunnelOptions {
  /** The owner's authtoken (decrypted from settings), read at each open so a new token applies at once. */
  authtoken: () => string | undefined;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Bound on the whole ngrok session + listener setup. Default 15 s. */
  timeoutMs?: number;
  /** The real `ngrok.forward` unless a unit test injects another. */
  forward?: NgrokForward;
}

async function realForward(config: ForwardConfig) {
  // Loaded on first use: the native binding is not needed by agents that never use ngrok.
  const ngrok = await import('@ngrok/ngrok');
  return (ngrok.default ?? ngrok).forward(config);
}

/** `tcp://0.tcp.eu.ngrok.io:12345` or `https://abc.ngrok-free.app` → host and port. */
export function endpointFromUrl(url: string): TunnelEndpoint {
  const parsed = new URL(url);
  const port = parsed.port
    ? Number(parsed.port)
    : parsed.protocol === 'https:'
      ? 443
      : parsed.protocol === 'http:'
        ? 80
        : undefined;
  return { url, publicHost: parsed.hostname, publicPort: port };
}

export class NgrokTunnelProvider implements TunnelProvider {
  readonly via = 'ngrok' as const;
  private readonly listeners = new Map<string, Pick<Listener, 'url' | 'close'>>();
  private readonly updateListeners = new Set<(u: TunnelUpdate) => void>();

  constructor(private readonly opts: NgrokTunnelOptions) {}

  async open(req: TunnelOpenRequest): Promise<TunnelEndpoint> {
    const authtoken = this.opts.authtoken()?.trim();
    if (!authtoken) throw new LatticeError('share_failed', NO_NGROK_TOKEN_MESSAGE);
    if (req.basicAuth && req.kind !== 'http') {
      throw new LatticeError('invalid_argument', 'Basic auth applies to HTTP shares only', 'basicAuth');
    }
    await this.close(req.shareId);
    const forward = this.opts.forward ?? realForward;
    const timeoutMs = this.opts.timeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const pending = forward({
      addr: `${req.localHost}:${req.localPort}`,
      proto: req.kind,
      authtoken,
      basic_auth: req.basicAuth ? [`${req.basicAuth.username}:${req.basicAuth.password}`] : undefined,
      forwards_to: `lattice share ${req.shareId}`,
    });
    let listener: Pick<Listener, 'url' | 'close'>;
    try {
      listener = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            reject(new Error(`no answer from ngrok within ${Math.round(timeoutMs / 1000)} s`));
          }, timeoutMs);
        }),
      ]);
    } catch (err) {
      // A listener that turns up after we gave up must not stay open with no share behind it.
      if (timedOut) void pending.then((l) => l.close()).catch(() => undefined);
      throw new LatticeError(
        'share_failed',
        `ngrok could not open the tunnel: ${(err as Error).message} (check this computer's internet connection and the ngrok authtoken in Settings)`,
      );
    } finally {
      clearTimeout(timer);
    }
    const url = listener.url();
    if (!url) {
      await listener.close().catch(() => undefined);
      throw new LatticeError('share_failed', 'ngrok opened a listener without a public URL');
    }
    this.listeners.set(req.shareId, listener);
    this.opts.logger?.info({ shareId: req.shareId, url }, 'ngrok tunnel open');
    return endpointFromUrl(url);
  }

  async close(shareId: string): Promise<void> {
    const listener = this.listeners.get(shareId);
    if (!listener) return;
    this.listeners.delete(shareId);
    try {
      await listener.close();
    } catch (err) {
      this.opts.logger?.warn({ shareId, err: (err as Error).message }, 'closing the ngrok listener failed');
    }
  }

  onUpdate(listener: (update: TunnelUpdate) => void): () => void {
    // The embedded ngrok agent reconnects its session by itself; nothing to report.
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.listeners.keys()].map((id) => this.close(id)));
  }
}
