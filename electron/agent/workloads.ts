// The workloads service: deploy (plan, intent row, then the pipeline), lifecycle, logs, stats, and
// keeping rows in line with their containers. Every Docker object it touches carries our labels and
// is checked for them before any action. Views are in workload-view.ts, the deploy steps in
// deploy-plan.ts (before the row) and deploy-pipeline.ts (after it).
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import {
  LatticeError,
  TEMPLATES,
  type CommandContext,
  type DeploySpec,
  type LogLine,
  type Workload,
  type WorkloadStats,
  type WorkloadStatus,
} from '../../shared';
import type { Engine } from './docker/engine';
import { followContainerLogs, readLogs, readStats } from './docker/container-observe';
import type { LabelContext } from './docker/container-spec';
import { containerActionError, dockerStatusCode } from './docker/docker-errors';
import {
  findOwnedContainer,
  listOwnedContainers,
  type ContainerState,
  type OwnedContainerSummary,
} from './docker/owned-containers';
import { planDeploy } from './deploy-plan';
import { runDeployPipeline, type WorkloadTlsHooks } from './deploy-pipeline';
import { waitHealthy, workloadHealthTarget } from './health';
import type { EventBus } from './event-bus';
import type { SecretBox } from './secrets';
import type { Store, WorkloadRow } from './store';
import { generateCredentials } from './credentials';
import type { DeployDecision } from './policy';
import {
  elsewhereMessage,
  hostPortsOf,
  isElsewhere,
  openWorkloadSecrets,
  sealWorkloadSecrets,
  workloadView,
  type ResolvedWorkload,
} from './workload-view';

export interface WorkloadsDeps {
  store: Store;
  box: SecretBox;
  engine: Engine;
  bus: EventBus;
  logger: Logger;
  env: Record<string, string | undefined>;
  labels: LabelContext;
  lanAccess: () => boolean;
  healthTimeoutMs?: number;
  /** A Postgres workload's TLS certificate in before each start, and TLS on after (tls/database-tls.ts). */
  databaseTls?: WorkloadTlsHooks;
}

const IN_PROGRESS: WorkloadStatus[] = ['creating', 'pulling', 'starting'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WorkloadService {
  private readonly store: Store;
  private readonly box: SecretBox;
  private readonly engine: Engine;
  private readonly bus: EventBus;
  private readonly logger: Logger;
  private readonly env: Record<string, string | undefined>;
  private readonly labels: LabelContext;
  private readonly lanAccess: () => boolean;
  private readonly healthTimeoutMs: number;
  private readonly databaseTls: WorkloadTlsHooks | undefined;
  /** Workloads with an operation in flight; the reconciler leaves them alone. */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Host ports promised to deploys that have not written their row yet. */
  private readonly pendingPorts = new Set<number>();
  private readonly abort = new AbortController();
  /** Rows last announced as `elsewhere`, so a switch of engines announces each row that changes side once. */
  private readonly shownElsewhere = new Set<string>();

  constructor(deps: WorkloadsDeps) {
    this.store = deps.store;
    this.box = deps.box;
    this.engine = deps.engine;
    this.bus = deps.bus;
    this.logger = deps.logger;
    this.env = deps.env;
    this.labels = deps.labels;
    this.lanAccess = deps.lanAccess;
    this.healthTimeoutMs = deps.healthTimeoutMs ?? 60_000;
    this.databaseTls = deps.databaseTls;
  }

  // ---- views -------------------------------------------------------------------------------

  private view(row: WorkloadRow): Workload {
    return workloadView(row, openWorkloadSecrets(this.box, row).credentials, this.engine.identity);
  }

  /** True when the row belongs to another Docker engine than the one in use (see workload-view.ts). */
  isElsewhere(row: WorkloadRow): boolean {
    return isElsewhere(row, this.engine.identity);
  }

  /**
   * Refuses any Docker action on a workload of another engine, naming it: its container is not here,
   * and one made here under its name would be a second, empty copy.
   */
  private requireHere(row: WorkloadRow, action: string): void {
    if (this.isElsewhere(row)) {
      throw new LatticeError(
        'conflict',
        `Cannot ${action} ${row.name}: ${elsewhereMessage(row, this.engine.identity)}`,
      );
    }
  }

  /** The engine in use, for a row about to be deployed on it. */
  private engineColumns(): Pick<WorkloadRow, 'engineId' | 'engineLabel'> {
    const here = this.engine.identity;
    return { engineId: here?.id ?? null, engineLabel: here?.label ?? null };
  }

  private rowOf(ref: string): WorkloadRow {
    const row = this.store.workloads.byRef(ref);
    if (!row) throw new LatticeError('not_found', `No workload named or with id "${ref}"`, 'ref');
    return row;
  }

  /** A workload by id or name, with its decrypted credentials and host ports (for sharing). */
  resolve(ref: string): ResolvedWorkload {
    const row = this.rowOf(ref);
    const { credentials } = openWorkloadSecrets(this.box, row);
    return {
      row,
      workload: workloadView(row, credentials, this.engine.identity),
      credentials,
      hostPorts: hostPortsOf(row),
    };
  }

  private setStatus(
    id: string,
    status: WorkloadStatus,
    message: string | null = null,
  ): WorkloadRow | undefined {
    const before = this.store.workloads.byId(id);
    if (!before) return undefined;
    if (before.status === status && (before.message ?? null) === message) return before;
    const row = this.store.workloads.update(id, { status, message });
    if (row) this.bus.emit({ type: 'workload.changed', workload: this.view(row) });
    return row;
  }

  isBusy(id: string): boolean {
    return this.busy.has(id);
  }

  private async exclusive<T>(row: WorkloadRow, what: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(row.id)) {
      throw new LatticeError(
        'conflict',
        `Workload ${row.name} is busy with another operation; try again when it is done`,
      );
    }
    const p = fn();
    this.busy.set(row.id, p);
    try {
      return await p;
    } finally {
      this.busy.delete(row.id);
      this.logger.debug({ workload: row.name, what }, 'operation done');
    }
  }

  // ---- listing and reconciling with Docker ----------------------------------------------------

  /** One Docker call for all of our containers, keyed by workload id. */
  ownedContainers(): Promise<Map<string, OwnedContainerSummary>> {
    return listOwnedContainers(this.engine.require(), this.labels.ownerId);
  }

  /** Brings a settled row in line with its container (or its absence). In-flight operations are skipped. */
  syncRow(row: WorkloadRow, container: ContainerState | undefined): void {
    if (this.busy.has(row.id)) return;
    // Another engine's workload is left as it was last seen there; only the console hears it changed side.
    const elsewhere = this.isElsewhere(row);
    if (elsewhere !== this.shownElsewhere.has(row.id)) {
      if (elsewhere) this.shownElsewhere.add(row.id);
      else this.shownElsewhere.delete(row.id);
      this.bus.emit({ type: 'workload.changed', workload: this.view(row) });
    }
    if (elsewhere) return;
    const here = this.engine.identity;
    if (
      container &&
      here &&
      (row.engineId === null || (row.engineId === here.id && row.engineLabel !== here.label))
    ) {
      // A row from before engines were recorded belongs to the engine its container is found on; the
      // label follows the context and host its own engine is reached through now.
      this.store.workloads.update(row.id, { engineId: here.id, engineLabel: here.label });
    }
    if (row.status === 'pending_approval' || IN_PROGRESS.includes(row.status)) return;
    if (!container) {
      // A failed deploy may never have made its container; a missing one is already reported.
      if (row.status === 'missing' || row.status === 'failed') return;
      this.setStatus(
        row.id,
        'missing',
        'The container was removed outside Lattice; delete the workload or deploy it again',
      );
      return;
    }
    if (row.containerId !== container.id) this.store.workloads.update(row.id, { containerId: container.id });
    switch (container.state) {
      case 'running':
      case 'paused':
        // A failed health check keeps its message while the container lingers for inspection.
        if (row.status !== 'failed') this.setStatus(row.id, 'running');
        return;
      case 'restarting':
        this.setStatus(row.id, 'restarting', 'The container keeps restarting; see its logs');
        return;
      case 'removing':
        this.setStatus(row.id, 'removing');
        return;
      default:
        // created / exited / dead: a stop through Lattice stays "stopped"; anything else is "exited".
        if (row.status === 'stopped' || row.status === 'failed') return;
        this.setStatus(
          row.id,
          'exited',
          container.exitCode !== undefined
            ? `The container exited with code ${container.exitCode}`
            : 'The container is not running',
        );
    }
  }

  async list(): Promise<Workload[]> {
    if (this.engine.available) {
      try {
        const containers = await this.ownedContainers();
        for (const row of this.store.workloads.all()) this.syncRow(row, containers.get(row.id));
      } catch (err) {
        // The stored view is still worth showing when Docker hiccups.
        this.engine.noteFailure(err);
        this.logger.warn({ err: (err as Error).message }, 'could not list containers');
      }
    }
    return this.store.workloads.all().map((r) => this.view(r));
  }

  async get(ref: string): Promise<Workload> {
    const row = this.rowOf(ref);
    if (this.engine.available && !this.busy.has(row.id)) {
      try {
        this.syncRow(row, await this.inspectState(row));
      } catch (err) {
        this.engine.noteFailure(err);
      }
    }
    return this.view(this.rowOf(row.id));
  }

  /** Re-reads one workload's container after a Docker event. */
  async refresh(workloadId: string): Promise<void> {
    const row = this.store.workloads.byId(workloadId);
    if (!row || this.busy.has(row.id)) return;
    this.syncRow(row, await this.inspectState(row));
  }

  private ownedContainer(row: WorkloadRow) {
    return findOwnedContainer(this.engine.require(), row, this.labels.ownerId);
  }

  private async inspectState(row: WorkloadRow): Promise<ContainerState | undefined> {
    const found = await this.ownedContainer(row);
    if (!found) return undefined;
    return { id: found.info.Id, state: found.info.State.Status, exitCode: found.info.State.ExitCode };
  }

  // ---- deploy -------------------------------------------------------------------------------

  /**
   * Validates everything that can be checked before the row is written (deploy-plan.ts), so bad
   * input changes nothing; then writes the intent row and deploys.
   */
  async deploy(spec: DeploySpec, ctx: CommandContext, decision: DeployDecision): Promise<Workload> {
    if (decision.action === 'deploy') this.engine.require();
    const template = TEMPLATES[spec.template];
    const plan = await planDeploy(spec, {
      store: this.store,
      docker: this.engine.available ? this.engine.docker : undefined,
      env: this.env,
      hostIp: this.lanAccess() ? '0.0.0.0' : '127.0.0.1',
      pendingPorts: this.pendingPorts,
    });
    const { name, image, ports, volumes } = plan;
    try {
      const id = randomUUID();
      const credentials = generateCredentials(template);
      const env = { ...template.env(credentials), ...(spec.template === 'custom' ? spec.env : {}) };
      const now = new Date().toISOString();
      const row: WorkloadRow = {
        id,
        name,
        template: spec.template,
        image,
        status: decision.action === 'approve' ? 'pending_approval' : 'creating',
        message: decision.action === 'approve' ? decision.reason : null,
        origin: ctx.door,
        opId: randomUUID(),
        spec: {
          cpus: spec.template === 'custom' ? spec.cpus : undefined,
          memory: spec.template === 'custom' ? spec.memory : undefined,
          command: spec.template === 'custom' ? spec.command : template.command,
        },
        ports,
        volumes,
        restart: spec.template === 'custom' ? spec.restart : template.restart,
        sealed: sealWorkloadSecrets(this.box, id, { credentials, env }),
        containerId: null,
        // The engine it is deployed on; a deploy waiting for approval gets the one in use at approval.
        ...(decision.action === 'approve' ? { engineId: null, engineLabel: null } : this.engineColumns()),
        createdAt: now,
        updatedAt: now,
      };
      try {
        this.store.workloads.insert(row);
      } catch (err) {
        if (/UNIQUE/.test((err as Error).message)) {
          throw new LatticeError('conflict', `A workload named "${name}" already exists`, 'name');
        }
        throw err;
      }
      this.logger.info(
        { workload: name, id, template: spec.template, image, origin: ctx.door, user: ctx.user?.email },
        decision.action === 'approve' ? 'deploy waits for approval' : 'deploy requested',
      );
      this.bus.emit({ type: 'workload.changed', workload: this.view(row) });
      if (decision.action === 'approve') return this.view(row);
      return await this.runDeploy(row);
    } finally {
      for (const p of plan.claimed) this.pendingPorts.delete(p);
    }
  }

  /** Owner's approval of a remote deploy that waited: now pull and start it. */
  async approve(ref: string): Promise<Workload> {
    const row = this.rowOf(ref);
    if (row.status !== 'pending_approval') {
      throw new LatticeError(
        'conflict',
        `Workload ${row.name} is not waiting for approval (it is ${row.status})`,
      );
    }
    this.engine.require();
    const next = this.store.workloads.update(row.id, {
      status: 'creating',
      message: null,
      opId: randomUUID(),
      ...this.engineColumns(),
    })!;
    this.logger.info({ workload: row.name, image: row.image }, 'remote deploy approved');
    return this.runDeploy(next);
  }

  /** Runs (or joins) the deploy pipeline of a row; safe to call again after a crash at any step. */
  runDeploy(row: WorkloadRow): Promise<Workload> {
    const running = this.busy.get(row.id);
    if (running) return running as Promise<Workload>;
    const p = runDeployPipeline(row, {
      store: this.store,
      box: this.box,
      engine: this.engine,
      bus: this.bus,
      logger: this.logger,
      labels: this.labels,
      healthTimeoutMs: this.healthTimeoutMs,
      databaseTls: this.databaseTls,
      signal: this.abort.signal,
      setStatus: (id, status, message) => this.setStatus(id, status, message),
    }).finally(() => this.busy.delete(row.id));
    this.busy.set(row.id, p);
    return p;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  private async requireContainer(row: WorkloadRow) {
    const found = await this.ownedContainer(row);
    if (!found) {
      this.syncRow(row, undefined);
      throw new LatticeError(
        'not_found',
        `The container of ${row.name} does not exist (status ${row.status}); delete the workload or deploy it again`,
      );
    }
    return found;
  }

  private requireSettled(row: WorkloadRow): void {
    if (row.status === 'pending_approval') {
      throw new LatticeError('pending_approval', `Workload ${row.name} is waiting for the owner's approval`);
    }
  }

  /** Notes the failure with the engine (a lost daemon is re-probed) and maps it to the action's code. */
  private actionFailed(err: unknown, action: Parameters<typeof containerActionError>[1], what?: string) {
    this.engine.noteFailure(err);
    return containerActionError(err, action, what);
  }

  /**
   * The row a Docker action on its container may go ahead on: settled, with an engine, and that engine
   * its own (checked before anything else: a workload of another engine is never recreated here).
   */
  private actionableRow(ref: string, action: string): WorkloadRow {
    const row = this.rowOf(ref);
    this.requireSettled(row);
    this.engine.require();
    this.requireHere(row, action);
    return row;
  }

  async start(ref: string): Promise<Workload> {
    const row = this.actionableRow(ref, 'start');
    if ((row.status === 'missing' || row.status === 'failed') && !this.busy.has(row.id)) {
      if (!(await this.ownedContainer(row))) {
        // The container was removed behind our back (or never made it): recreate it from the stored
        // spec, with the same credentials, ports and volume, so the data in the volume comes back.
        this.logger.info({ workload: row.name }, 'recreating the missing container');
        const next = this.store.workloads.update(row.id, {
          status: 'creating',
          message: null,
          opId: randomUUID(),
          ...this.engineColumns(),
        })!;
        return this.runDeploy(next);
      }
    }
    return this.exclusive(row, 'start', async () => {
      const { container, info } = await this.requireContainer(row);
      if (!info.State.Running) {
        this.setStatus(row.id, 'starting');
        await this.databaseTls?.beforeStart(row, container);
        try {
          await container.start();
        } catch (err) {
          if (dockerStatusCode(err) !== 304) throw this.actionFailed(err, 'start');
        }
        await this.waitReady(row, container, 'start');
      }
      this.databaseTls?.ensureSoon(row.id);
      return this.view(this.setStatus(row.id, 'running')!);
    });
  }

  /**
   * After a start or restart, "running" means what it means after a deploy: the template's readiness
   * check passes (a Postgres accepts a login), so whoever asked — the CLI, a relayed dashboard
   * command — can use it at once. A container that does not get ready is marked failed, saying why.
   */
  private async waitReady(row: WorkloadRow, container: Docker.Container, action: 'start' | 'restart') {
    try {
      await waitHealthy(
        workloadHealthTarget(row, this.box, container),
        this.healthTimeoutMs,
        this.abort.signal,
      );
    } catch (err) {
      const message = `Started, but not ready: ${(err as Error).message}`;
      this.setStatus(row.id, 'failed', message);
      throw new LatticeError(
        action === 'start' ? 'start_failed' : 'restart_failed',
        `${row.name}: ${message}`,
      );
    }
  }

  async stop(ref: string): Promise<Workload> {
    const row = this.actionableRow(ref, 'stop');
    return this.exclusive(row, 'stop', async () => {
      const { container, info } = await this.requireContainer(row);
      if (info.State.Running || info.State.Restarting) {
        try {
          await container.stop({ t: 10 });
        } catch (err) {
          if (dockerStatusCode(err) !== 304) throw this.actionFailed(err, 'stop');
        }
      }
      return this.view(this.setStatus(row.id, 'stopped')!);
    });
  }

  async restart(ref: string): Promise<Workload> {
    const row = this.actionableRow(ref, 'restart');
    return this.exclusive(row, 'restart', async () => {
      const { container } = await this.requireContainer(row);
      this.setStatus(row.id, 'restarting');
      try {
        await container.restart({ t: 10 });
      } catch (err) {
        throw this.actionFailed(err, 'restart');
      }
      await this.waitReady(row, container, 'restart');
      this.databaseTls?.ensureSoon(row.id);
      return this.view(this.setStatus(row.id, 'running')!);
    });
  }

  /**
   * Removes the container (and with `removeVolumes` the volumes), then the row. A workload of another
   * engine can only be forgotten: its row goes, its container and volume stay untouched on that engine
   * (reported there as an orphan, never deleted); deleting its data from here is refused.
   */
  async delete(ref: string, removeVolumes: boolean): Promise<{ id: string; volumesRemoved: boolean }> {
    const row = this.rowOf(ref);
    if (removeVolumes) this.requireHere(row, 'delete the data of');
    const forget = this.isElsewhere(row);
    const needsDocker = row.status !== 'pending_approval' && !forget;
    if (needsDocker) this.engine.require();
    return this.exclusive(row, 'delete', async () => {
      let volumesRemoved = false;
      if (needsDocker) {
        this.setStatus(row.id, 'removing');
        const found = await this.ownedContainer(row);
        if (found) {
          try {
            await found.container.remove({ force: true });
          } catch (err) {
            if (dockerStatusCode(err) !== 404) throw this.actionFailed(err, 'remove');
          }
        }
        if (removeVolumes) {
          const docker = this.engine.docker;
          for (const v of row.volumes) {
            if (v.kind !== 'volume') continue;
            try {
              const info = await docker.getVolume(v.source).inspect();
              // Only volumes we labelled for this very workload; a volume of the same name we did not create stays.
              if (
                info.Labels?.['lattice.owner'] !== this.labels.ownerId ||
                info.Labels?.['lattice.workload'] !== row.id
              )
                continue;
              await this.removeVolume(docker, v.source);
              volumesRemoved = true;
            } catch (err) {
              if (dockerStatusCode(err) !== 404) {
                throw this.actionFailed(err, 'remove', `the volume ${v.source} of ${row.name}`);
              }
            }
          }
        }
      }
      this.store.workloads.delete(row.id);
      this.shownElsewhere.delete(row.id);
      if (forget) {
        this.logger.info(
          { workload: row.name, engine: row.engineLabel },
          'workload of another Docker engine forgotten; its container and data stay on that engine',
        );
      } else this.logger.info({ workload: row.name, volumes: removeVolumes }, 'workload deleted');
      this.bus.emit({ type: 'workload.removed', id: row.id, name: row.name });
      return { id: row.id, volumesRemoved };
    });
  }

  /** A just-removed container can hold its volume for a moment ("volume is in use"). */
  private async removeVolume(docker: Docker, name: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await docker.getVolume(name).remove();
        return;
      } catch (err) {
        if (dockerStatusCode(err) !== 409 || attempt >= 20) throw err;
        await sleep(100);
      }
    }
  }

  // ---- logs and stats -----------------------------------------------------------------------

  private async observed(ref: string, action: string) {
    const row = this.actionableRow(ref, action);
    return { row, ...(await this.requireContainer(row)) };
  }

  async logs(ref: string, tail: number): Promise<LogLine[]> {
    return readLogs((await this.observed(ref, 'read the logs of')).container, tail);
  }

  async followLogs(
    ref: string,
    tail: number,
    onLine: (l: LogLine) => void,
    onEnd?: () => void,
  ): Promise<() => void> {
    return followContainerLogs((await this.observed(ref, 'read the logs of')).container, tail, onLine, onEnd);
  }

  async stats(ref: string): Promise<WorkloadStats> {
    const { row, container } = await this.observed(ref, 'read the stats of');
    return readStats(container, row.id);
  }

  /** Stops health waits so close() is quick; in-flight deploys resume at the next start. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.busy.values()]);
  }
}
