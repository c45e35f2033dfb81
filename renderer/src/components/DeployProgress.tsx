import type { Workload } from '../../../shared';
import { useLattice } from '../store/store';
import { StatusBadge } from './StatusBadge';

const STEPS: Partial<Record<Workload['status'], string>> = {
  creating: 'Preparing',
  pulling: 'Pulling the image',
  starting: 'Starting and waiting until it is ready',
  restarting: 'Restarting',
};

/** Pull progress (layers) and the start phase of a workload being created. */
export function DeployProgress({ workload }: { workload: Pick<Workload, 'id' | 'name' | 'status'> }) {
  const pull = useLattice((s) => s.pulls[workload.id]);
  const pullDone = !pull || pull.phase === 'done' || pull.phase === 'cached';
  let fraction = 0.1;
  if (pull && pull.layersTotal > 0) fraction = 0.1 + 0.6 * (pull.layersDone / pull.layersTotal);
  if (pullDone && workload.status !== 'creating' && workload.status !== 'pulling') fraction = 0.85;
  if (workload.status === 'running') fraction = 1;
  const step = STEPS[workload.status] ?? '';
  return (
    <div className="progress-block" data-testid="deploy-progress" data-status={workload.status}>
      <div className="row row-between">
        <span>{step}</span>
        <StatusBadge status={workload.status} />
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label={`Deploying ${workload.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(fraction * 100)}
      >
        <div className="progress-bar" style={{ width: `${Math.round(fraction * 100)}%` }} />
      </div>
      {pull && (
        <p className="muted small" data-testid="pull-layers">
          {pull.phase === 'cached'
            ? `Image ${pull.image} is already here`
            : `${pull.image}: ${pull.layersDone} of ${pull.layersTotal} layers ${pull.phase === 'extracting' ? 'extracted' : 'downloaded'}`}
        </p>
      )}
    </div>
  );
}
