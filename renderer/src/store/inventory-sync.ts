// Keeps the dashboard's account-wide inventory current: one load of the hub's workload.list,
// node.list and queue.list, then the hub's dashboard events — presence, each computer's workload
// events, queued commands — applied as they come. The hub pushes no capacity changes, so the computers'
// free memory is re-read when the deploy form opens (refreshNodes), not polled.
import type { HubClient } from '../api/hub-transport';
import { applyDashboardEvent } from './dashboard-events';
import { useLattice } from './store';

export async function loadInventory(hub: HubClient): Promise<void> {
  const [workloads, nodes, queue] = await Promise.all([
    hub.procedure('workload.list', undefined),
    hub.procedure('node.list', undefined),
    hub.procedure('queue.list', undefined),
  ]);
  const s = useLattice.getState();
  if (nodes.ok) s.setNodes(nodes.value);
  if (workloads.ok) s.setInventory(workloads.value, Date.now());
  else s.setInventoryError(workloads.error);
  if (queue.ok) s.setQueue(queue.value);
}

export async function refreshNodes(hub: HubClient): Promise<void> {
  const nodes = await hub.procedure('node.list', undefined);
  if (nodes.ok) useLattice.getState().setNodes(nodes.value);
}

/** Subscribes the store to the hub's events; returns the unsubscribe function. */
export function attachInventory(hub: HubClient): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wasDown = false;
  // Several events in a burst (a computer reconnecting) make one reload.
  const reloadSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void loadInventory(hub), 250);
  };
  const offEvents = hub.dashboardEvents.add((e) => {
    if (applyDashboardEvent(e)) reloadSoon();
  });
  const offState = hub.streamStates.add((state) => {
    if (state === 'down') wasDown = true;
    // Events missed while the socket was down are not replayed.
    if (state === 'live' && wasDown) {
      wasDown = false;
      reloadSoon();
    }
  });
  void loadInventory(hub);
  return () => {
    clearTimeout(timer);
    offEvents();
    offState();
  };
}
