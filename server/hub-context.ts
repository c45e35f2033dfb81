// Everything the HTTP routes and socket handlers of one running hub share.
import type { Logger } from 'pino';
import type { Accounts } from './accounts';
import type { CommandRelay } from './command-relay';
import type { Presence } from './presence';
import type { RelayHooks } from './relay/relay-hooks';
import type { Heartbeat, SocketLimits } from './sockets/socket-limits';
import type { HubStore } from './store/hub-store';

export interface HubContext {
  store: HubStore;
  accounts: Accounts;
  presence: Presence;
  commands: CommandRelay;
  relayHooks: RelayHooks;
  heartbeat: Heartbeat;
  limits: SocketLimits;
  logger: Logger;
  /** Origins allowed to open dashboard sockets and make cross-origin API calls. */
  allowedOrigins: Set<string>;
  publicUrl: string;
  staticDir: string;
  csp: string;
}
