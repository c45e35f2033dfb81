// The deploy pipeline, the step after deploy-plan.ts: from a written intent row to a healthy
// container — pull, create the volumes and the container with our labels, start, wait for the
// template's health check. Each step first looks for what an earlier, interrupted run left (a
// container of this workload, found by its labels), so running it again after a crash at any point
// adopts instead of duplicating.
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { LatticeError, type Workload, type WorkloadStatus } from '../../shared';
import {
  buildContainerOptions,
  containerName,
  workloadLabels,
  type LabelContext,
} from './docker/container-spec';
import { recentLogText } from './docker/container-observe';
import { deployError, dockerStatusCode, portTakenOnStart } from './docker/docker-errors';
import type { Engine } from './docker/engine';
import { findOwnedContainer } from './docker/owned-containers';
import { ensureImage, imagePresent } from './docker/pull';
import type { EventBus } from './event-bus';
import { waitHealthy, workloadHealthTarget } from './health';
import type { SecretBox } from './secrets';
import type { Store, WorkloadRow } from './store';
import { openWorkloadSecrets, workloadView } from './workload-view';

export interface DeployPipelineDeps {
  store: Store;
  box: SecretBox;
  engine: Engine;
  bus: EventBus;
  logger: Logger;
  labels: LabelContext;
  healthTimeoutMs: number;
  /** Aborted when the agent stops: the row is left in progress and the next start resumes it. */
  signal: AbortSignal;
  /**
   * Puts in what the container needs before it starts and checks it after (a Postgres workload's
   * TLS certificate from the agent CA; see tls/database-tls.ts).
   */
  databaseTls?: WorkloadTlsHooks;
  /** Records a status change and tells every console (the workloads service's own setter). */
  setStatus(id: string, status: WorkloadStatus, message?: string | null): WorkloadRow | undefined;
}

/** The part of tls/database-tls.ts the workloads service calls. */
export interface WorkloadTlsHooks {
  beforeStart(workload: WorkloadRow, container: Docker.Container): Promise<void>;
  /** After the server answers: TLS on and the certificate current (live, no restart). */
  ensure(workloadId: string): Promise<void>;
  /** The same, once the server answers (after a start that does not wait for health). */
  ensureSoon(workloadId: string): void;
}

/** Runs the pipeline for one intent row; on failure the row is marked `failed` with the reason. */
export async function runDeployPipeline(initial: WorkloadRow, deps: DeployPipelineDeps): Promise<Workload> {
  const { store, engine, setStatus } = deps;
  const id = initial.id;
  const log = deps.logger.child({ workload: initial.name });
  try {
    const docker = engine.require();
    const ownerId = deps.labels.ownerId;
    let found = await findOwnedContainer(docker, initial, ownerId);
    if (!found) {
      if (!(await imagePresent(docker, initial.image))) setStatus(id, 'pulling');
      await ensureImage(
        docker,
        initial.image,
        (p) => deps.bus.emit({ type: 'pull.progress', workloadId: id, image: initial.image, ...p }),
        undefined,
        undefined,
        deps.signal,
      );
      setStatus(id, 'creating');
      const row = store.workloads.byId(id)!;
      const labels = workloadLabels(row, deps.labels);
      const volumeLabels = { ...deps.labels.extraLabels, ...labels };
      for (const v of row.volumes) {
        if (v.kind !== 'volume') continue;
        await docker.createVolume({ Name: v.source, Labels: volumeLabels });
      }
      const { env } = openWorkloadSecrets(deps.box, row);
      try {
        const container = await docker.createContainer(
          buildContainerOptions(row, env, row.spec.command, labels),
        );
        store.workloads.update(id, { containerId: container.id });
      } catch (err) {
        // 409: a container of that name appeared meanwhile. Adopt it only if it is ours (a retried create).
        if (dockerStatusCode(err) !== 409) throw err;
      }
      found = await findOwnedContainer(docker, store.workloads.byId(id)!, ownerId);
      if (!found) {
        throw new LatticeError(
          'conflict',
          `A container named ${containerName(row.name)} exists and is not this workload's`,
        );
      }
    } else {
      log.info('adopting the existing container');
      store.workloads.update(id, { containerId: found.info.Id });
    }
    setStatus(id, 'starting');
    if (!found.info.State.Running) {
      await deps.databaseTls?.beforeStart(store.workloads.byId(id)!, found.container);
      try {
        await found.container.start();
      } catch (err) {
        const taken = portTakenOnStart(err);
        if (taken) throw taken;
        if (dockerStatusCode(err) !== 304) throw err;
      }
    }
    const row = store.workloads.byId(id)!;
    const container = found.container;
    try {
      await waitHealthy(workloadHealthTarget(row, deps.box, container), deps.healthTimeoutMs, deps.signal);
    } catch (err) {
      const tail = await recentLogText(container).catch(() => '');
      throw new LatticeError(
        'health_check_failed',
        `${row.name} did not become ready: ${(err as Error).message}${tail ? `. Last log lines: ${tail}` : ''}`,
      );
    }
    // A container made before TLS existed (recreated from its old row) gets it now, live.
    await deps.databaseTls
      ?.ensure(id)
      .catch((err) => log.warn({ err: (err as Error).message }, 'could not give the database TLS'));
    const done = setStatus(id, 'running')!;
    log.info('workload running');
    return workloadView(done, openWorkloadSecrets(deps.box, done).credentials);
  } catch (err) {
    if (deps.signal.aborted) {
      // Shutting down mid-deploy: leave the row in its in-progress state; the next start resumes it.
      throw new LatticeError(
        'internal',
        'The agent stopped during the deploy; it resumes when the agent starts again',
      );
    }
    const e = deployError(err);
    engine.noteFailure(err);
    log.warn({ code: e.code, err: e.message }, 'deploy failed');
    setStatus(id, 'failed', e.message);
    throw e;
  }
}
