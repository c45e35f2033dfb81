// How a share reaches the world. Two providers sit behind this one interface: the hub relay (the
// default when paired: no third-party account) and ngrok (for owners with an ngrok account).
import type { RelayTls, ShareVia } from '../../../shared';

export interface TunnelOpenRequest {
  shareId: string;
  /** tcp: raw bytes (databases, S3); http: a web app (the relay checks basic auth per request). */
  kind: 'tcp' | 'http';
  localHost: string;
  localPort: number;
  basicAuth?: { username: string; password: string };
  /** ISO time, or null for never. The provider closes the tunnel by then even if the agent does not. */
  expiresAt: string | null;
  /** Ask for this public port again (re-opening after a restart keeps the address visitors have). */
  preferredPort?: number;
  /** How a hub with a certificate secures a tcp tunnel's public side (shared/hub-protocol.ts). */
  protection?: 'postgres' | 'tls' | 'plain';
}

export interface TunnelEndpoint {
  /** tcp://host:port or http(s)://… */
  url: string;
  publicHost: string;
  publicPort?: number;
  /** The public side is TLS with the hub's certificate, verified as this says. */
  tls?: RelayTls;
}

/** What a provider reports about a tunnel it re-opened on its own (the hub came back, …). */
export type TunnelUpdate =
  | { shareId: string; state: 'open'; endpoint: TunnelEndpoint }
  | { shareId: string; state: 'lost'; message: string };

export interface TunnelProvider {
  readonly via: ShareVia;
  /** Opens the tunnel; rejects with a LatticeError('share_failed', …) that says why. */
  open(req: TunnelOpenRequest): Promise<TunnelEndpoint>;
  /** Closes the public side and every open connection through it. Unknown ids are a no-op. */
  close(shareId: string): Promise<void>;
  /** Tunnels that went down or came back without the share service asking. */
  onUpdate(listener: (update: TunnelUpdate) => void): () => void;
  /** Stops every tunnel of this provider (agent shutdown). Shares stay in the store and re-open on start. */
  closeAll(): Promise<void>;
}
