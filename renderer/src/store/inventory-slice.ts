import type { StateCreator } from 'zustand';
import type { ErrorBody, InventoryWorkload, NodeInfo, QueuedCommand, WorkloadState } from '../../../shared';
import { fromLiveState, inventoryKey, observedLocally, type Inventoried } from './inventory-model';
import type { LatticeState } from './store';

/** The dashboard's account-wide state: every workload on every computer, the computers, the queue. */
export interface InventorySlice {
  /** By `nodeId/workloadId`. */
  inventory: Record<string, Inventoried>;
  inventoryLoaded: boolean;
  /** Why the list could not be read; the last known list stays. */
  inventoryError: ErrorBody | null;
  nodes: Record<string, NodeInfo>;
  queue: Record<string, QueuedCommand>;
  setInventory(list: InventoryWorkload[], receivedAtMs: number): void;
  setInventoryError(e: ErrorBody | null): void;
  setNodes(list: NodeInfo[]): void;
  setQueue(list: QueuedCommand[]): void;
  /** A live state from a computer's event stream (or a command's answer). */
  upsertInventoryState(nodeId: string, state: WorkloadState, nowMs: number): void;
  removeInventoryWorkload(nodeId: string, workloadId: string): void;
  setNodePresence(nodeId: string, online: boolean, lastSeenAt: string | null): void;
  upsertQueued(c: QueuedCommand): void;
}

export const inventoryInitial = {
  inventory: {},
  inventoryLoaded: false,
  inventoryError: null,
  nodes: {},
  queue: {},
};

export const createInventorySlice: StateCreator<LatticeState, [], [], InventorySlice> = (set) => ({
  ...inventoryInitial,
  setInventory: (list, receivedAtMs) =>
    set({
      inventory: Object.fromEntries(
        list.map((w) => [inventoryKey(w.node.id, w.id), observedLocally(w, receivedAtMs)]),
      ),
      inventoryLoaded: true,
      inventoryError: null,
    }),
  setInventoryError: (inventoryError) => set({ inventoryError, inventoryLoaded: true }),
  setNodes: (list) => set({ nodes: Object.fromEntries(list.map((n) => [n.id, n])) }),
  setQueue: (list) => set({ queue: Object.fromEntries(list.map((c) => [c.id, c])) }),
  upsertInventoryState: (nodeId, state, nowMs) =>
    set((s) => {
      const key = inventoryKey(nodeId, state.id);
      const previous = s.inventory[key];
      const n = s.nodes[nodeId];
      const node = n ? { id: n.id, name: n.name, online: n.online } : previous?.node;
      // A computer the dashboard has not listed yet: the next reload brings it with its name.
      if (!node) return {};
      return { inventory: { ...s.inventory, [key]: fromLiveState(previous, node, state, nowMs) } };
    }),
  removeInventoryWorkload: (nodeId, workloadId) =>
    set((s) => {
      const { [inventoryKey(nodeId, workloadId)]: _gone, ...inventory } = s.inventory;
      return { inventory };
    }),
  setNodePresence: (nodeId, online, lastSeenAt) =>
    set((s) => {
      const node = s.nodes[nodeId];
      const inventory = Object.fromEntries(
        Object.entries(s.inventory).map(([k, w]) => [
          k,
          w.node.id === nodeId ? { ...w, node: { ...w.node, online } } : w,
        ]),
      );
      return { inventory, nodes: node ? { ...s.nodes, [nodeId]: { ...node, online, lastSeenAt } } : s.nodes };
    }),
  upsertQueued: (c) => set((s) => ({ queue: { ...s.queue, [c.id]: c } })),
});
