// Binds one ConsoleApi to the store: initial loads, the live event stream, and reloads after the
// stream comes back (events missed while it was down are not replayed).
import type { ConsoleApi } from '../api/console-api';
import { applyAgentEvent } from './agent-events';
import { useLattice } from './store';

export async function loadConsoleState(api: ConsoleApi): Promise<void> {
  const s = useLattice.getState();
  const [workloads, shares, system, settings] = await Promise.all([
    api.invoke('workload.list', {}),
    api.invoke('share.list', {}),
    api.invoke('system.info', {}),
    api.invoke('settings.get', {}),
  ]);
  if (workloads.ok) s.setWorkloads(workloads.value);
  else if (workloads.error.code === 'unauthorized') s.setSession('needs-token');
  else s.setWorkloadsError(workloads.error);
  if (shares.ok) s.setShares(shares.value);
  else s.setSharesError(shares.error);
  if (system.ok) s.setSystem(system.value);
  if (settings.ok) s.setSettings(settings.value);
}

export function attachConsole(api: ConsoleApi): () => void {
  let wasDown = false;
  const offEvents = api.onEvent(applyAgentEvent);
  const offState = api.onStreamState((state) => {
    const s = useLattice.getState();
    s.setStreamState(state);
    if (state === 'unauthorized') s.setSession('needs-token');
    if (state === 'down') wasDown = true;
    if (state === 'live' && wasDown) {
      wasDown = false;
      void loadConsoleState(api);
    }
  });
  void loadConsoleState(api);
  return () => {
    offEvents();
    offState();
  };
}
