// Applies the hub's dashboard events to the account-wide inventory, as agent-events.ts applies an
// agent's events to one computer's views.
import { WorkloadState, type DashboardEvent } from '../../../shared';
import { useLattice } from './store';

/** What one dashboard event changes in the inventory; true when a fresh load should follow. */
export function applyDashboardEvent(e: DashboardEvent, nowMs = Date.now()): boolean {
  const s = useLattice.getState();
  switch (e.type) {
    case 'presence': {
      const known = s.nodes[e.deviceId];
      s.setNodePresence(e.deviceId, e.online, e.lastSeenAt);
      // Back online: it has just sent the hub its whole inventory, which no event carries here.
      return !known || (e.online && !known.online);
    }
    case 'device.event': {
      const event = e.event;
      if (event.type === 'workload.changed') {
        // Only the state: the credentials of a live event stay out of the account-wide view.
        const state = WorkloadState.safeParse(event.workload);
        if (state.success) s.upsertInventoryState(e.deviceId, state.data, nowMs);
        return !state.success || !s.nodes[e.deviceId];
      }
      if (event.type === 'workload.removed') s.removeInventoryWorkload(e.deviceId, event.id);
      if (event.type === 'pull.progress') s.setPull(event);
      return false;
    }
    case 'queue.changed':
      s.upsertQueued(e.command);
      // Its workload's count of pending commands, and a queued deploy's new workload, are the hub's.
      return e.command.status !== 'pending';
  }
}
