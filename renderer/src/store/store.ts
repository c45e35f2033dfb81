// One zustand store built from slices (zustand's slices pattern). Transports update it with
// setState from outside React; components subscribe with selectors.
import { create } from 'zustand';
import { createWorkloadsSlice, workloadsInitial, type WorkloadsSlice } from './workloads-slice';
import { createPullsSlice, pullsInitial, type PullsSlice } from './pulls-slice';
import { createSharesSlice, sharesInitial, type SharesSlice } from './shares-slice';
import { createSystemSlice, systemInitial, type SystemSlice } from './system-slice';
import { createSessionSlice, sessionInitial, type SessionSlice } from './session-slice';
import { createHubSlice, hubInitial, type HubSlice } from './hub-slice';
import { createInventorySlice, inventoryInitial, type InventorySlice } from './inventory-slice';

export type LatticeState = WorkloadsSlice &
  PullsSlice &
  SharesSlice &
  SystemSlice &
  SessionSlice &
  HubSlice &
  InventorySlice;

export const useLattice = create<LatticeState>()((...a) => ({
  ...createWorkloadsSlice(...a),
  ...createPullsSlice(...a),
  ...createSharesSlice(...a),
  ...createSystemSlice(...a),
  ...createSessionSlice(...a),
  ...createHubSlice(...a),
  ...createInventorySlice(...a),
}));

/** The state one device's views hold; cleared when the dashboard switches devices. */
export function resetDeviceState(): void {
  useLattice.setState({ ...workloadsInitial, ...pullsInitial, ...sharesInitial, ...systemInitial });
}

/** Back to a fresh start (tests, logout). */
export function resetStores(): void {
  useLattice.setState({
    ...workloadsInitial,
    ...pullsInitial,
    ...sharesInitial,
    ...systemInitial,
    ...sessionInitial,
    ...hubInitial,
    ...inventoryInitial,
  });
}
