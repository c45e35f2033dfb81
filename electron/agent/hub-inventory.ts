// What the hub keeps of this computer: its workloads' state without secrets (the inventory) and what
// it can take (capacity). The inventory goes up whole when the link comes up and one workload at a
// time on every change; capacity on connect and then every CAPACITY_INTERVAL_MS, with the heartbeat.
// The hub answers `workload.list` for offline computers and places `node: "auto"` deploys from these.
import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import type { Logger } from 'pino';
import { LatticeError, WorkloadState, type AgentToHub, type NodeCapacity, type Workload } from '../../shared';
import type { Engine } from './docker/engine';
import type { EventBus } from './event-bus';
import type { HubConnection } from './hub-connection';
import type { SettingsService } from './settings-service';
import type { WorkloadService } from './workloads';

export const CAPACITY_INTERVAL_MS = 15_000;

export interface HubInventoryDeps {
  hub: HubConnection;
  bus: EventBus;
  workloads: WorkloadService;
  settings: SettingsService;
  engine: Engine;
  /** Where disk space is measured when Docker's own root is not on this file system. */
  dataDir: string;
  logger: Logger;
  intervalMs?: number;
}

const MIB = 1024 ** 2;
const mib = (bytes: number) => `${Math.round(bytes / MIB)} MiB`;

/** A workload as the hub may keep it: the parse drops the credentials. */
export const inventoryState = (workload: Workload): WorkloadState => WorkloadState.parse(workload);

export class HubInventory {
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private unsubscribeLink: (() => void) | undefined;
  /** Docker's data root (`docker info`), once known; null when it is not on this file system. */
  private dockerRoot: string | null | undefined;

  constructor(private readonly deps: HubInventoryDeps) {}

  /** Call before the hub link is started, so its first connect is seen. */
  start(): void {
    const { hub, bus, logger } = this.deps;
    this.unsubscribe.push(
      bus.on((event) => {
        if (event.type === 'workload.changed') {
          this.send({ type: 'inventory.changed', workload: inventoryState(event.workload) });
        } else if (event.type === 'workload.removed') {
          this.send({ type: 'inventory.removed', id: event.id });
        } else if (event.type === 'settings.changed') {
          void this.reportCapacity();
        }
      }),
      hub.onChange((link) => {
        this.unsubscribeLink?.();
        this.unsubscribeLink = link?.onStatus((connected) => {
          if (connected) void this.reportAll();
        });
      }),
    );
    this.timer = setInterval(() => void this.reportCapacity(), this.deps.intervalMs ?? CAPACITY_INTERVAL_MS);
    this.timer.unref();
    logger.debug('hub inventory reporting on');
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribeLink?.();
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** What this computer can take now, and what the owner allows remote deploys to use of it. */
  async capacity(): Promise<NodeCapacity> {
    const plain = this.deps.settings.plain();
    const workloads = await this.deps.workloads.list();
    return {
      cpus: cpus().length,
      memoryTotalBytes: totalmem(),
      memoryFreeBytes: freemem(),
      diskFreeBytes: await this.diskFree(),
      runningWorkloads: workloads.filter((w) => w.status === 'running').length,
      allowsRemoteDeploy: plain.allowRemoteDeploy,
      remoteDeployMemoryCapBytes: plain.remoteDeployMemoryCapBytes,
      remoteMemoryUsedBytes: await this.remoteMemoryUsed(workloads),
    };
  }

  /**
   * Refuses a remote deploy that would take remote deploys past the owner's memory cap: what the
   * running remote workloads use now plus what this one asks for (its memory limit, if it has one).
   */
  async checkRemoteMemory(requestedBytes: number): Promise<void> {
    const cap = this.deps.settings.plain().remoteDeployMemoryCapBytes;
    if (cap === null) return;
    const used = await this.remoteMemoryUsed(await this.deps.workloads.list());
    if (used + requestedBytes > cap) {
      const asks = requestedBytes ? `; this deploy asks for ${mib(requestedBytes)}` : '';
      throw new LatticeError(
        'forbidden',
        `Remote deploys may use ${mib(cap)} of memory on this computer and ${mib(used)} is in use${asks} ` +
          '(the owner sets the cap in Settings)',
      );
    }
  }

  private send(msg: AgentToHub): void {
    this.deps.hub.current?.send(msg);
  }

  private async reportAll(): Promise<void> {
    try {
      const workloads = await this.deps.workloads.list();
      this.send({ type: 'inventory.snapshot', workloads: workloads.map(inventoryState) });
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'could not report the inventory to the hub');
    }
    await this.reportCapacity();
  }

  private async reportCapacity(): Promise<void> {
    if (!this.deps.hub.connected) return;
    try {
      this.send({ type: 'capacity', capacity: await this.capacity() });
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'could not report capacity to the hub');
    }
  }

  private async remoteMemoryUsed(workloads: Workload[]): Promise<number> {
    const remote = workloads.filter((w) => w.origin === 'remote' && w.status === 'running');
    const used = await Promise.all(
      remote.map((w) =>
        this.deps.workloads.stats(w.id).then(
          (s) => s.memoryBytes,
          () => 0,
        ),
      ),
    );
    return Math.round(used.reduce((a, b) => a + b, 0));
  }

  private async diskFree(): Promise<number | null> {
    if (this.dockerRoot === undefined && this.deps.engine.available) {
      this.dockerRoot = await this.deps.engine.docker
        .info()
        .then((info: { DockerRootDir?: string }) => info.DockerRootDir ?? null)
        .catch(() => undefined);
    }
    for (const path of [this.dockerRoot, this.deps.dataDir]) {
      if (!path) continue;
      try {
        const fs = await statfs(path);
        return fs.bavail * fs.bsize;
      } catch {
        // Docker's root lives in a VM (Docker Desktop, colima) or is not readable: try the next.
      }
    }
    return null;
  }
}
