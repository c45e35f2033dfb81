import type { WorkloadStatus } from '../../../shared';

const TONE: Record<WorkloadStatus, 'running' | 'stopped' | 'failed' | 'pending'> = {
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
};

export const statusTone = (s: WorkloadStatus) => TONE[s];
export const statusLabel = (s: WorkloadStatus) => s.replace('_', ' ');

export function StatusBadge({ status }: { status: WorkloadStatus }) {
  return (
    <span className={`badge badge-${TONE[status]}`} data-testid="workload-status" data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {statusLabel(status)}
    </span>
  );
}
