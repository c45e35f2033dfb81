// Commands that wait for a sleeping laptop. A command for an offline computer asked with
// `queue: true` is stored with an expiry (default 24 h) and delivered, in the order queued, when the
// computer reconnects; its result is recorded and pushed to the owner's dashboards. Each command's id
// is the agent's idempotency key, so delivering it again after a lost result runs nothing twice.
// The arguments are kept only until the command is delivered, cancelled or expired; a result keeps
// no credentials (a deploy's live answer went to no one, and the owner reads them on the desktop).
import type { Logger } from 'pino';
import {
  LatticeError,
  withoutCredentials,
  type HubUser,
  type WorkloadState,
  type QueuedCommand,
  type QueuedCommandStatus,
} from '../shared';
import type { CommandRelay } from './command-relay';
import type { Presence } from './presence';
import type { DeviceRow, HubStore, QueuedCommandRow } from './store/hub-store';

export const QUEUE_SWEEP_MS = 30_000;

/** What a command acts on, in words, without argument values that may be secret. */
export function commandSummary(name: string, args: unknown): string {
  const a = (args ?? {}) as { ref?: unknown; template?: unknown; name?: unknown; image?: unknown };
  if (name === 'workload.deploy') {
    const what = a.template === 'custom' ? String(a.image ?? 'custom') : String(a.template ?? '?');
    return a.name ? `${what} "${String(a.name)}"` : what;
  }
  return typeof a.ref === 'string' ? `"${a.ref}"` : '';
}

/** The workload a command acts on, as it was given (a deploy has none). */
export function commandRef(args: unknown): string | null {
  const ref = (args as { ref?: unknown } | null)?.ref;
  return typeof ref === 'string' ? ref : null;
}

export class CommandQueue {
  private readonly delivering = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly store: HubStore,
    private readonly presence: Presence,
    private readonly relay: CommandRelay,
    private readonly logger: Logger,
    sweepMs = QUEUE_SWEEP_MS,
  ) {
    this.sweeper = setInterval(() => void this.expire(), sweepMs);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  view(row: QueuedCommandRow, device: Pick<DeviceRow, 'name'>): QueuedCommand {
    return {
      id: row.id,
      nodeId: row.deviceId,
      nodeName: device.name,
      name: row.name,
      summary: row.summary,
      ref: row.ref,
      status: row.status,
      result: row.result,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      deliveredAt: row.deliveredAt,
      finishedAt: row.finishedAt,
    };
  }

  /** Stores a command for an offline device; delivered at once if the device came back meanwhile. */
  async enqueue(
    user: HubUser,
    device: DeviceRow,
    cmd: { id: string; name: string; args: unknown; expiresInSeconds: number },
  ): Promise<QueuedCommand> {
    const now = new Date();
    const row = {
      id: cmd.id,
      userId: user.id,
      deviceId: device.id,
      name: cmd.name,
      args: cmd.args,
      summary: commandSummary(cmd.name, cmd.args),
      ref: commandRef(cmd.args),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + cmd.expiresInSeconds * 1000).toISOString(),
    };
    if (!(await this.store.enqueueCommand(row))) {
      throw new LatticeError('conflict', `Command id ${cmd.id} was already used`, 'id');
    }
    const queued = this.view(
      { ...row, status: 'pending', result: null, deliveredAt: null, finishedAt: null },
      device,
    );
    this.publish(user.id, queued);
    this.logger.info({ deviceId: device.id, id: cmd.id, command: cmd.name }, 'command queued');
    if (this.presence.isOnline(device.id)) void this.deliver(device);
    return queued;
  }

  /** How many queued commands, not yet answered, aim at a workload (by the name or id they were given). */
  async pendingCounter(userId: string): Promise<(deviceId: string, workload: WorkloadState) => number> {
    const waiting = (
      await Promise.all([
        this.store.queuedCommandsOfUser(userId, { status: 'pending' }),
        this.store.queuedCommandsOfUser(userId, { status: 'delivered' }),
      ])
    ).flat();
    return (deviceId, workload) =>
      waiting.filter((r) => r.deviceId === deviceId && (r.ref === workload.name || r.ref === workload.id))
        .length;
  }

  async list(
    userId: string,
    devices: DeviceRow[],
    filter: { status?: QueuedCommandStatus; deviceId?: string } = {},
  ): Promise<QueuedCommand[]> {
    await this.expire();
    const byId = new Map(devices.map((d) => [d.id, d]));
    return (await this.store.queuedCommandsOfUser(userId, filter)).flatMap((r) => {
      const device = byId.get(r.deviceId);
      return device ? [this.view(r, device)] : [];
    });
  }

  async cancel(userId: string, id: string, devices: DeviceRow[]): Promise<QueuedCommand> {
    const existing = await this.store.queuedCommand(userId, id);
    const device = existing && devices.find((d) => d.id === existing.deviceId);
    if (!existing || !device) throw new LatticeError('not_found', `No queued command ${id}`, 'id');
    const row = await this.store.transitionCommand(userId, id, ['pending'], {
      status: 'cancelled',
      finishedAt: new Date().toISOString(),
      dropArgs: true,
    });
    if (!row) {
      throw new LatticeError(
        'conflict',
        `Command ${id} is ${existing.status}, not pending: only a command not yet delivered can be cancelled`,
        'id',
      );
    }
    const queued = this.view(row, device);
    this.publish(userId, queued);
    return queued;
  }

  /**
   * Delivers the device's waiting commands one after another, in the order queued. Called when the
   * device connects and when a command is queued for a device that is online by then.
   */
  async deliver(device: DeviceRow): Promise<void> {
    if (this.delivering.has(device.id)) return;
    this.delivering.add(device.id);
    try {
      await this.expire();
      for (const row of await this.store.undeliveredCommands(device.id)) {
        if (!this.presence.isOnline(device.id)) return;
        const delivered = await this.store.transitionCommand(row.userId, row.id, ['pending', 'delivered'], {
          status: 'delivered',
          deliveredAt: new Date().toISOString(),
        });
        if (!delivered) continue; // cancelled meanwhile
        this.publish(row.userId, this.view(delivered, device));
        const user = await this.store.userById(row.userId);
        if (!user) continue;
        const result = await this.relay.relay({ id: user.id, email: user.email }, device, {
          id: row.id,
          name: row.name,
          args: row.args,
        });
        // Not answered (went offline, or still running past the timeout): it stays delivered and is
        // sent again with the same id on the next connect; the agent answers it from its record.
        if (!result.ok && (result.error.code === 'device_offline' || result.error.code === 'timeout')) {
          this.logger.info(
            { deviceId: device.id, id: row.id, code: result.error.code },
            'queued command unanswered',
          );
          return;
        }
        const done = await this.store.transitionCommand(row.userId, row.id, ['delivered'], {
          status: result.ok ? 'done' : 'failed',
          result: result.ok ? { ok: true, value: withoutCredentials(result.value) } : result,
          finishedAt: new Date().toISOString(),
          dropArgs: true,
        });
        if (done) this.publish(row.userId, this.view(done, device));
      }
    } catch (err) {
      this.logger.error({ err, deviceId: device.id }, 'delivering queued commands failed');
    } finally {
      this.delivering.delete(device.id);
    }
  }

  private async expire(): Promise<void> {
    try {
      const expired = await this.store.expireCommands(new Date().toISOString());
      for (const row of expired) {
        const device = await this.store.deviceById(row.deviceId);
        if (device) this.publish(row.userId, this.view(row, device));
      }
    } catch (err) {
      this.logger.error({ err }, 'expiring queued commands failed');
    }
  }

  private publish(userId: string, command: QueuedCommand): void {
    this.presence.publish(userId, { type: 'queue.changed', command });
  }
}
