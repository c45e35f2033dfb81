// The Electron console: `window.lattice`, the narrow bridge the preload exposes (shared/ipc.ts).
import type { LatticeBridge } from '../../../shared';
import type { ConsoleApi, StreamState } from './console-api';
import { Listeners } from './listeners';

declare global {
  interface Window {
    lattice?: LatticeBridge;
  }
}

export function createIpcApi(bridge: LatticeBridge): ConsoleApi {
  const states = new Listeners<StreamState>();
  return {
    kind: 'ipc',
    invoke: (name, args) => bridge.invoke(name, args),
    onEvent: (listener) => bridge.onEvent(listener),
    onStreamState(listener) {
      // In-process agent: the stream is always there.
      queueMicrotask(() => listener('live'));
      return states.add(listener);
    },
    followLogs: (ref, tail, onLine) => bridge.followLogs(ref, tail, onLine),
    close() {},
  };
}
