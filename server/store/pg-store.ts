// The hub's store in PostgreSQL (`lattice hub --database postgres://…`), for several hubs sharing one
// database: the same HubStore as sqlite-store.ts, the same numbered migrations (pg-migrate.ts), the
// same tables. Races between hubs are decided by the database — unique constraints and
// `INSERT … ON CONFLICT`, conditional `UPDATE … RETURNING` — never by a read followed by a write.
import pg from 'pg';
import type { NodeCapacity, Result, WorkloadState } from '../../shared';
import type { AuditEntry, HubStore } from './hub-store';
import { loadMigrations, type Migration } from './migrate';
import { describeDatabase, parseDatabaseUrl } from './database-url';
import { commandWrites } from './pg-command-writes';
import { migratePostgres } from './pg-migrate';
import { positional, rateLimitStore } from './rate-limit-sql';
import {
  COMMAND_LOOKUP_SQL,
  auditValues,
  reservationValues,
  resultValues,
  toAssignment,
  toCommandLookup,
  toDevice,
  toQueued,
  toUser,
  type CommandLookupRecord,
  type DeviceRecord,
  type QueuedRecord,
  type RelayAssignmentRecord,
  type UserRecord,
} from './hub-rows';

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/**
 * Connects to the database, applies the migrations (refusing a newer schema) and returns the store.
 * An unreachable server fails here, naming the server, rather than at the first request.
 */
export async function openPostgresStore(
  databaseUrl: string,
  migrations: Migration[] = loadMigrations(),
  options: { max?: number } = {},
): Promise<HubStore> {
  const url = parseDatabaseUrl(databaseUrl);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its server must not crash the hub; the next query reports it.
  pool.on('error', () => undefined);
  try {
    await migratePostgres(pool, migrations, describeDatabase(url));
  } catch (err) {
    await pool.end().catch(() => undefined);
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
      throw new Error(`cannot reach PostgreSQL at ${describeDatabase(url)} (${code})`);
    }
    throw err;
  }

  const now = () => new Date().toISOString();
  const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await pool.query<T>(sql, params)).rows;
  const one = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await rows<T>(sql, params))[0] as T | undefined;
  const run = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rowCount ?? 0;
  const transaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      await client.query('COMMIT');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };

  const rateLimits = rateLimitStore(async (sql, params) => {
    const { text, values } = positional(sql, params);
    return (await pool.query(text, values)).rows as Record<string, unknown>[];
  });

  // Housekeeping at open, as the SQLite store does: expired codes, tokens and attempt counts, old
  // idempotency records.
  const startedAt = now();
  await rateLimits.pruneRateLimits(Date.now());
  await run('DELETE FROM refresh_tokens WHERE expires_at < $1', [startedAt]);
  await run('DELETE FROM pairing_codes WHERE expires_at < $1', [startedAt]);
  await run('DELETE FROM command_results WHERE created_at < $1', [
    new Date(Date.now() - 24 * 3600_000).toISOString(),
  ]);

  let placeholder = 0;
  const commandLookupSql = COMMAND_LOOKUP_SQL.replace(/\?/g, () => `$${++placeholder}`);

  // Results and audit entries of one turn in one statement (pg-command-writes.ts).
  const writes = commandWrites(pool);

  let closed: Promise<void> | undefined;
  const store: HubStore = {
    ...rateLimits,
    async createUser(user) {
      try {
        const r = await one<UserRecord>(
          'INSERT INTO users (id, email, password_hash, token_version, created_at) VALUES ($1, $2, $3, 0, $4) RETURNING *',
          [user.id, user.email, user.passwordHash, now()],
        );
        return toUser(r!);
      } catch (err) {
        if (isUniqueViolation(err)) return 'email_taken';
        throw err;
      }
    },
    async userByEmail(email) {
      const r = await one<UserRecord>('SELECT * FROM users WHERE email = $1', [email]);
      return r && toUser(r);
    },
    async userById(id) {
      const r = await one<UserRecord>('SELECT * FROM users WHERE id = $1', [id]);
      return r && toUser(r);
    },
    async setPassword(userId, passwordHash) {
      await run('UPDATE users SET password_hash = $1 WHERE id = $2', [passwordHash, userId]);
    },
    async bumpTokenVersion(userId) {
      const r = await one<{ token_version: number }>(
        'UPDATE users SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version',
        [userId],
      );
      return r?.token_version ?? 0;
    },
    async addRefreshToken(token) {
      await run('INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)', [
        token.jti,
        token.userId,
        token.expiresAt,
      ]);
    },
    async consumeRefreshToken(jti, userId) {
      // One conditional UPDATE: of two hubs consuming the same token at once, exactly one gets 'ok'.
      const used = await run(
        'UPDATE refresh_tokens SET revoked_at = $1 WHERE jti = $2 AND user_id = $3 AND revoked_at IS NULL',
        [now(), jti, userId],
      );
      if (used === 1) return 'ok';
      const known = await one('SELECT 1 FROM refresh_tokens WHERE jti = $1 AND user_id = $2', [jti, userId]);
      return known ? 'reused' : 'unknown';
    },
    async revokeRefreshTokens(userId) {
      await run('UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL', [
        now(),
        userId,
      ]);
    },
    async addPairingCode(code) {
      await run('INSERT INTO pairing_codes (code_hash, user_id, expires_at) VALUES ($1, $2, $3)', [
        code.codeHash,
        code.userId,
        code.expiresAt,
      ]);
    },
    async redeemPairingCode(codeHash, at) {
      const r = await one<{ user_id: string }>(
        'UPDATE pairing_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id',
        [at, codeHash],
      );
      return r?.user_id;
    },
    async createDevice(device) {
      const r = await one<DeviceRecord>(
        'INSERT INTO devices (id, user_id, name, token_id, revoked, created_at) VALUES ($1, $2, $3, $4, 0, $5) RETURNING *',
        [device.id, device.userId, device.name, device.tokenId, now()],
      );
      return toDevice(r!);
    },
    async deviceById(id) {
      const r = await one<DeviceRecord>('SELECT * FROM devices WHERE id = $1', [id]);
      return r && toDevice(r);
    },
    async devicesOfUser(userId) {
      return (
        await rows<DeviceRecord>(
          'SELECT * FROM devices WHERE user_id = $1 AND revoked = 0 ORDER BY created_at, id',
          [userId],
        )
      ).map(toDevice);
    },
    async revokeDevice(id) {
      await run('UPDATE devices SET revoked = 1 WHERE id = $1', [id]);
    },
    async touchDevice(id, at) {
      await run('UPDATE devices SET last_seen_at = $1 WHERE id = $2', [at, id]);
    },
    async commandResult(deviceId, commandId) {
      const r = (
        await pool.query<{ user_id: string; name: string; result_json: string }>({
          name: 'command_result',
          text: 'SELECT user_id, name, result_json FROM command_results WHERE device_id = $1 AND command_id = $2',
          values: [deviceId, commandId],
        })
      ).rows[0];
      if (!r) return undefined;
      return {
        deviceId,
        commandId,
        userId: r.user_id,
        name: r.name,
        result: JSON.parse(r.result_json) as Result<unknown>,
      };
    },
    async commandLookup(userId, deviceId, commandId) {
      const { rows: found } = await pool.query<CommandLookupRecord>({
        name: 'command_lookup',
        text: commandLookupSql,
        values: [userId, deviceId, deviceId, commandId],
        rowMode: 'array',
      });
      return toCommandLookup(found[0], deviceId, commandId);
    },
    async saveCommandResult(entry) {
      // The first result of an id stays: a second hub answering the same id cannot replace it.
      await writes.add({ kind: 'result', values: resultValues(entry, now()) });
    },
    async audit(entry: AuditEntry) {
      await writes.add({ kind: 'audit', values: auditValues(entry) });
    },
    async auditLog(userId, limit = 100) {
      await writes.drain();
      const rs = await rows<{
        user_id: string;
        device_id: string;
        command_id: string;
        command_name: string;
        ok: number;
        error_code: string | null;
        at: string;
      }>('SELECT * FROM audit_log WHERE user_id = $1 ORDER BY seq DESC LIMIT $2', [userId, limit]);
      return rs.map((r) => ({
        userId: r.user_id,
        deviceId: r.device_id,
        commandId: r.command_id,
        commandName: r.command_name,
        ok: r.ok === 1,
        errorCode: r.error_code as AuditEntry['errorCode'],
        at: r.at,
      }));
    },
    async relayAssignment(shareId) {
      const r = await one<RelayAssignmentRecord>('SELECT * FROM relay_assignments WHERE share_id = $1', [
        shareId,
      ]);
      return r && toAssignment(r);
    },
    async relayAssignmentAt(port) {
      const r = await one<RelayAssignmentRecord>('SELECT * FROM relay_assignments WHERE port = $1', [port]);
      return r && toAssignment(r);
    },
    async relayAssignments() {
      return (
        await rows<RelayAssignmentRecord>('SELECT * FROM relay_assignments ORDER BY updated_at, share_id')
      ).map(toAssignment);
    },
    async reserveRelayPort(a) {
      // The port's UNIQUE constraint decides between hubs reserving the same port at once; only the
      // device holding a share's reservation may move it (WHERE on the upsert).
      try {
        const changed = await run(
          `INSERT INTO relay_assignments (share_id, user_id, device_id, port, kind, expires_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (share_id) DO UPDATE SET port = excluded.port, kind = excluded.kind,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at
           WHERE relay_assignments.device_id = excluded.device_id`,
          reservationValues(a, now()),
        );
        return changed === 1;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async reserveNewRelayPort(a, accountCap) {
      try {
        return await transaction(async (client) => {
          // Hubs opening shares of one account take turns until commit; the count then sees the others'.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
            `lattice.relay.account:${a.userId}`,
          ]);
          const held = await client.query<{ n: string }>(
            'SELECT count(*) AS n FROM relay_assignments WHERE user_id = $1',
            [a.userId],
          );
          if (Number(held.rows[0].n) >= accountCap) return 'account_full';
          const inserted = await client.query(
            `INSERT INTO relay_assignments (share_id, user_id, device_id, port, kind, expires_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (share_id) DO NOTHING`,
            reservationValues(a, now()),
          );
          return inserted.rowCount === 1 ? 'reserved' : 'port_taken';
        });
      } catch (err) {
        if (isUniqueViolation(err)) return 'port_taken';
        throw err;
      }
    },
    async releaseRelayPort(shareId) {
      await run('DELETE FROM relay_assignments WHERE share_id = $1', [shareId]);
    },
    async releaseRelayPortsOfDevice(deviceId) {
      await run('DELETE FROM relay_assignments WHERE device_id = $1', [deviceId]);
    },
    async adoptSigningKey(offered) {
      await run(
        `INSERT INTO signing_key (id, private_pem, created_at) VALUES ('current', $1, $2) ON CONFLICT (id) DO NOTHING`,
        [offered, now()],
      );
      return (await one<{ private_pem: string }>(
        `SELECT private_pem FROM signing_key WHERE id = 'current'`,
        [],
      ))!.private_pem;
    },

    async replaceInventory(deviceId, workloads: WorkloadState[], at) {
      await transaction(async (client) => {
        await client.query('DELETE FROM inventory WHERE device_id = $1', [deviceId]);
        for (const w of workloads) {
          await client.query(
            `INSERT INTO inventory (device_id, workload_id, state_json, observed_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, workload_id) DO UPDATE SET state_json = excluded.state_json, observed_at = excluded.observed_at`,
            [deviceId, w.id, JSON.stringify(w), at],
          );
        }
      });
    },
    async upsertInventory(deviceId, workload, at) {
      await run(
        `INSERT INTO inventory (device_id, workload_id, state_json, observed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (device_id, workload_id) DO UPDATE SET state_json = excluded.state_json, observed_at = excluded.observed_at`,
        [deviceId, workload.id, JSON.stringify(workload), at],
      );
    },
    async removeInventory(deviceId, workloadId) {
      await run('DELETE FROM inventory WHERE device_id = $1 AND workload_id = $2', [deviceId, workloadId]);
    },
    async inventoryOfUser(userId) {
      const rs = await rows<{ device_id: string; state_json: string; observed_at: string }>(
        `SELECT i.device_id, i.state_json, i.observed_at FROM inventory i JOIN devices d ON d.id = i.device_id
         WHERE d.user_id = $1 AND d.revoked = 0`,
        [userId],
      );
      return rs.map((r) => ({
        deviceId: r.device_id,
        workload: JSON.parse(r.state_json) as WorkloadState,
        observedAt: r.observed_at,
      }));
    },
    async saveCapacity(deviceId, capacity, at) {
      await run(
        `INSERT INTO capacity (device_id, capacity_json, reported_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id) DO UPDATE SET capacity_json = excluded.capacity_json, reported_at = excluded.reported_at`,
        [deviceId, JSON.stringify(capacity), at],
      );
    },
    async capacitiesOfUser(userId) {
      const rs = await rows<{ device_id: string; capacity_json: string; reported_at: string }>(
        `SELECT c.device_id, c.capacity_json, c.reported_at FROM capacity c JOIN devices d ON d.id = c.device_id
         WHERE d.user_id = $1 AND d.revoked = 0`,
        [userId],
      );
      return rs.map((r) => ({
        deviceId: r.device_id,
        capacity: JSON.parse(r.capacity_json) as NodeCapacity,
        reportedAt: r.reported_at,
      }));
    },
    async enqueueCommand(row) {
      const added = await run(
        `INSERT INTO queued_commands (user_id, device_id, id, name, args_json, summary, ref, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) ON CONFLICT (user_id, id) DO NOTHING`,
        [
          row.userId,
          row.deviceId,
          row.id,
          row.name,
          JSON.stringify(row.args ?? null),
          row.summary,
          row.ref,
          row.createdAt,
          row.expiresAt,
        ],
      );
      return added === 1;
    },
    async queuedCommand(userId, id) {
      const r = await one<QueuedRecord>('SELECT * FROM queued_commands WHERE user_id = $1 AND id = $2', [
        userId,
        id,
      ]);
      return r && toQueued(r);
    },
    async queuedCommandsOfUser(userId, filter = {}) {
      const rs = await rows<QueuedRecord>(
        `SELECT * FROM queued_commands WHERE user_id = $1 AND ($2::text IS NULL OR status = $2)
         AND ($3::text IS NULL OR device_id = $3) ORDER BY seq DESC LIMIT 500`,
        [userId, filter.status ?? null, filter.deviceId ?? null],
      );
      return rs.map(toQueued);
    },
    async undeliveredCommands(deviceId) {
      const rs = await rows<QueuedRecord>(
        `SELECT * FROM queued_commands WHERE device_id = $1 AND status IN ('pending', 'delivered') ORDER BY seq`,
        [deviceId],
      );
      return rs.map(toQueued);
    },
    async transitionCommand(userId, id, from, to) {
      const values: unknown[] = [to.status];
      const sets = ['status = $1'];
      const param = (v: unknown) => {
        values.push(v);
        return `$${values.length}`;
      };
      if (to.result !== undefined)
        sets.push(`result_json = ${param(to.result === null ? null : JSON.stringify(to.result))}`);
      if (to.deliveredAt !== undefined) sets.push(`delivered_at = ${param(to.deliveredAt)}`);
      if (to.finishedAt !== undefined) sets.push(`finished_at = ${param(to.finishedAt)}`);
      if (to.dropArgs) sets.push('args_json = NULL');
      const where = `user_id = ${param(userId)} AND id = ${param(id)} AND status = ANY(${param(from)}::text[])`;
      const r = await one<QueuedRecord>(
        `UPDATE queued_commands SET ${sets.join(', ')} WHERE ${where} RETURNING *`,
        values,
      );
      return r && toQueued(r);
    },
    async expireCommands(at) {
      const rs = await rows<QueuedRecord>(
        `UPDATE queued_commands SET status = 'expired', args_json = NULL, finished_at = $1
         WHERE status = 'pending' AND expires_at <= $1 RETURNING *`,
        [at],
      );
      return rs.map(toQueued);
    },
    close() {
      closed ??= writes.drain().then(() => pool.end());
      return closed;
    },
  };
  return store;
}
