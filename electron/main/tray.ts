// The tray: an icon that says at a glance whether anything is wrong, running or shared, and a menu
// for the everyday actions. The menu is a pure function of the agent snapshot (tested without
// Electron); the controller only turns it into native objects and rebuilds it on every change.
import { join } from 'node:path';
import type {
  Menu as ElectronMenu,
  MenuItemConstructorOptions,
  NativeImage,
  Tray as ElectronTray,
} from 'electron';
import {
  LatticeError,
  isLiveShare,
  type Settings,
  type Share,
  type ShareCreateArgs,
  type ShareVia,
  type Workload,
  type WorkloadStatus,
} from '../../shared';
import type { AgentSnapshot } from './agent-snapshot';

export type TrayIconState = 'idle' | 'running' | 'sharing' | 'problem';
export const TRAY_ICON_STATES: readonly TrayIconState[] = ['idle', 'running', 'sharing', 'problem'];

/** What the menu's items do; the app wires them to the agent, the window and the clipboard. */
export interface TrayActions {
  openConsole(): void;
  deployPostgres(): void;
  startWorkload(workload: Workload): void;
  stopWorkload(workload: Workload): void;
  copyText(text: string): void;
  /** "Share…": shares in one click with the defaults (`shareInOneClick`). */
  shareWorkload(workload: Workload): void;
  setPaused(paused: boolean): void;
  quit(): void;
}

const PROBLEM_STATUSES: readonly WorkloadStatus[] = ['failed', 'missing'];
const RUNNING_STATUSES: readonly WorkloadStatus[] = ['running', 'restarting', 'starting'];
const STOPPABLE_STATUSES: readonly WorkloadStatus[] = ['running', 'restarting', 'starting'];
const STARTABLE_STATUSES: readonly WorkloadStatus[] = ['stopped', 'exited', 'failed'];

/** Why the agent cannot work as it should, or undefined when all is well. */
export function problemOf(snapshot: AgentSnapshot): string | undefined {
  const { docker } = snapshot;
  if (docker && !docker.available)
    return `Docker is not available${docker.message ? `: ${docker.message}` : ''}`;
  if (docker?.runcVulnerable)
    return `runc ${docker.runcVersion ?? ''} is vulnerable (CVE-2024-21626): update Docker`;
  const broken = snapshot.workloads.find((w) => PROBLEM_STATUSES.includes(w.status));
  if (broken) return `${broken.name} is ${broken.status}${broken.message ? `: ${broken.message}` : ''}`;
  if (snapshot.shares.some((s) => s.status === 'failed')) return 'A share failed to open';
  return undefined;
}

/** The icon: problem beats sharing beats running beats idle. */
export function trayIconState(snapshot: AgentSnapshot): TrayIconState {
  if (problemOf(snapshot)) return 'problem';
  if (snapshot.shares.some(isLiveShare)) return 'sharing';
  if (snapshot.workloads.some((w) => RUNNING_STATUSES.includes(w.status))) return 'running';
  return 'idle';
}

export function trayTooltip(snapshot: AgentSnapshot): string {
  const problem = problemOf(snapshot);
  if (problem) return `Lattice — ${problem}`;
  const running = snapshot.workloads.filter((w) => RUNNING_STATUSES.includes(w.status)).length;
  const shared = snapshot.shares.filter(isLiveShare).length;
  const parts = [`${running} running`];
  if (shared) parts.push(`${shared} shared`);
  if (snapshot.paused) parts.push('paused');
  return `Lattice — ${parts.join(', ')}`;
}

function workloadMenu(
  workload: Workload,
  snapshot: AgentSnapshot,
  actions: TrayActions,
): MenuItemConstructorOptions {
  const liveShares = snapshot.shares.filter((s) => s.workloadId === workload.id && isLiveShare(s));
  const connection = workload.connectionString ?? workload.url ?? workload.endpoint;
  const items: MenuItemConstructorOptions[] = [
    {
      id: `workload:${workload.id}:start`,
      label: 'Start',
      enabled: !snapshot.paused && STARTABLE_STATUSES.includes(workload.status),
      click: () => actions.startWorkload(workload),
    },
    {
      id: `workload:${workload.id}:stop`,
      label: 'Stop',
      enabled: STOPPABLE_STATUSES.includes(workload.status),
      click: () => actions.stopWorkload(workload),
    },
    { type: 'separator' },
    {
      id: `workload:${workload.id}:copy`,
      label: workload.connectionString ? 'Copy connection string' : 'Copy address',
      enabled: connection !== undefined,
      click: () => {
        if (connection) actions.copyText(connection);
      },
    },
    {
      id: `workload:${workload.id}:share`,
      label: 'Share…',
      enabled: !snapshot.paused && workload.status === 'running',
      click: () => actions.shareWorkload(workload),
    },
  ];
  for (const share of liveShares) {
    const link = share.connectionString ?? share.url;
    items.push({
      id: `share:${share.id}:copy`,
      label: `Copy shared link (${share.via})`,
      enabled: share.status === 'active',
      click: () => actions.copyText(link),
    });
  }
  return {
    id: `workload:${workload.id}`,
    label: `${workload.name} — ${workload.status}${liveShares.length ? ' · shared' : ''}`,
    submenu: items,
  };
}

/** The whole tray menu for a snapshot. Pure: same snapshot, same menu. */
export function buildTrayMenu(snapshot: AgentSnapshot, actions: TrayActions): MenuItemConstructorOptions[] {
  const dockerReady = snapshot.docker?.available !== false;
  const menu: MenuItemConstructorOptions[] = [];
  const problem = problemOf(snapshot);
  if (problem) menu.push({ id: 'problem', label: `⚠ ${problem}`, enabled: false }, { type: 'separator' });
  menu.push(
    { id: 'open-console', label: 'Open console', click: () => actions.openConsole() },
    {
      id: 'deploy-postgres',
      label: 'Deploy Postgres',
      enabled: dockerReady && !snapshot.paused,
      click: () => actions.deployPostgres(),
    },
    { type: 'separator' },
  );
  if (snapshot.workloads.length === 0) {
    menu.push({ id: 'no-workloads', label: 'No workloads yet', enabled: false });
  } else {
    const sorted = [...snapshot.workloads].sort((a, b) => a.name.localeCompare(b.name));
    for (const workload of sorted) menu.push(workloadMenu(workload, snapshot, actions));
  }
  menu.push(
    { type: 'separator' },
    {
      id: 'pause',
      label: 'Pause agent',
      type: 'checkbox',
      checked: snapshot.paused,
      click: () => actions.setPaused(!snapshot.paused),
    },
    { id: 'quit', label: 'Quit Lattice', click: () => actions.quit() },
  );
  return menu;
}

/** What "Share…" needs from the app: the agent (local door), the clipboard, notifications, the console. */
export interface OneClickShareDeps {
  settings(): Promise<Pick<Settings, 'ngrokConfigured' | 'hub'>>;
  createShare(args: ShareCreateArgs): Promise<Share>;
  copyText(text: string): void;
  notify(title: string, body: string): void;
  /** Opens the console on the workload's page, where its share panel is. */
  openSharePanel(workload: Workload): void;
}

export type OneClickShareOutcome =
  | { outcome: 'shared'; via: ShareVia; share: Share }
  | { outcome: 'opened-console'; reason: string }
  | { outcome: 'failed'; message: string };

const VIA_WORDS: Record<ShareVia, string> = { relay: 'through your hub', ngrok: 'through ngrok' };

/**
 * "Share…" in a workload's tray menu: one click, the defaults. Through the hub relay when this
 * computer is paired, else through ngrok when a token is set, else there is nothing to choose with
 * and the console's share panel opens, the notification saying why. A share's connection string
 * (or URL) goes to the clipboard and a notification says so.
 */
export async function shareInOneClick(
  workload: Workload,
  deps: OneClickShareDeps,
): Promise<OneClickShareOutcome> {
  try {
    const settings = await deps.settings();
    const via: ShareVia | undefined = settings.hub.deviceId
      ? 'relay'
      : settings.ngrokConfigured
        ? 'ngrok'
        : undefined;
    if (!via) {
      const reason =
        'This computer is not paired with a hub and has no ngrok token: pick how to share it in the console.';
      deps.openSharePanel(workload);
      deps.notify(`Share ${workload.name}`, reason);
      return { outcome: 'opened-console', reason };
    }
    const share = await deps.createShare({ workload: workload.id, via });
    deps.copyText(share.connectionString ?? share.url);
    const until = share.expiresAt ? ` until ${new Date(share.expiresAt).toLocaleString()}` : '';
    deps.notify(
      `${workload.name} is shared`,
      `Shared ${VIA_WORDS[via]}${until}. The ${share.connectionString ? 'connection string' : 'address'} is on the clipboard.`,
    );
    return { outcome: 'shared', via, share };
  } catch (err) {
    const message = err instanceof LatticeError || err instanceof Error ? err.message : String(err);
    deps.notify(`Sharing ${workload.name} failed`, message);
    return { outcome: 'failed', message };
  }
}

/**
 * The icon file for a state. macOS and Windows pick the `@2x` sibling on HiDPI screens themselves;
 * Linux trays draw at 22–24 px, so they get the 32 px image to scale down rather than 16 px to blow up.
 */
export function trayIconPath(iconDir: string, state: TrayIconState, platform: NodeJS.Platform): string {
  return join(iconDir, platform === 'linux' ? `${state}-32.png` : `${state}.png`);
}

export interface TrayDeps {
  Tray: new (image: NativeImage) => ElectronTray;
  Menu: Pick<typeof ElectronMenu, 'buildFromTemplate'>;
  nativeImage: { createFromPath(path: string): NativeImage };
}

/** The live tray: rebuilt from the snapshot each time it changes. */
export function createTrayController(
  deps: TrayDeps,
  options: { iconDir: string; platform: NodeJS.Platform; actions: TrayActions; initial: AgentSnapshot },
) {
  const icons = new Map<TrayIconState, NativeImage>();
  const icon = (state: TrayIconState) => {
    let image = icons.get(state);
    if (!image) {
      image = deps.nativeImage.createFromPath(trayIconPath(options.iconDir, state, options.platform));
      icons.set(state, image);
    }
    return image;
  };
  let state = trayIconState(options.initial);
  const tray = new deps.Tray(icon(state));
  // Windows and most Linux trays open the menu on right click; a left click should do the obvious thing.
  tray.on('click', () => {
    if (options.platform !== 'darwin') options.actions.openConsole();
  });

  const update = (snapshot: AgentSnapshot) => {
    const next = trayIconState(snapshot);
    if (next !== state) {
      state = next;
      tray.setImage(icon(state));
    }
    tray.setToolTip(trayTooltip(snapshot));
    tray.setContextMenu(deps.Menu.buildFromTemplate(buildTrayMenu(snapshot, options.actions)));
  };
  update(options.initial);
  return {
    update,
    get state() {
      return state;
    },
    destroy: () => tray.destroy(),
  };
}
