// The seam for sharing (share.create / share.revoke / share.list). The agent core only routes the
// commands; the sharing implementation plugs in through a factory given to createAgent:
//
//   createAgent({ ..., shareServiceFactory: (internals) => createShareService(internals) })
//
// `AgentInternals` is everything a share implementation needs, without reaching into the core:
//   - `db`: the SQLite handle (add tables with a numbered migration in store/migrations, e.g. 0002-shares.sql;
//     the runner applies every new numbered file at start, in one transaction with its user_version bump)
//   - `box`: seal/open secrets (role passwords, basic-auth credentials) — never store them in clear
//   - `resolveWorkload(ref)`: id or name → the Workload view, its decrypted credentials and host ports
//   - `ngrokAuthtoken()`: the decrypted ngrok token, or undefined when not configured
//   - `settings()`: the current Settings view
//   - `hubLink()` / `onHubLink(cb)`: the current hub link (send relay.open/relay.close, onMessage for
//     stream.open and relay.opened/relay.error), or undefined when not paired; `onHubLink` fires when it changes
//   - `bus`: emit `share.changed` / `share.removed`; `onEvent` to watch workload changes (e.g. workload.removed)
//   - `logger`, `dataDir`, `ownerId`
// When no factory is given, share.* fail with `share_failed` "Sharing is not available".
import type { Logger } from 'pino';
import type { CommandContext, ParsedArgs, Settings, Share } from '../../shared';
import type { Db } from './store';
import type { EventBus } from './event-bus';
import type { SecretBox } from './secrets';
import type { HubLink } from './hub-link';
import type { ResolvedWorkload } from './workloads';

export interface ShareService {
  create(args: ParsedArgs<'share.create'>, ctx: CommandContext): Promise<Share>;
  /** By share id, or every share of a workload (id or name). Returns the revoked share ids. */
  revoke(ref: string): Promise<string[]>;
  list(): Promise<Share[]>;
  /** After start or wake: re-open shares that have not expired. */
  reopenAll(): Promise<void>;
  close(): Promise<void>;
}

export interface AgentInternals {
  db: Db;
  box: SecretBox;
  bus: EventBus;
  logger: Logger;
  dataDir: string;
  ownerId: string;
  resolveWorkload(ref: string): ResolvedWorkload;
  ngrokAuthtoken(): string | undefined;
  settings(): Settings;
  hubLink(): HubLink | undefined;
  onHubLink(cb: (link: HubLink | undefined) => void): () => void;
}

export type ShareServiceFactory = (internals: AgentInternals) => ShareService | Promise<ShareService>;
