// Sleep and wake. After the machine wakes, the hub link and the tunnels are dead sockets; the agent
// is told at once rather than at its next backoff. While something is shared (and the owner wants
// it) the app asks the OS not to suspend, since a sleeping laptop is an unreachable database.
import type { PowerMonitor, PowerSaveBlocker } from 'electron';
import { isLiveShare } from '../../shared';
import type { Agent } from '../agent';
import type { AgentSnapshot } from './agent-snapshot';

export interface PowerDeps {
  powerMonitor: Pick<PowerMonitor, 'on' | 'removeListener'>;
  powerSaveBlocker: Pick<PowerSaveBlocker, 'start' | 'stop' | 'isStarted'>;
  agent: Pick<Agent, 'wake'>;
}

export const shouldKeepAwake = (snapshot: AgentSnapshot) =>
  snapshot.keepAwakeWhileSharing && snapshot.shares.some(isLiveShare);

export function createPowerController(deps: PowerDeps) {
  let blockerId: number | undefined;

  const onResume = () => {
    deps.agent
      .wake()
      .catch((err: unknown) => console.warn(`[lattice] wake after resume failed: ${String(err)}`));
  };
  deps.powerMonitor.on('resume', onResume);

  const release = () => {
    if (blockerId !== undefined && deps.powerSaveBlocker.isStarted(blockerId))
      deps.powerSaveBlocker.stop(blockerId);
    blockerId = undefined;
  };

  return {
    /** Applies the keep-awake rule to a new snapshot. */
    update(snapshot: AgentSnapshot): void {
      if (shouldKeepAwake(snapshot)) {
        blockerId ??= deps.powerSaveBlocker.start('prevent-app-suspension');
      } else {
        release();
      }
    },
    get keepingAwake(): boolean {
      return blockerId !== undefined;
    },
    dispose(): void {
      deps.powerMonitor.removeListener('resume', onResume);
      release();
    },
  };
}
