import type { Workload } from '../../../shared';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';
import { DeployProgress } from './DeployProgress';
import { EmptyState } from './EmptyState';
import { ErrorNote } from './ErrorNote';
import { StatsCharts } from './StatsCharts';
import { StatusBadge, statusTone } from './StatusBadge';
import { WorkloadActions } from './WorkloadActions';
import { useStatsPolling, useVisible } from './use-stats-polling';

function WorkloadCard({ workload }: { workload: Workload }) {
  const { base } = useApi();
  const [ref, visible] = useVisible<HTMLElement>();
  const samples = useLattice((s) => s.stats[workload.id]);
  const running = workload.status === 'running';
  useStatsPolling(workload.name, running && visible);
  const pending = statusTone(workload.status) === 'pending' && workload.status !== 'pending_approval';
  return (
    <article
      ref={ref}
      className={`card workload-card tone-${statusTone(workload.status)}`}
      data-testid={`workload-${workload.name}`}
      data-status={workload.status}
    >
      <header className="row row-between">
        <h3 className="card-title">
          <a href={`#${base}/workloads/${encodeURIComponent(workload.name)}`} data-testid="workload-link">
            {workload.name}
          </a>
        </h3>
        <StatusBadge status={workload.status} />
      </header>
      <p className="muted small mono">{workload.image}</p>
      {workload.ports.length > 0 && (
        <p className="ports small" aria-label="Published ports">
          {workload.ports.map((p) => (
            <span key={`${p.container}/${p.protocol}`} className="port mono">
              {p.hostIp}:{p.host} → {p.container}/{p.protocol}
            </span>
          ))}
        </p>
      )}
      {workload.message && <p className="small note-inline">{workload.message}</p>}
      {pending && <DeployProgress workload={workload} />}
      {running && <StatsCharts samples={samples} />}
      <WorkloadActions workload={workload} />
    </article>
  );
}

export function WorkloadList() {
  const { base } = useApi();
  const workloads = useLattice((s) => s.workloads);
  const loaded = useLattice((s) => s.workloadsLoaded);
  const error = useLattice((s) => s.workloadsError);
  const list = Object.values(workloads).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return (
    <section aria-labelledby="workloads-title" data-testid="workload-list">
      <h2 id="workloads-title" className="section-title">
        Workloads
      </h2>
      {!loaded && <p className="muted">Loading…</p>}
      <ErrorNote error={error} testId="workloads-error" />
      {loaded && !error && list.length === 0 && (
        <EmptyState title="Nothing is running here yet" testId="workloads-empty">
          <p className="muted">Deploy a database in one click — credentials are generated for you.</p>
          <a className="btn btn-primary" href={`#${base}/deploy/postgres`}>
            Deploy PostgreSQL
          </a>
        </EmptyState>
      )}
      <div className="workload-grid">
        {list.map((w) => (
          <WorkloadCard key={w.id} workload={w} />
        ))}
      </div>
    </section>
  );
}
