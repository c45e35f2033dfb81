import type { StateCreator } from 'zustand';
import type { AgentEvent } from '../../../shared';
import type { LatticeState } from './store';

export type PullProgress = Extract<AgentEvent, { type: 'pull.progress' }>;

export interface PullsSlice {
  /** The latest pull progress per workload id, while it is being created. */
  pulls: Record<string, PullProgress>;
  setPull(p: PullProgress): void;
}

export const pullsInitial = { pulls: {} };

export const createPullsSlice: StateCreator<LatticeState, [], [], PullsSlice> = (set) => ({
  ...pullsInitial,
  setPull: (p) => set((s) => ({ pulls: { ...s.pulls, [p.workloadId]: p } })),
});
