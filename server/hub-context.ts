// Everything the HTTP routes and socket handlers of one running hub share, complete before the first
// request is routed (startHub builds it right after the server listens).
import type { Logger } from 'pino';
import type { Accounts } from './accounts';
import type { CommandQueue } from './command-queue';
import type { CommandRelay } from './command-relay';
import type { Inventory } from './inventory';
import type { Presence } from './presence';
import type { HubRelay } from './relay/hub-relay';
import type { ProtocolViolations } from './sockets/protocol-violations';
import type { Heartbeat, SocketLimits } from './sockets/socket-limits';
import type { HubStore } from './store/hub-store';

export interface HubContext {
  readonly store: HubStore;
  readonly accounts: Accounts;
  readonly presence: Presence;
  readonly commands: CommandRelay;
  /** Every computer's workloads (last known state, no secrets) and capacity. */
  readonly inventory: Inventory;
  /** Commands waiting for offline computers. */
  readonly queue: CommandQueue;
  readonly relay: HubRelay;
  readonly heartbeat: Heartbeat;
  readonly limits: SocketLimits;
  readonly logger: Logger;
  /** Origins allowed to open dashboard sockets and make cross-origin API calls. */
  readonly allowedOrigins: ReadonlySet<string>;
  readonly publicUrl: string;
  readonly staticDir: string;
  readonly csp: string;
  /** Reverse proxies whose X-Forwarded-For is believed (`--trust-proxy`); 0: the socket peer counts. */
  readonly trustProxy: number;
  /** Where the hub's private CA is downloaded, when its certificate is not publicly trusted. */
  readonly hubCaUrl: () => string | undefined;
  /** Bad messages from devices: counted, sampled into the log, and a disconnect past the bound. */
  readonly violations: ProtocolViolations;
}
