// The dashboard's account-wide view, as pure functions: when a state was observed on this browser's
// clock, how old it is in words, which computer groups what, and which queued commands wait on what.
import type { InventoryWorkload, NodeInfo, QueuedCommand, WorkloadState } from '../../../shared';

/** A workload of the inventory with the time its state was observed, on this browser's clock. */
export type Inventoried = InventoryWorkload & { observedAtMs: number };

export const inventoryKey = (nodeId: string, workloadId: string) => `${nodeId}/${workloadId}`;

/**
 * When a listed state was observed, on the local clock: the hub says how old it was when it answered,
 * so a browser whose clock is off still shows the right age.
 */
export const observedLocally = (w: InventoryWorkload, receivedAtMs: number): Inventoried => ({
  ...w,
  observedAtMs: receivedAtMs - w.ageSeconds * 1000,
});

/** An age in words: "less than a minute", "12 min", "3 h", "2 days". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return 'less than a minute';
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} days`;
}

export const ageAt = (w: Pick<Inventoried, 'observedAtMs'>, nowMs: number) =>
  Math.max(0, Math.floor((nowMs - w.observedAtMs) / 1000));

/** A state change reported live (a device event): observed now, on a known computer. */
export function fromLiveState(
  previous: Inventoried | undefined,
  node: InventoryWorkload['node'],
  state: WorkloadState,
  nowMs: number,
): Inventoried {
  return {
    ...state,
    node,
    observedAt: new Date(nowMs).toISOString(),
    ageSeconds: 0,
    observedAtMs: nowMs,
    pendingCommands: previous?.pendingCommands ?? 0,
  };
}

export interface NodeGroup {
  node: Pick<NodeInfo, 'id' | 'name' | 'online'> & { lastSeenAt: string | null };
  workloads: Inventoried[];
}

/**
 * The inventory by computer, computers by name, workloads by name. Every known computer has a group,
 * also one without workloads; a workload of a computer not (yet) in the node list still gets one.
 */
export function groupByNode(workloads: Inventoried[], nodes: NodeInfo[]): NodeGroup[] {
  const groups = new Map<string, NodeGroup>();
  for (const n of nodes)
    groups.set(n.id, {
      node: { id: n.id, name: n.name, online: n.online, lastSeenAt: n.lastSeenAt },
      workloads: [],
    });
  for (const w of workloads) {
    let g = groups.get(w.node.id);
    if (!g) groups.set(w.node.id, (g = { node: { ...w.node, lastSeenAt: null }, workloads: [] }));
    g.workloads.push(w);
  }
  const list = [...groups.values()];
  for (const g of list) g.workloads.sort((a, b) => a.name.localeCompare(b.name));
  return list.sort((a, b) => a.node.name.localeCompare(b.node.name) || a.node.id.localeCompare(b.node.id));
}

const WAITING = new Set(['pending', 'delivered']);

/**
 * The queued commands not yet answered that act on this workload. The hub describes a lifecycle
 * command by the reference it was given, quoted (`"orders"`); the dashboard queues by name.
 */
export function queuedFor(
  w: Pick<InventoryWorkload, 'id' | 'name' | 'node'>,
  commands: QueuedCommand[],
): QueuedCommand[] {
  return commands
    .filter(
      (c) =>
        c.nodeId === w.node.id &&
        WAITING.has(c.status) &&
        c.ref !== null &&
        (c.ref === w.name || c.ref === w.id),
    )
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Queued commands to show: the waiting ones (oldest first), then the latest `recent` finished ones. */
export function queueToShow(commands: QueuedCommand[], recent = 5): QueuedCommand[] {
  const waiting = commands.filter((c) => WAITING.has(c.status));
  const finished = commands
    .filter((c) => !WAITING.has(c.status))
    .sort((a, b) => (b.finishedAt ?? b.createdAt).localeCompare(a.finishedAt ?? a.createdAt))
    .slice(0, recent);
  return [...waiting.sort((a, b) => a.createdAt.localeCompare(b.createdAt)), ...finished];
}

/** `workload.start` → "start", `workload.deploy` → "deploy". */
export const commandVerb = (name: string) => name.replace(/^workload\./, '');

/** Which lifecycle action a workload in this state offers: start it when down, stop it when up. */
export function lifecycleFor(status: WorkloadState['status']): {
  start: boolean;
  stop: boolean;
  restart: boolean;
} {
  const up = status === 'running' || status === 'restarting';
  const down = status === 'stopped' || status === 'exited' || status === 'failed';
  return { start: down, stop: up, restart: up || down };
}

/** What a finished queued command came to, in words. */
export function queuedOutcome(c: QueuedCommand): string {
  switch (c.status) {
    case 'pending':
      return 'waiting for the computer';
    case 'delivered':
      return 'delivered, waiting for the answer';
    case 'cancelled':
      return 'cancelled';
    case 'expired':
      return 'expired before the computer came back';
    case 'done':
      return 'done';
    case 'failed':
      return c.result && !c.result.ok ? `failed: ${c.result.error.message}` : 'failed';
  }
}
