import { TEMPLATES } from '../../../shared';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';
import { ConnectionDetails } from './ConnectionDetails';
import { DeployProgress } from './DeployProgress';
import { EmptyState } from './EmptyState';
import { LogsView } from './LogsView';
import { SharePanel } from './SharePanel';
import { StatsCharts } from './StatsCharts';
import { StatusBadge, statusTone } from './StatusBadge';
import { WorkloadActions } from './WorkloadActions';
import { useStatsPolling } from './use-stats-polling';

export function WorkloadPage({ workloadRef }: { workloadRef: string }) {
  const { base } = useApi();
  const workload = useLattice((s) =>
    Object.values(s.workloads).find((w) => w.name === workloadRef || w.id === workloadRef),
  );
  const loaded = useLattice((s) => s.workloadsLoaded);
  const samples = useLattice((s) => (workload ? s.stats[workload.id] : undefined));
  useStatsPolling(workload?.name ?? workloadRef, workload?.status === 'running');

  if (!workload) {
    return loaded ? (
      <EmptyState title={`No workload named "${workloadRef}"`} testId="workload-missing">
        <a className="btn" href={`#${base}/`}>
          Back to the overview
        </a>
      </EmptyState>
    ) : (
      <p className="muted">Loading…</p>
    );
  }
  const pending = statusTone(workload.status) === 'pending' && workload.status !== 'pending_approval';
  return (
    <div className="workload-page" data-testid="workload-page" data-workload={workload.name}>
      <nav aria-label="Breadcrumb" className="small">
        <a href={`#${base}/`}>Overview</a> / <span>{workload.name}</span>
      </nav>
      <header className="page-header row row-between">
        <div>
          <h2 className="page-title">{workload.name}</h2>
          <p className="muted small">
            {TEMPLATES[workload.template].title} · <span className="mono">{workload.image}</span>
            {workload.origin === 'remote' && ' · deployed from the dashboard'}
          </p>
        </div>
        <StatusBadge status={workload.status} />
      </header>
      {workload.message && <p className="note note-warn">{workload.message}</p>}
      {pending && <DeployProgress workload={workload} />}
      <WorkloadActions workload={workload} afterDelete={`${base}/`} />
      <div className="page-grid">
        <section className="card" aria-labelledby="conn-title">
          <h3 id="conn-title" className="card-title">
            Connect
          </h3>
          <ConnectionDetails workload={workload} />
          {workload.ports.length > 0 && (
            <p className="small muted">
              Published on{' '}
              {workload.ports.map((p) => (
                <span key={p.container} className="port mono">
                  {p.hostIp}:{p.host}
                </span>
              ))}
            </p>
          )}
        </section>
        <section className="card" aria-labelledby="stats-title">
          <h3 id="stats-title" className="card-title">
            Resources
          </h3>
          {workload.status === 'running' ? (
            <StatsCharts samples={samples} large />
          ) : (
            <p className="muted">Not running.</p>
          )}
        </section>
      </div>
      <SharePanel workload={workload} />
      {workload.status === 'elsewhere' ? (
        <p className="muted" data-testid="logs-elsewhere">
          Logs are on that engine: {workload.message}
        </p>
      ) : (
        <LogsView workloadRef={workload.name} name={workload.name} status={workload.status} />
      )}
    </div>
  );
}
