// `window.lattice`: the console's only way into the main process. Built from the contract — the
// channel names in IPC, the command names in COMMANDS — and refusing anything else before it is
// sent. ipcRenderer itself never crosses the bridge, nor do the IPC event objects (their `sender`
// is ipcRenderer).
import { IPC, IPC_CHANNELS, type IpcChannel, type LatticeBridge } from '../../shared/ipc';
import { isCommandName, type CommandName, type CommandResult } from '../../shared/commands';
import type { Result } from '../../shared/errors';
import type { AgentEvent } from '../../shared/events';
import type { LogLine } from '../../shared/workload';

/** The part of Electron's ipcRenderer the bridge uses (injected, so tests need no Electron). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export class BridgeError extends Error {
  override name = 'BridgeError';
}

function checkChannel(channel: string): IpcChannel {
  if (!IPC_CHANNELS.includes(channel))
    throw new BridgeError(`IPC channel "${channel}" is not part of the contract`);
  return channel as IpcChannel;
}

export function createBridge(ipc: IpcRendererLike): LatticeBridge {
  const invoke = (channel: IpcChannel, ...args: unknown[]) => ipc.invoke(checkChannel(channel), ...args);
  const on = (channel: IpcChannel, listener: (event: unknown, ...args: unknown[]) => void) => {
    ipc.on(checkChannel(channel), listener);
    return () => void ipc.removeListener(channel, listener);
  };

  // One listener for all log follows, routing lines by subscription id.
  const logFollowers = new Map<string, (line: LogLine) => void>();
  let logListenerOff: (() => void) | undefined;
  let nextFollowId = 0;
  const followPrefix = Math.random().toString(36).slice(2, 10);

  const bridge: LatticeBridge = {
    invoke<K extends CommandName>(name: K, args: unknown): Promise<Result<CommandResult<K>>> {
      if (!isCommandName(name)) {
        return Promise.reject(new BridgeError(`Unknown command ${JSON.stringify(name)}`));
      }
      return invoke(IPC.invoke, name, args ?? {}) as Promise<Result<CommandResult<K>>>;
    },

    onEvent(listener) {
      if (typeof listener !== 'function') throw new BridgeError('onEvent needs a listener function');
      return on(IPC.event, (_event, payload) => listener(payload as AgentEvent));
    },

    followLogs(ref, tail, onLine) {
      if (typeof ref !== 'string' || ref.length === 0)
        throw new BridgeError('followLogs needs a workload name or id');
      if (typeof onLine !== 'function') throw new BridgeError('followLogs needs a line callback');
      const id = `${followPrefix}-${++nextFollowId}`;
      logFollowers.set(id, onLine);
      logListenerOff ??= on(IPC.logsLine, (_event, payload) => {
        const { id: target, line } = (payload ?? {}) as { id?: string; line?: LogLine };
        if (typeof target === 'string' && line) logFollowers.get(target)?.(line);
      });
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        logFollowers.delete(id);
        if (logFollowers.size === 0) {
          logListenerOff?.();
          logListenerOff = undefined;
        }
        void invoke(IPC.logsStop, id).catch(() => undefined);
      };
      invoke(IPC.logsFollow, { id, ref, tail }).then(
        (result) => {
          const r = result as { ok: boolean; error?: { message: string } };
          // The callback has no error path; the failure shows where the lines would have.
          if (!r.ok && !stopped)
            onLine({ stream: 'stderr', text: r.error?.message ?? 'Could not follow the logs' });
        },
        (err: unknown) => {
          if (!stopped) onLine({ stream: 'stderr', text: err instanceof Error ? err.message : String(err) });
        },
      );
      return stop;
    },
  };
  return Object.freeze(bridge);
}
