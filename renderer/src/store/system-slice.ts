import type { StateCreator } from 'zustand';
import type { DockerStatus, Settings, SystemInfo } from '../../../shared';
import type { StreamState } from '../api/console-api';
import type { LatticeState } from './store';

export interface SystemSlice {
  system: SystemInfo | null;
  settings: Settings | null;
  docker: DockerStatus | null;
  /** The live event stream of the agent (or the hub, on the dashboard). */
  streamState: StreamState;
  hubLink: { connected: boolean; url: string | null } | null;
  /** The runc warning blocks until dismissed; the dismissal lasts for this session only. */
  runcWarningDismissed: boolean;
  setSystem(info: SystemInfo): void;
  setSettings(settings: Settings): void;
  setDocker(docker: DockerStatus): void;
  setStreamState(s: StreamState): void;
  setHubLink(link: { connected: boolean; url: string | null }): void;
  dismissRuncWarning(): void;
}

const RUNC_DISMISSED_KEY = 'lattice.runcWarningDismissed';

interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
/** The tab's sessionStorage; absent outside a browser (unit tests). */
const tabStorage = () => (globalThis as { sessionStorage?: KeyValueStorage }).sessionStorage;

/** The dismissal lasts for the browser session (this tab), not forever. */
function runcDismissedInSession(): boolean {
  try {
    return tabStorage()?.getItem(RUNC_DISMISSED_KEY) === '1';
  } catch {
    return false;
  }
}

export const systemInitial = {
  system: null,
  settings: null,
  docker: null,
  streamState: 'connecting' as StreamState,
  hubLink: null,
  runcWarningDismissed: runcDismissedInSession(),
};

export const createSystemSlice: StateCreator<LatticeState, [], [], SystemSlice> = (set) => ({
  ...systemInitial,
  setSystem: (system) => set({ system, docker: system.docker }),
  setSettings: (settings) =>
    set({ settings, hubLink: { connected: settings.hub.connected, url: settings.hub.url } }),
  setDocker: (docker) => set({ docker }),
  setStreamState: (streamState) => set({ streamState }),
  setHubLink: (hubLink) => set({ hubLink }),
  dismissRuncWarning: () => {
    try {
      tabStorage()?.setItem(RUNC_DISMISSED_KEY, '1');
    } catch {
      // Storage disabled: the dismissal lasts until the page is reloaded.
    }
    set({ runcWarningDismissed: true });
  },
});
