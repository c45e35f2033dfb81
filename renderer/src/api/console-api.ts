// The one interface every view talks to. Three transports implement it: the Electron preload (IPC),
// the headless agent's loopback API (HTTP + SSE) and the hub (REST + WebSocket, for one device).
import type {
  AgentEvent,
  CommandArgs,
  CommandName,
  CommandResult,
  ErrorBody,
  LogLine,
  Result,
} from '../../../shared';

export type TransportKind = 'ipc' | 'http' | 'hub';

/** Where the live event stream stands; the console shows a banner when it is not `live`. */
export type StreamState = 'connecting' | 'live' | 'down' | 'unauthorized';

export interface ConsoleApi {
  readonly kind: TransportKind;
  invoke<K extends CommandName>(name: K, args: CommandArgs<K>): Promise<Result<CommandResult<K>>>;
  /** Subscribe to agent events; returns the unsubscribe function. */
  onEvent(listener: (event: AgentEvent) => void): () => void;
  /** Where the event stream stands (for the "agent unreachable" / "hub unreachable" banners). */
  onStreamState(listener: (state: StreamState) => void): () => void;
  /** The last `tail` lines, then new ones until the returned function is called. */
  followLogs(
    ref: string,
    tail: number,
    onLine: (line: LogLine) => void,
    onError?: (e: ErrorBody) => void,
  ): () => void;
  close(): void;
}
