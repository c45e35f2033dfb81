import type { AgentEvent } from './events';
import type { CommandName, CommandResult } from './commands';
import type { Result } from './errors';
import type { LogLine } from './workload';

/**
 * The one object the preload exposes as `window.lattice` (contextBridge). Channel names are derived
 * from the command set; the preload refuses anything else.
 */
export interface LatticeBridge {
  invoke<K extends CommandName>(name: K, args: unknown): Promise<Result<CommandResult<K>>>;
  onEvent(listener: (event: AgentEvent) => void): () => void;
  followLogs(ref: string, tail: number, onLine: (line: LogLine) => void): () => void;
}

export const IPC = {
  invoke: 'lattice:invoke',
  event: 'lattice:event',
  logsFollow: 'lattice:logs:follow',
  logsLine: 'lattice:logs:line',
  logsStop: 'lattice:logs:stop',
} as const;
export type IpcChannel = (typeof IPC)[keyof typeof IPC];
export const IPC_CHANNELS: readonly string[] = Object.values(IPC);
