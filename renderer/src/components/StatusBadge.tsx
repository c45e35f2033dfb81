import type { WorkloadStatus } from '../../../shared';

// `elsewhere`: on another Docker engine than the one in use — not broken, just not reachable from here.
const TONE: Record<WorkloadStatus, 'running' | 'stopped' | 'failed' | 'pending' | 'elsewhere'> = {
  running: 'running',
  stopped: 'stopped',
  exited: 'stopped',
  failed: 'failed',
  missing: 'failed',
  pending_approval: 'pending',
  creating: 'pending',
  pulling: 'pending',
  starting: 'pending',
  restarting: 'pending',
  removing: 'pending',
  elsewhere: 'elsewhere',
};

export const statusTone = (s: WorkloadStatus) => TONE[s];
export const statusLabel = (s: WorkloadStatus) =>
  s === 'elsewhere' ? 'on another engine' : s.replace('_', ' ');

export function StatusBadge({ status }: { status: WorkloadStatus }) {
  return (
    <span className={`badge badge-${TONE[status]}`} data-testid="workload-status" data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {statusLabel(status)}
    </span>
  );
}
