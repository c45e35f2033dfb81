// The inventory, capacity and command-queue tables of hub.db (migration 0003), for openSqliteStore.
import type Database from 'better-sqlite3';
import type { NodeCapacity, WorkloadState } from '../../shared';
import type { CommandQueueStore, InventoryStore } from './hub-store';
import { toQueued, type QueuedRecord } from './hub-rows';

export function sqliteInventoryStore(db: Database.Database): InventoryStore & CommandQueueStore {
  const q = {
    clearInventory: db.prepare('DELETE FROM inventory WHERE device_id = ?'),
    upsertInventory: db.prepare(
      `INSERT INTO inventory (device_id, workload_id, state_json, observed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (device_id, workload_id) DO UPDATE SET state_json = excluded.state_json, observed_at = excluded.observed_at`,
    ),
    removeInventory: db.prepare('DELETE FROM inventory WHERE device_id = ? AND workload_id = ?'),
    inventoryOfUser: db.prepare<[string], { device_id: string; state_json: string; observed_at: string }>(
      `SELECT i.device_id, i.state_json, i.observed_at FROM inventory i JOIN devices d ON d.id = i.device_id
       WHERE d.user_id = ? AND d.revoked = 0`,
    ),
    saveCapacity: db.prepare(
      `INSERT INTO capacity (device_id, capacity_json, reported_at) VALUES (?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET capacity_json = excluded.capacity_json, reported_at = excluded.reported_at`,
    ),
    capacitiesOfUser: db.prepare<[string], { device_id: string; capacity_json: string; reported_at: string }>(
      `SELECT c.device_id, c.capacity_json, c.reported_at FROM capacity c JOIN devices d ON d.id = c.device_id
       WHERE d.user_id = ? AND d.revoked = 0`,
    ),
    enqueue: db.prepare(
      `INSERT INTO queued_commands (user_id, device_id, id, name, args_json, summary, ref, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (user_id, id) DO NOTHING`,
    ),
    queued: db.prepare<[string, string], QueuedRecord>(
      'SELECT * FROM queued_commands WHERE user_id = ? AND id = ?',
    ),
    ofUser: db.prepare<[{ user: string; status: string | null; device: string | null }], QueuedRecord>(
      `SELECT * FROM queued_commands WHERE user_id = @user AND (@status IS NULL OR status = @status)
       AND (@device IS NULL OR device_id = @device)
       ORDER BY seq DESC LIMIT 500`,
    ),
    undelivered: db.prepare<[string], QueuedRecord>(
      `SELECT * FROM queued_commands WHERE device_id = ? AND status IN ('pending', 'delivered') ORDER BY seq`,
    ),
    expire: db.prepare<[{ now: string }], QueuedRecord>(
      `UPDATE queued_commands SET status = 'expired', args_json = NULL, finished_at = @now
       WHERE status = 'pending' AND expires_at <= @now RETURNING *`,
    ),
  };
  const replace = db.transaction((deviceId: string, workloads: WorkloadState[], at: string) => {
    q.clearInventory.run(deviceId);
    for (const w of workloads) q.upsertInventory.run(deviceId, w.id, JSON.stringify(w), at);
  });

  return {
    async replaceInventory(deviceId, workloads, at) {
      replace(deviceId, workloads, at);
    },
    async upsertInventory(deviceId, workload, at) {
      q.upsertInventory.run(deviceId, workload.id, JSON.stringify(workload), at);
    },
    async removeInventory(deviceId, workloadId) {
      q.removeInventory.run(deviceId, workloadId);
    },
    async inventoryOfUser(userId) {
      return q.inventoryOfUser.all(userId).map((r) => ({
        deviceId: r.device_id,
        workload: JSON.parse(r.state_json) as WorkloadState,
        observedAt: r.observed_at,
      }));
    },
    async saveCapacity(deviceId, capacity, at) {
      q.saveCapacity.run(deviceId, JSON.stringify(capacity), at);
    },
    async capacitiesOfUser(userId) {
      return q.capacitiesOfUser.all(userId).map((r) => ({
        deviceId: r.device_id,
        capacity: JSON.parse(r.capacity_json) as NodeCapacity,
        reportedAt: r.reported_at,
      }));
    },
    async enqueueCommand(row) {
      const { changes } = q.enqueue.run(
        row.userId,
        row.deviceId,
        row.id,
        row.name,
        JSON.stringify(row.args ?? null),
        row.summary,
        row.ref,
        row.createdAt,
        row.expiresAt,
      );
      return changes === 1;
    },
    async queuedCommand(userId, id) {
      const r = q.queued.get(userId, id);
      return r && toQueued(r);
    },
    async queuedCommandsOfUser(userId, filter = {}) {
      return q.ofUser
        .all({ user: userId, status: filter.status ?? null, device: filter.deviceId ?? null })
        .map(toQueued);
    },
    async undeliveredCommands(deviceId) {
      return q.undelivered.all(deviceId).map(toQueued);
    },
    async transitionCommand(userId, id, from, to) {
      const sets = ['status = ?'];
      const values: unknown[] = [to.status];
      if (to.result !== undefined) {
        sets.push('result_json = ?');
        values.push(to.result === null ? null : JSON.stringify(to.result));
      }
      if (to.deliveredAt !== undefined) {
        sets.push('delivered_at = ?');
        values.push(to.deliveredAt);
      }
      if (to.finishedAt !== undefined) {
        sets.push('finished_at = ?');
        values.push(to.finishedAt);
      }
      if (to.dropArgs) sets.push('args_json = NULL');
      const r = db
        .prepare<unknown[], QueuedRecord>(
          `UPDATE queued_commands SET ${sets.join(', ')}
           WHERE user_id = ? AND id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`,
        )
        .get(...values, userId, id, ...from);
      return r && toQueued(r);
    },
    async expireCommands(now) {
      return q.expire.all({ now }).map(toQueued);
    },
  };
}
