import type { StateCreator } from 'zustand';
import type { ErrorBody, Share } from '../../../shared';
import type { LatticeState } from './store';

export interface SharesSlice {
  shares: Record<string, Share>;
  sharesLoaded: boolean;
  /** Why the share list could not be read (e.g. sharing not available on this agent). */
  sharesError: ErrorBody | null;
  setShares(list: Share[]): void;
  setSharesError(e: ErrorBody | null): void;
  upsertShare(s: Share): void;
  removeShare(id: string): void;
}

export const sharesInitial = { shares: {}, sharesLoaded: false, sharesError: null };

export const createSharesSlice: StateCreator<LatticeState, [], [], SharesSlice> = (set) => ({
  ...sharesInitial,
  setShares: (list) =>
    set({ shares: Object.fromEntries(list.map((s) => [s.id, s])), sharesLoaded: true, sharesError: null }),
  setSharesError: (sharesError) => set({ sharesError, sharesLoaded: true }),
  upsertShare: (share) => set((s) => ({ shares: { ...s.shares, [share.id]: share } })),
  removeShare: (id) =>
    set((s) => {
      const { [id]: _gone, ...shares } = s.shares;
      return { shares };
    }),
});
