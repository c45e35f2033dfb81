import type { StateCreator } from 'zustand';
import type { ErrorBody, Workload, WorkloadStats } from '../../../shared';
import type { LatticeState } from './store';

/** How many stats samples a sparkline keeps (about a minute at one sample every 2 s). */
export const STATS_SAMPLES = 30;

export interface WorkloadsSlice {
  workloads: Record<string, Workload>;
  workloadsLoaded: boolean;
  /** Why the list could not be read (Docker down, device offline); the last known list stays. */
  workloadsError: ErrorBody | null;
  /** Recent stats samples per workload id, oldest first. */
  stats: Record<string, WorkloadStats[]>;
  setWorkloads(list: Workload[]): void;
  setWorkloadsError(e: ErrorBody | null): void;
  upsertWorkload(w: Workload): void;
  removeWorkload(id: string): void;
  addStats(s: WorkloadStats): void;
}

export const workloadsInitial = { workloads: {}, workloadsLoaded: false, workloadsError: null, stats: {} };

export const createWorkloadsSlice: StateCreator<LatticeState, [], [], WorkloadsSlice> = (set) => ({
  ...workloadsInitial,
  setWorkloads: (list) =>
    set({
      workloads: Object.fromEntries(list.map((w) => [w.id, w])),
      workloadsLoaded: true,
      workloadsError: null,
    }),
  setWorkloadsError: (workloadsError) => set({ workloadsError, workloadsLoaded: true }),
  upsertWorkload: (w) => set((s) => ({ workloads: { ...s.workloads, [w.id]: w } })),
  removeWorkload: (id) =>
    set((s) => {
      const { [id]: _gone, ...workloads } = s.workloads;
      const { [id]: _stats, ...stats } = s.stats;
      const { [id]: _pull, ...pulls } = s.pulls;
      return { workloads, stats, pulls };
    }),
  addStats: (sample) =>
    set((s) => ({
      stats: { ...s.stats, [sample.id]: [...(s.stats[sample.id] ?? []), sample].slice(-STATS_SAMPLES) },
    })),
});
