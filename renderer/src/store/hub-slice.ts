import type { StateCreator } from 'zustand';
import type { Device, HubUser } from '../../../shared';
import { inventoryInitial } from './inventory-slice';
import type { LatticeState } from './store';

export interface HubSlice {
  hubUser: HubUser | null;
  /** `checking` while a stored session is being resumed. */
  hubAuth: 'checking' | 'signed-out' | 'signed-in';
  devices: Record<string, Device>;
  devicesLoaded: boolean;
  setHubUser(user: HubUser | null): void;
  setDevices(list: Device[]): void;
  setPresence(deviceId: string, online: boolean, lastSeenAt: string | null): void;
}

export const hubInitial = {
  hubUser: null,
  hubAuth: 'checking' as HubSlice['hubAuth'],
  devices: {},
  devicesLoaded: false,
};

export const createHubSlice: StateCreator<LatticeState, [], [], HubSlice> = (set) => ({
  ...hubInitial,
  setHubUser: (hubUser) =>
    set(
      hubUser
        ? { hubUser, hubAuth: 'signed-in' }
        : {
            hubUser: null,
            hubAuth: 'signed-out',
            devices: {},
            devicesLoaded: false,
            // The account's inventory goes with its session.
            ...inventoryInitial,
          },
    ),
  setDevices: (list) => set({ devices: Object.fromEntries(list.map((d) => [d.id, d])), devicesLoaded: true }),
  setPresence: (deviceId, online, lastSeenAt) =>
    set((s) => {
      const device = s.devices[deviceId];
      if (!device) return {};
      return { devices: { ...s.devices, [deviceId]: { ...device, online, lastSeenAt } } };
    }),
});
