import { useState } from 'react';
import type { ErrorBody, Workload } from '../../../shared';
import { useApi } from '../api/api-context';
import { navigate } from '../api/hash-route';
import { Dialog } from './Dialog';
import { ErrorNote } from './ErrorNote';

type Action = 'start' | 'stop' | 'restart' | 'approve';

export function WorkloadActions({ workload, afterDelete }: { workload: Workload; afterDelete?: string }) {
  const { api, remote } = useApi();
  const [busy, setBusy] = useState<Action | 'delete' | null>(null);
  const [error, setError] = useState<ErrorBody | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleteVolumes, setDeleteVolumes] = useState(false);
  const ref = workload.name;
  const running = workload.status === 'running' || workload.status === 'restarting';
  const stopped = ['stopped', 'exited', 'failed'].includes(workload.status);
  // On another Docker engine: nothing can be done to it from here but forgetting its row.
  const elsewhere = workload.status === 'elsewhere';
  const hasVolumes = workload.volumes.some((v) => v.kind === 'volume');

  const run = async (action: Action) => {
    setBusy(action);
    setError(null);
    const res = await api.invoke(`workload.${action}`, { ref });
    setBusy(null);
    if (!res.ok) setError(res.error);
  };

  const remove = async () => {
    setBusy('delete');
    setError(null);
    const res = await api.invoke('workload.delete', { ref, volumes: deleteVolumes });
    setBusy(null);
    setConfirming(false);
    if (!res.ok) setError(res.error);
    else if (afterDelete !== undefined) navigate(afterDelete);
  };

  return (
    <div className="actions">
      <div className="row">
        {workload.status === 'pending_approval' && !remote && (
          <button
            type="button"
            className="btn btn-small btn-primary"
            disabled={!!busy}
            onClick={() => void run('approve')}
            aria-label={`Approve ${workload.name}`}
          >
            Approve
          </button>
        )}
        {elsewhere && (
          <>
            <button
              type="button"
              className="btn btn-small"
              disabled
              title={workload.message}
              aria-label={`Start ${workload.name}`}
              data-testid="action-start"
            >
              Start
            </button>
            <button
              type="button"
              className="btn btn-small"
              disabled
              title={workload.message}
              aria-label={`Restart ${workload.name}`}
              data-testid="action-restart"
            >
              Restart
            </button>
          </>
        )}
        {stopped && (
          <button
            type="button"
            className="btn btn-small"
            disabled={!!busy}
            onClick={() => void run('start')}
            aria-label={`Start ${workload.name}`}
            data-testid="action-start"
          >
            {busy === 'start' ? 'Starting…' : 'Start'}
          </button>
        )}
        {running && (
          <button
            type="button"
            className="btn btn-small"
            disabled={!!busy}
            onClick={() => void run('stop')}
            aria-label={`Stop ${workload.name}`}
            data-testid="action-stop"
          >
            {busy === 'stop' ? 'Stopping…' : 'Stop'}
          </button>
        )}
        {(running || stopped) && (
          <button
            type="button"
            className="btn btn-small"
            disabled={!!busy}
            onClick={() => void run('restart')}
            aria-label={`Restart ${workload.name}`}
            data-testid="action-restart"
          >
            {busy === 'restart' ? 'Restarting…' : 'Restart'}
          </button>
        )}
        <button
          type="button"
          className="btn btn-small btn-danger"
          disabled={!!busy}
          onClick={() => setConfirming(true)}
          aria-label={`Delete ${workload.name}`}
          data-testid="action-delete"
        >
          {elsewhere ? 'Forget' : 'Delete'}
        </button>
      </div>
      {elsewhere && (
        <p className="small muted" data-testid="actions-elsewhere">
          Start, stop, restart and sharing work on that engine only. Forget takes it off this list and leaves
          its container and data untouched there.
        </p>
      )}
      <ErrorNote error={error} testId="action-error" />
      {confirming && (
        <Dialog
          title={elsewhere ? `Forget ${workload.name}?` : `Delete ${workload.name}?`}
          onClose={() => setConfirming(false)}
          testId="delete-dialog"
        >
          {elsewhere ? (
            <p>
              Lattice stops listing it. Its container and data stay untouched on its Docker engine; back on
              that engine they show as a container without a workload, to remove with <code>docker rm</code>{' '}
              if unwanted.
            </p>
          ) : (
            <p>
              The container is removed.{' '}
              {deleteVolumes
                ? 'Its data is deleted too and cannot be recovered.'
                : 'Its data is kept in its volume; a new deploy with the same name finds it again.'}
            </p>
          )}
          {hasVolumes && !elsewhere && (
            <label className="check">
              <input
                type="checkbox"
                checked={deleteVolumes}
                onChange={(e) => setDeleteVolumes(e.target.checked)}
                data-testid="delete-volumes"
              />
              also delete its volume (data)
            </label>
          )}
          <div className="row row-end">
            <button type="button" className="btn" onClick={() => setConfirming(false)} autoFocus>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-danger"
              disabled={busy === 'delete'}
              onClick={() => void remove()}
              data-testid="confirm-delete"
            >
              {busy === 'delete'
                ? 'Deleting…'
                : elsewhere
                  ? 'Forget'
                  : deleteVolumes
                    ? 'Delete with data'
                    : 'Delete, keep data'}
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
