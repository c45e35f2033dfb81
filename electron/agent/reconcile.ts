// Keeps the rows and Docker in agreement: at start (and whenever Docker comes back) a full pass,
// then Docker's event stream, filtered to our owner label, for changes made outside Lattice.
import type { Logger } from 'pino';
import type { Engine, DockerEventMessage } from './docker/engine';
import type { Store } from './store';
import type { WorkloadService } from './workloads';

const IN_PROGRESS = new Set(['creating', 'pulling', 'starting']);

export class Reconciler {
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly workloads: WorkloadService,
    private readonly engine: Engine,
    private readonly ownerId: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to Docker events for our containers. */
  watch(): void {
    this.engine.watchEvents({ type: ['container'], label: [`lattice.owner=${this.ownerId}`] }, (event) =>
      this.onEvent(event),
    );
  }

  private onEvent(event: DockerEventMessage): void {
    const action = event.Action ?? event.status ?? '';
    if (action.startsWith('exec_') || action.startsWith('health_status')) return;
    const workloadId = event.Actor?.Attributes?.['lattice.workload'];
    if (!workloadId || this.closed) return;
    // Coalesce bursts (kill → die → stop → destroy) into one re-read.
    clearTimeout(this.pending.get(workloadId));
    this.pending.set(
      workloadId,
      setTimeout(() => {
        this.pending.delete(workloadId);
        this.workloads.refresh(workloadId).catch((err) => {
          this.engine.noteFailure(err);
          this.logger.warn(
            { err: (err as Error).message },
            'could not refresh a workload after a Docker event',
          );
        });
      }, 150),
    );
  }

  /** One full pass; concurrent callers share it. */
  reconcile(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    if (!this.engine.available || this.closed) return;
    const containers = await this.workloads.ownedContainers();
    const rows = this.store.workloads.all();
    const known = new Set(rows.map((r) => r.id));
    for (const row of rows) {
      if (this.workloads.isBusy(row.id)) continue;
      if (this.workloads.isElsewhere(row)) {
        // Another engine's workload: never resumed, adopted or recreated here (syncRow only shows it).
        this.workloads.syncRow(row, undefined);
        continue;
      }
      if (IN_PROGRESS.has(row.status)) {
        // Left mid-deploy by a crash: the pipeline adopts the container if it exists (same
        // deterministic name and labels), otherwise it pulls/creates; it never makes a second one.
        const c = containers.get(row.id);
        this.logger.info(
          { workload: row.name, status: row.status, container: c?.id.slice(0, 12) ?? null },
          c ? 'resuming an interrupted deploy: adopting its container' : 'resuming an interrupted deploy',
        );
        this.workloads.runDeploy(row).catch(() => {
          // The pipeline marks the row failed with the reason; nothing else to do here.
        });
        continue;
      }
      this.workloads.syncRow(row, containers.get(row.id));
    }
    const orphans = [...containers.entries()]
      .filter(([workloadId]) => !known.has(workloadId))
      .map(([, c]) => ({
        containerId: c.id,
        name: c.name,
        workload: c.labels['lattice.workload'] ?? null,
        image: c.image,
      }));
    for (const o of this.store.orphans.replaceAll(orphans)) {
      this.logger.warn(
        { container: o.name, id: o.containerId.slice(0, 12) },
        'found a Lattice container with no workload record; it is kept, remove it with `docker rm` if unwanted',
      );
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
