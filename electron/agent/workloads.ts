// The workloads service: deploy (intent first, then Docker, then confirm), lifecycle, logs, stats.
// Every Docker object it touches carries our labels and is checked for them before any action.
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import {
  LatticeError,
  TEMPLATES,
  type CommandContext,
  type Credentials,
  type DeploySpec,
  type LogLine,
  type Workload,
  type WorkloadStats,
  type WorkloadStatus,
} from '../../shared';
import { dockerUnavailable, isDockerConnectionError, type Engine } from './docker/engine';
import { ensureImage, imagePresent } from './docker/pull';
import { followContainerLogs, readLogs, readStats, recentLogText } from './docker/container-observe';
import { planDeploy } from './deploy-plan';
import {
  buildContainerOptions,
  containerName,
  workloadLabels,
  type LabelContext,
} from './docker/container-spec';
import type { EventBus } from './event-bus';
import type { SecretBox } from './secrets';
import type { Store, WorkloadRow } from './store';
import { generateCredentials } from './credentials';
import { waitHealthy } from './health';
import type { DeployDecision } from './policy';

/** What is sealed per workload: generated credentials and the container's environment. */
export interface WorkloadSecrets {
  credentials: Credentials;
  env: Record<string, string>;
}

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
}

/** What the sharing service needs of a workload. */
export interface ResolvedWorkload {
  workload: Workload;
  row: WorkloadRow;
  credentials: Credentials;
  /** Host ports by port name (`postgres`, `s3`, `console`, or the container port for custom images). */
  hostPorts: Record<string, number>;
}

const IN_PROGRESS: WorkloadStatus[] = ['creating', 'pulling', 'starting'];

interface ContainerState {
  id: string;
  state: string;
  exitCode?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WorkloadService {
  /** Workloads with an operation in flight; the reconciler leaves them alone. */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Host ports promised to deploys that have not written their row yet. */
  private readonly pendingPorts = new Set<number>();
  private readonly abort = new AbortController();

  constructor(private readonly d: WorkloadsDeps) {}

  // ---- views -------------------------------------------------------------------------------

  secretsOf(row: WorkloadRow): WorkloadSecrets {
    if (!row.sealed) return { credentials: {}, env: {} };
    return this.d.box.openJson<WorkloadSecrets>(row.sealed, `workload:${row.id}`);
  }

  hostPorts(row: WorkloadRow): Record<string, number> {
    return Object.fromEntries(row.ports.map((p) => [p.name ?? String(p.container), p.host]));
  }

  view(row: WorkloadRow): Workload {
    const template = TEMPLATES[row.template];
    const { credentials } = this.secretsOf(row);
    const info =
      row.status === 'pending_approval'
        ? {}
        : template.connection(credentials, '127.0.0.1', this.hostPorts(row));
    const w: Workload = {
      id: row.id,
      name: row.name,
      template: row.template,
      image: row.image,
      status: row.status,
      ports: row.ports,
      volumes: row.volumes.map((v) => ({ source: v.source, target: v.target, kind: v.kind })),
      restart: row.restart,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      origin: row.origin,
    };
    if (row.message) w.message = row.message;
    for (const [k, v] of Object.entries(info)) if (v !== undefined) (w as Record<string, unknown>)[k] = v;
    return w;
  }

  private rowOf(ref: string): WorkloadRow {
    const row = this.d.store.workloads.byRef(ref);
    if (!row) throw new LatticeError('not_found', `No workload named or with id "${ref}"`, 'ref');
    return row;
  }

  resolve(ref: string): ResolvedWorkload {
    const row = this.rowOf(ref);
    return {
      row,
      workload: this.view(row),
      credentials: this.secretsOf(row).credentials,
      hostPorts: this.hostPorts(row),
    };
  }

  private setStatus(
    id: string,
    status: WorkloadStatus,
    message: string | null = null,
  ): WorkloadRow | undefined {
    const before = this.d.store.workloads.byId(id);
    if (!before) return undefined;
    if (before.status === status && (before.message ?? null) === message) return before;
    const row = this.d.store.workloads.update(id, { status, message });
    if (row) this.d.bus.emit({ type: 'workload.changed', workload: this.view(row) });
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
      this.d.logger.debug({ workload: row.name, what }, 'operation done');
    }
  }

  // ---- listing and reconciling with Docker ----------------------------------------------------

  /** One Docker call for all of our containers, keyed by workload id. */
  async ownedContainers(): Promise<
    Map<string, ContainerState & { name: string; image: string; labels: Record<string, string> }>
  > {
    const docker = this.d.engine.require();
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.owner=${this.d.labels.ownerId}`] },
    });
    const byWorkload = new Map<
      string,
      ContainerState & { name: string; image: string; labels: Record<string, string> }
    >();
    for (const c of list) {
      // Ours by owner but with no workload label (hand-made): keyed so it matches no row and is reported.
      const id = c.Labels?.['lattice.workload'] || `unlabelled:${c.Id}`;
      byWorkload.set(id, {
        id: c.Id,
        state: c.State,
        name: (c.Names?.[0] ?? '').replace(/^\//, ''),
        image: c.Image,
        labels: c.Labels ?? {},
      });
    }
    return byWorkload;
  }

  /** Brings a settled row in line with its container (or its absence). In-flight operations are skipped. */
  syncRow(row: WorkloadRow, container: ContainerState | undefined): void {
    if (this.busy.has(row.id) || row.status === 'pending_approval' || IN_PROGRESS.includes(row.status))
      return;
    if (!container) {
      if (row.status === 'missing' || (row.status === 'failed' && !row.containerId)) return;
      if (row.status === 'failed') return;
      this.setStatus(
        row.id,
        'missing',
        'The container was removed outside Lattice; delete the workload or deploy it again',
      );
      return;
    }
    if (row.containerId !== container.id)
      this.d.store.workloads.update(row.id, { containerId: container.id });
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
    if (this.d.engine.available) {
      try {
        const containers = await this.ownedContainers();
        for (const row of this.d.store.workloads.all()) this.syncRow(row, containers.get(row.id));
      } catch (err) {
        // The stored view is still worth showing when Docker hiccups.
        this.d.engine.noteFailure(err);
        this.d.logger.warn({ err: (err as Error).message }, 'could not list containers');
      }
    }
    return this.d.store.workloads.all().map((r) => this.view(r));
  }

  async get(ref: string): Promise<Workload> {
    const row = this.rowOf(ref);
    if (this.d.engine.available && !this.busy.has(row.id)) {
      try {
        this.syncRow(row, await this.inspectState(row));
      } catch (err) {
        this.d.engine.noteFailure(err);
      }
    }
    return this.view(this.rowOf(row.id));
  }

  /** Re-reads one workload's container after a Docker event. */
  async refresh(workloadId: string): Promise<void> {
    const row = this.d.store.workloads.byId(workloadId);
    if (!row || this.busy.has(row.id)) return;
    this.syncRow(row, await this.inspectState(row));
  }

  /** The container of this workload if it exists AND carries our owner and workload labels. */
  async ownedContainer(
    row: WorkloadRow,
  ): Promise<{ container: Docker.Container; info: Docker.ContainerInspectInfo } | undefined> {
    const docker = this.d.engine.require();
    for (const handle of [row.containerId, containerName(row.name)]) {
      if (!handle) continue;
      try {
        const container = docker.getContainer(handle);
        const info = await container.inspect();
        const labels = info.Config.Labels ?? {};
        if (labels['lattice.owner'] === this.d.labels.ownerId && labels['lattice.workload'] === row.id) {
          return { container: docker.getContainer(info.Id), info };
        }
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      }
    }
    return undefined;
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
    if (decision.action === 'deploy') this.d.engine.require();
    const template = TEMPLATES[spec.template];
    const plan = await planDeploy(spec, {
      store: this.d.store,
      docker: this.d.engine.available ? this.d.engine.docker : undefined,
      env: this.d.env,
      hostIp: this.d.lanAccess() ? '0.0.0.0' : '127.0.0.1',
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
        sealed: this.d.box.sealJson({ credentials, env } satisfies WorkloadSecrets, `workload:${id}`),
        containerId: null,
        createdAt: now,
        updatedAt: now,
      };
      try {
        this.d.store.workloads.insert(row);
      } catch (err) {
        if (/UNIQUE/.test((err as Error).message)) {
          throw new LatticeError('conflict', `A workload named "${name}" already exists`, 'name');
        }
        throw err;
      }
      this.d.logger.info(
        { workload: name, id, template: spec.template, image, origin: ctx.door, user: ctx.user?.email },
        decision.action === 'approve' ? 'deploy waits for approval' : 'deploy requested',
      );
      this.d.bus.emit({ type: 'workload.changed', workload: this.view(row) });
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
    this.d.engine.require();
    const next = this.d.store.workloads.update(row.id, {
      status: 'creating',
      message: null,
      opId: randomUUID(),
    })!;
    this.d.logger.info({ workload: row.name, image: row.image }, 'remote deploy approved');
    return this.runDeploy(next);
  }

  /** Runs (or joins) the deploy pipeline of a row; safe to call again after a crash at any step. */
  runDeploy(row: WorkloadRow): Promise<Workload> {
    const running = this.busy.get(row.id);
    if (running) return running as Promise<Workload>;
    const p = this.deployPipeline(row).finally(() => this.busy.delete(row.id));
    this.busy.set(row.id, p);
    return p;
  }

  private async deployPipeline(initial: WorkloadRow): Promise<Workload> {
    const id = initial.id;
    const log = this.d.logger.child({ workload: initial.name });
    try {
      const docker = this.d.engine.require();
      let found = await this.ownedContainer(initial);
      if (!found) {
        if (!(await imagePresent(docker, initial.image))) this.setStatus(id, 'pulling');
        await ensureImage(
          docker,
          initial.image,
          (p) => this.d.bus.emit({ type: 'pull.progress', workloadId: id, image: initial.image, ...p }),
          undefined,
          undefined,
          this.abort.signal,
        );
        this.setStatus(id, 'creating');
        const row = this.d.store.workloads.byId(id)!;
        const labels = workloadLabels(row, this.d.labels);
        const volumeLabels = { ...this.d.labels.extraLabels, ...labels };
        for (const v of row.volumes) {
          if (v.kind !== 'volume') continue;
          await docker.createVolume({ Name: v.source, Labels: volumeLabels });
        }
        const { env } = this.secretsOf(row);
        try {
          const container = await docker.createContainer(
            buildContainerOptions(row, env, row.spec.command, labels),
          );
          this.d.store.workloads.update(id, { containerId: container.id });
        } catch (err) {
          // 409: a container of that name appeared meanwhile. Adopt it only if it is ours (a retried create).
          if ((err as { statusCode?: number }).statusCode !== 409) throw err;
        }
        found = await this.ownedContainer(this.d.store.workloads.byId(id)!);
        if (!found) {
          throw new LatticeError(
            'conflict',
            `A container named ${containerName(row.name)} exists and is not this workload's`,
          );
        }
      } else {
        log.info('adopting the existing container');
        this.d.store.workloads.update(id, { containerId: found.info.Id });
      }
      this.setStatus(id, 'starting');
      if (!found.info.State.Running) {
        try {
          await found.container.start();
        } catch (err) {
          const msg = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
          if (/port is already allocated|address already in use/i.test(msg)) {
            throw new LatticeError('port_taken', `A host port of this workload was taken meanwhile: ${msg}`);
          }
          if ((err as { statusCode?: number }).statusCode !== 304) throw err;
        }
      }
      const row = this.d.store.workloads.byId(id)!;
      const template = TEMPLATES[row.template];
      const container = found.container;
      try {
        await waitHealthy(
          {
            check: template.health,
            host: '127.0.0.1',
            ports: this.hostPorts(row),
            credentials: this.secretsOf(row).credentials,
            isRunning: async () => (await container.inspect()).State.Running,
          },
          this.d.healthTimeoutMs ?? 60_000,
          this.abort.signal,
        );
      } catch (err) {
        const tail = await recentLogText(container).catch(() => '');
        throw new LatticeError(
          'health_check_failed',
          `${row.name} did not become ready: ${(err as Error).message}${tail ? `. Last log lines: ${tail}` : ''}`,
        );
      }
      const done = this.setStatus(id, 'running')!;
      log.info('workload running');
      return this.view(done);
    } catch (err) {
      if (this.abort.signal.aborted) {
        // Shutting down mid-deploy: leave the row in its in-progress state; the next start resumes it.
        throw new LatticeError(
          'internal',
          'The agent stopped during the deploy; it resumes when the agent starts again',
        );
      }
      const e =
        err instanceof LatticeError
          ? err
          : isDockerConnectionError(err)
            ? dockerUnavailable()
            : new LatticeError(
                'deploy_failed',
                `Deploy failed: ${(err as { json?: { message?: string } }).json?.message ?? (err as Error).message}`,
              );
      this.d.engine.noteFailure(err);
      log.warn({ code: e.code, err: e.message }, 'deploy failed');
      this.setStatus(id, 'failed', e.message);
      throw e;
    }
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

  async start(ref: string): Promise<Workload> {
    const row = this.rowOf(ref);
    this.requireSettled(row);
    this.d.engine.require();
    if ((row.status === 'missing' || row.status === 'failed') && !this.busy.has(row.id)) {
      if (!(await this.ownedContainer(row))) {
        // The container was removed behind our back (or never made it): recreate it from the stored
        // spec, with the same credentials, ports and volume, so the data in the volume comes back.
        this.d.logger.info({ workload: row.name }, 'recreating the missing container');
        const next = this.d.store.workloads.update(row.id, {
          status: 'creating',
          message: null,
          opId: randomUUID(),
        })!;
        return this.runDeploy(next);
      }
    }
    return this.exclusive(row, 'start', async () => {
      const { container, info } = await this.requireContainer(row);
      if (!info.State.Running) {
        this.setStatus(row.id, 'starting');
        try {
          await container.start();
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode !== 304) throw this.dockerError(err, 'start');
        }
      }
      return this.view(this.setStatus(row.id, 'running')!);
    });
  }

  async stop(ref: string): Promise<Workload> {
    const row = this.rowOf(ref);
    this.requireSettled(row);
    this.d.engine.require();
    return this.exclusive(row, 'stop', async () => {
      const { container, info } = await this.requireContainer(row);
      if (info.State.Running || info.State.Restarting) {
        try {
          await container.stop({ t: 10 });
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode !== 304) throw this.dockerError(err, 'stop');
        }
      }
      return this.view(this.setStatus(row.id, 'stopped')!);
    });
  }

  async restart(ref: string): Promise<Workload> {
    const row = this.rowOf(ref);
    this.requireSettled(row);
    this.d.engine.require();
    return this.exclusive(row, 'restart', async () => {
      const { container } = await this.requireContainer(row);
      this.setStatus(row.id, 'restarting');
      try {
        await container.restart({ t: 10 });
      } catch (err) {
        throw this.dockerError(err, 'restart');
      }
      return this.view(this.setStatus(row.id, 'running')!);
    });
  }

  async delete(ref: string, removeVolumes: boolean): Promise<{ id: string; volumesRemoved: boolean }> {
    const row = this.rowOf(ref);
    const needsDocker = row.status !== 'pending_approval';
    if (needsDocker) this.d.engine.require();
    return this.exclusive(row, 'delete', async () => {
      let volumesRemoved = false;
      if (needsDocker) {
        this.setStatus(row.id, 'removing');
        const found = await this.ownedContainer(row);
        if (found) {
          try {
            await found.container.remove({ force: true });
          } catch (err) {
            if ((err as { statusCode?: number }).statusCode !== 404) throw this.dockerError(err, 'remove');
          }
        }
        if (removeVolumes) {
          const docker = this.d.engine.docker;
          for (const v of row.volumes) {
            if (v.kind !== 'volume') continue;
            try {
              const info = await docker.getVolume(v.source).inspect();
              // Only volumes we labelled for this very workload; a volume of the same name we did not create stays.
              if (
                info.Labels?.['lattice.owner'] !== this.d.labels.ownerId ||
                info.Labels?.['lattice.workload'] !== row.id
              )
                continue;
              await this.removeVolume(docker, v.source);
              volumesRemoved = true;
            } catch (err) {
              if ((err as { statusCode?: number }).statusCode !== 404)
                throw this.dockerError(err, 'remove the volume of');
            }
          }
        }
      }
      this.d.store.workloads.delete(row.id);
      this.d.logger.info({ workload: row.name, volumes: removeVolumes }, 'workload deleted');
      this.d.bus.emit({ type: 'workload.removed', id: row.id, name: row.name });
      return { id: row.id, volumesRemoved };
    });
  }

  /** A just-removed container can hold its volume for a moment ("volume is in use"). */
  private async removeVolume(docker: Docker, name: string): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await docker.getVolume(name).remove();
        return;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 409 || i >= 20) throw err;
        await sleep(100);
      }
    }
  }

  private dockerError(err: unknown, what: string): LatticeError {
    this.d.engine.noteFailure(err);
    if (isDockerConnectionError(err)) return dockerUnavailable();
    const msg = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
    return new LatticeError('deploy_failed', `Docker could not ${what} the container: ${msg}`);
  }

  // ---- logs and stats -----------------------------------------------------------------------

  private async observed(ref: string) {
    const row = this.rowOf(ref);
    this.requireSettled(row);
    this.d.engine.require();
    return { row, ...(await this.requireContainer(row)) };
  }

  async logs(ref: string, tail: number): Promise<LogLine[]> {
    return readLogs((await this.observed(ref)).container, tail);
  }

  async followLogs(
    ref: string,
    tail: number,
    onLine: (l: LogLine) => void,
    onEnd?: () => void,
  ): Promise<() => void> {
    return followContainerLogs((await this.observed(ref)).container, tail, onLine, onEnd);
  }

  async stats(ref: string): Promise<WorkloadStats> {
    const { row, container } = await this.observed(ref);
    return readStats(container, row.id);
  }

  /** Stops health waits so close() is quick; in-flight deploys resume at the next start. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.busy.values()]);
  }
}
