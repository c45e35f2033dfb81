import type { StateCreator } from 'zustand';
import type { LatticeState } from './store';

/** `needs-token`: the local API answered 401, the console shows only the token prompt. */
export type SessionStatus = 'checking' | 'ready' | 'needs-token';

export interface SessionSlice {
  session: SessionStatus;
  setSession(s: SessionStatus): void;
}

export const sessionInitial = { session: 'checking' as SessionStatus };

export const createSessionSlice: StateCreator<LatticeState, [], [], SessionSlice> = (set) => ({
  ...sessionInitial,
  setSession: (session) => set({ session }),
});
