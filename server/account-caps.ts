// Per-account caps of one hub, so a single account cannot take what every account shares: the relay's
// port range (counted by the relay, hub-relay.ts) and the hub's device slots (counted at pairing).
import { LatticeError } from '../shared';
import type { HubStore } from './store/hub-store';

export interface AccountCaps {
  /** Paired devices (`lattice hub --max-devices-per-account`). */
  devices: number;
  /** Relay shares, open or reserved while their device is away (`--max-shares-per-account`). */
  relayShares: number;
}

export const DEFAULT_ACCOUNT_CAPS: AccountCaps = { devices: 10, relayShares: 20 };

/** Throws `quota_exceeded` when the account already has `limit` devices (revoked ones do not count). */
export async function assertRoomForDevice(
  store: Pick<HubStore, 'devicesOfUser'>,
  userId: string,
  limit: number,
): Promise<void> {
  const devices = (await store.devicesOfUser(userId)).length;
  if (devices >= limit) {
    throw new LatticeError(
      'quota_exceeded',
      `This account already has ${limit} devices paired with this hub (the hub's --max-devices-per-account); remove one first`,
    );
  }
}
