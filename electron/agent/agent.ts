// The agent as every transport sees it: one dispatcher, one event stream, log following.
// Implemented by `create-agent.ts`; used by the local API, the CLI's `agent` command, the hub link,
// and the Electron main process (which injects a safeStorage-backed key provider).
import type { AgentEvent, Dispatch, LogLine } from '../../shared';
import type { KeyProvider } from './secrets';
import type { ShareServiceOptions } from './shares/share-service';

export interface AgentOptions {
  dataDir: string;
  /** Environment for image overrides (LATTICE_IMAGE_*) and extra labels; defaults to process.env. */
  env?: Record<string, string | undefined>;
  keyProvider?: KeyProvider;
  /** Hub URL to link to (otherwise the paired hub from the store, if any). */
  hubUrl?: string;
  /** Docker connection options (dockerode); default: the local socket / DOCKER_HOST. */
  docker?: { socketPath?: string; host?: string; port?: number };
  /** `--docker-host`: the engine to use, over Settings, DOCKER_HOST and docker contexts (docs/docker-engine.md). */
  dockerHost?: string;
  /** Test knobs of the share service: the clock, a forced expiry, an ngrok stand-in, timeouts. */
  sharing?: ShareServiceOptions;
}

export interface Agent {
  readonly dataDir: string;
  /** The agent's install id: the `lattice.owner` label on everything it creates. */
  readonly ownerId: string;
  dispatch: Dispatch;
  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (event: AgentEvent) => void): () => void;
  /**
   * Streams log lines (the last `tail`, then new ones) until the returned function is called, or until
   * the container stops and Docker ends its log stream — then `onEnd` is called, as `docker logs -f` exits.
   */
  followLogs(
    ref: string,
    tail: number,
    onLine: (line: LogLine) => void,
    onEnd?: () => void,
  ): Promise<() => void>;
  /** After sleep or a network change: reconnect the hub link and re-open shares now, not at the next backoff. */
  wake(): Promise<void>;
  close(): Promise<void>;
}
