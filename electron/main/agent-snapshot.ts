// What the shell knows of the agent right now — workloads, shares, Docker, the settings it acts on —
// kept current from the agent's event stream. The tray menu, its icon and the keep-awake blocker are
// all pure functions of this snapshot, so they can be tested without Electron or Docker.
import type { Agent } from '../agent';
import type { AgentEvent, DockerStatus, Settings, Share, Workload } from '../../shared';

export interface AgentSnapshot {
  workloads: Workload[];
  shares: Share[];
  docker: DockerStatus | null;
  hubConnected: boolean;
  paused: boolean;
  keepAwakeWhileSharing: boolean;
  startAtLogin: boolean;
}

export const EMPTY_SNAPSHOT: AgentSnapshot = {
  workloads: [],
  shares: [],
  docker: null,
  hubConnected: false,
  paused: false,
  keepAwakeWhileSharing: true,
  startAtLogin: false,
};

function upsert<T extends { id: string }>(list: T[], item: T): T[] {
  const index = list.findIndex((x) => x.id === item.id);
  if (index === -1) return [...list, item];
  const next = list.slice();
  next[index] = item;
  return next;
}

/** The snapshot after one event. Pure. */
export function applyEvent(snapshot: AgentSnapshot, event: AgentEvent): AgentSnapshot {
  switch (event.type) {
    case 'workload.changed':
      return { ...snapshot, workloads: upsert(snapshot.workloads, event.workload) };
    case 'workload.removed':
      return {
        ...snapshot,
        workloads: snapshot.workloads.filter((w) => w.id !== event.id),
        shares: snapshot.shares.filter((s) => s.workloadId !== event.id),
      };
    case 'share.changed':
      return { ...snapshot, shares: upsert(snapshot.shares, event.share) };
    case 'share.removed':
      return { ...snapshot, shares: snapshot.shares.filter((s) => s.id !== event.id) };
    case 'docker.status':
      return { ...snapshot, docker: event.docker };
    case 'hub.status':
      return { ...snapshot, hubConnected: event.connected };
    case 'settings.changed':
      return applySettings(snapshot, event.settings);
    case 'pull.progress':
      return snapshot;
  }
}

export function applySettings(snapshot: AgentSnapshot, settings: Settings): AgentSnapshot {
  return {
    ...snapshot,
    paused: settings.paused,
    keepAwakeWhileSharing: settings.keepAwakeWhileSharing,
    startAtLogin: settings.startAtLogin,
    hubConnected: settings.hub.connected,
  };
}

type Listener = (snapshot: AgentSnapshot) => void;

/** Holds the live snapshot: loaded once from the agent, then folded from its events. */
export class SnapshotStore {
  private snapshot: AgentSnapshot = EMPTY_SNAPSHOT;
  private readonly listeners = new Set<Listener>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly agent: Pick<Agent, 'dispatch' | 'onEvent'>) {}

  get current(): AgentSnapshot {
    return this.snapshot;
  }

  /** Subscribes to events first, then loads, so nothing that happens during the load is missed. */
  async start(): Promise<void> {
    this.unsubscribe ??= this.agent.onEvent((event) => {
      this.set(applyEvent(this.snapshot, event));
    });
    await this.reload();
  }

  async reload(): Promise<void> {
    const ctx = { door: 'local' } as const;
    const [workloads, shares, info, settings] = await Promise.allSettled([
      this.agent.dispatch('workload.list', {}, ctx),
      this.agent.dispatch('share.list', {}, ctx),
      this.agent.dispatch('system.info', {}, ctx),
      this.agent.dispatch('settings.get', {}, ctx),
    ]);
    let next = this.snapshot;
    if (workloads.status === 'fulfilled') next = { ...next, workloads: workloads.value };
    if (shares.status === 'fulfilled') next = { ...next, shares: shares.value };
    if (info.status === 'fulfilled') next = { ...next, docker: info.value.docker };
    if (settings.status === 'fulfilled') next = applySettings(next, settings.value);
    this.set(next);
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.listeners.clear();
  }

  private set(next: AgentSnapshot): void {
    this.snapshot = next;
    for (const listener of this.listeners) listener(next);
  }
}
