// The hub's embedded store: one SQLite file (hub.db) in WAL mode, the numbered migrations of
// ./migrations applied at open (migrate.ts).
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Result } from '../../shared';
import type { AuditEntry, HubStore, StoredCommandResult } from './hub-store';
import { loadMigrations, migrate, type Migration } from './migrate';
import { startCheckpointer, type CheckpointerOptions } from './sqlite-checkpointer';
import { rateLimitStore, type NamedQuery } from './rate-limit-sql';
import { sqliteInventoryStore } from './sqlite-inventory';
import { turnBatch } from './turn-batch';
import {
  COMMAND_LOOKUP_SQL,
  auditValues,
  reservationValues,
  resultValues,
  toAssignment,
  toCommandLookup,
  toDevice,
  toUser,
  type CommandLookupRecord,
  type DeviceRecord,
  type RelayAssignmentRecord,
  type UserRecord,
} from './hub-rows';

const isUniqueViolation = (err: unknown) =>
  (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' ||
  (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';

/** Opens (creating if needed) the hub database; refuses one whose schema is newer than this code. */
export function openSqliteStore(
  file: string,
  migrations: Migration[] = loadMigrations(),
  checkpointOptions: CheckpointerOptions = {},
): HubStore & { checkpoints(): Promise<number> } {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  try {
    try {
      chmodSync(file, 0o600);
    } catch {
      // Best effort: the data directory itself is 0700.
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Checkpoints are the checkpoint thread's (sqlite-checkpointer.ts), started below; this connection
    // checkpoints itself only if that thread is not there.
    db.pragma('wal_autocheckpoint = 0');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations, file);
  } catch (err) {
    db.close();
    throw err;
  }
  const checkpointer = startCheckpointer(
    file,
    (err) => {
      // SQLite's own automatic checkpoint, every 10,000 WAL pages (40 MB) instead of its default
      // 1,000: each one copies the pages changed since the last into hub.db and syncs both files
      // while the event loop waits, and every relayed command adds about two pages.
      if (db.open) db.pragma('wal_autocheckpoint = 10000');
      checkpointOptions.onFallback?.(err);
    },
    checkpointOptions,
  );

  const now = () => new Date().toISOString();
  const q = {
    insertUser: db.prepare(
      'INSERT INTO users (id, email, password_hash, token_version, created_at) VALUES (?, ?, ?, 0, ?)',
    ),
    userByEmail: db.prepare<[string], UserRecord>('SELECT * FROM users WHERE email = ?'),
    userById: db.prepare<[string], UserRecord>('SELECT * FROM users WHERE id = ?'),
    setPassword: db.prepare('UPDATE users SET password_hash = ? WHERE id = ?'),
    bumpVersion: db.prepare<[string], { token_version: number }>(
      'UPDATE users SET token_version = token_version + 1 WHERE id = ? RETURNING token_version',
    ),
    addRefresh: db.prepare('INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES (?, ?, ?)'),
    refresh: db.prepare<[string, string], { revoked_at: string | null }>(
      'SELECT revoked_at FROM refresh_tokens WHERE jti = ? AND user_id = ?',
    ),
    revokeRefresh: db.prepare(
      'UPDATE refresh_tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL',
    ),
    revokeAllRefresh: db.prepare(
      'UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL',
    ),
    pruneRefresh: db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?'),
    addCode: db.prepare('INSERT INTO pairing_codes (code_hash, user_id, expires_at) VALUES (?, ?, ?)'),
    redeemCode: db.prepare<[string, string, string], { user_id: string }>(
      'UPDATE pairing_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id',
    ),
    pruneCodes: db.prepare('DELETE FROM pairing_codes WHERE expires_at < ?'),
    insertDevice: db.prepare(
      'INSERT INTO devices (id, user_id, name, token_id, revoked, created_at) VALUES (?, ?, ?, ?, 0, ?)',
    ),
    deviceById: db.prepare<[string], DeviceRecord>('SELECT * FROM devices WHERE id = ?'),
    devicesOfUser: db.prepare<[string], DeviceRecord>(
      'SELECT * FROM devices WHERE user_id = ? AND revoked = 0 ORDER BY created_at, id',
    ),
    revokeDevice: db.prepare('UPDATE devices SET revoked = 1 WHERE id = ?'),
    touchDevice: db.prepare('UPDATE devices SET last_seen_at = ? WHERE id = ?'),
    result: db.prepare<[string, string], { user_id: string; name: string; result_json: string }>(
      'SELECT user_id, name, result_json FROM command_results WHERE device_id = ? AND command_id = ?',
    ),
    commandLookup: db
      .prepare<[string, string, string, string], CommandLookupRecord>(COMMAND_LOOKUP_SQL)
      .raw(true),
    saveResult: db.prepare(
      'INSERT OR IGNORE INTO command_results (device_id, command_id, user_id, name, result_json, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    pruneResults: db.prepare('DELETE FROM command_results WHERE created_at < ?'),
    assignment: db.prepare<[string], RelayAssignmentRecord>(
      'SELECT * FROM relay_assignments WHERE share_id = ?',
    ),
    assignmentAt: db.prepare<[number], RelayAssignmentRecord>(
      'SELECT * FROM relay_assignments WHERE port = ?',
    ),
    assignments: db.prepare<[], RelayAssignmentRecord>(
      'SELECT * FROM relay_assignments ORDER BY updated_at, share_id',
    ),
    // Only the device holding a share's reservation may move it (WHERE on the upsert).
    reserve: db.prepare(
      `INSERT INTO relay_assignments (share_id, user_id, device_id, port, kind, expires_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(share_id) DO UPDATE SET port = excluded.port, kind = excluded.kind,
         expires_at = excluded.expires_at, updated_at = excluded.updated_at
       WHERE relay_assignments.device_id = excluded.device_id`,
    ),
    reserveNew: db.prepare(
      `INSERT INTO relay_assignments (share_id, user_id, device_id, port, kind, expires_at, updated_at)
       SELECT ?, ?, ?, ?, ?, ?, ?
       WHERE (SELECT count(*) FROM relay_assignments WHERE user_id = ?) < ?
       ON CONFLICT(share_id) DO NOTHING`,
    ),
    reservationsOfUser: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM relay_assignments WHERE user_id = ?',
    ),
    release: db.prepare('DELETE FROM relay_assignments WHERE share_id = ?'),
    releaseOfDevice: db.prepare('DELETE FROM relay_assignments WHERE device_id = ?'),
    audit: db.prepare(
      'INSERT INTO audit_log (user_id, device_id, command_id, command_name, ok, error_code, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    auditLog: db.prepare<
      [string, number],
      {
        user_id: string;
        device_id: string;
        command_id: string;
        command_name: string;
        ok: number;
        error_code: string | null;
        at: string;
      }
    >('SELECT * FROM audit_log WHERE user_id = ? ORDER BY seq DESC LIMIT ?'),
  };

  // The rate_limits statements (rate-limit-sql.ts), prepared once each.
  const prepared = new Map<string, Database.Statement>();
  const named: NamedQuery = async (sql, params) => {
    let stmt = prepared.get(sql);
    if (!stmt) prepared.set(sql, (stmt = db.prepare(sql)));
    if (stmt.reader) return stmt.all(params) as Record<string, unknown>[];
    stmt.run(params);
    return [];
  };
  const rateLimits = rateLimitStore(named);

  // Housekeeping at open: expired codes, tokens and attempt counts, and idempotency records older
  // than a day.
  const startedAt = now();
  void rateLimits.pruneRateLimits(Date.now());
  q.pruneRefresh.run(startedAt);
  q.pruneCodes.run(startedAt);
  q.pruneResults.run(new Date(Date.now() - 24 * 3600_000).toISOString());

  // The two writes every relayed command makes (its result, its audit entry) are committed per turn
  // of the event loop, in one transaction (turn-batch.ts): one WAL append per batch instead of per row.
  const writes = turnBatch<() => void>({
    all: db.transaction((runs: (() => void)[]) => {
      for (const run of runs) run();
    }),
    one: (run) => run(),
  });

  const store: HubStore & { checkpoints(): Promise<number> } = {
    ...sqliteInventoryStore(db),
    ...rateLimits,
    async createUser(user) {
      try {
        q.insertUser.run(user.id, user.email, user.passwordHash, now());
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return 'email_taken';
        throw err;
      }
      return toUser(q.userById.get(user.id)!);
    },
    async userByEmail(email) {
      const r = q.userByEmail.get(email);
      return r && toUser(r);
    },
    async userById(id) {
      const r = q.userById.get(id);
      return r && toUser(r);
    },
    async setPassword(userId, passwordHash) {
      q.setPassword.run(passwordHash, userId);
    },
    async bumpTokenVersion(userId) {
      return q.bumpVersion.get(userId)?.token_version ?? 0;
    },
    async addRefreshToken(token) {
      q.addRefresh.run(token.jti, token.userId, token.expiresAt);
    },
    async consumeRefreshToken(jti, userId) {
      return db.transaction(() => {
        const row = q.refresh.get(jti, userId);
        if (!row) return 'unknown' as const;
        if (row.revoked_at) return 'reused' as const;
        q.revokeRefresh.run(now(), jti);
        return 'ok' as const;
      })();
    },
    async revokeRefreshTokens(userId) {
      q.revokeAllRefresh.run(now(), userId);
    },
    async addPairingCode(code) {
      q.addCode.run(code.codeHash, code.userId, code.expiresAt);
    },
    async redeemPairingCode(codeHash, at) {
      return q.redeemCode.get(at, codeHash, at)?.user_id;
    },
    async createDevice(device) {
      q.insertDevice.run(device.id, device.userId, device.name, device.tokenId, now());
      return toDevice(q.deviceById.get(device.id)!);
    },
    async deviceById(id) {
      const r = q.deviceById.get(id);
      return r && toDevice(r);
    },
    async devicesOfUser(userId) {
      return q.devicesOfUser.all(userId).map(toDevice);
    },
    async revokeDevice(id) {
      q.revokeDevice.run(id);
    },
    async touchDevice(id, at) {
      q.touchDevice.run(at, id);
    },
    async commandResult(deviceId, commandId) {
      // No flush: the relay keeps a command in flight until its result is committed and checks that
      // first, so an uncommitted result is never needed here; a flush on every lookup committed each
      // command's rows on its own, at the next command's lookup.
      const r = q.result.get(deviceId, commandId);
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
      // Not flushed either, as commandResult: see there.
      const r = q.commandLookup.get(userId, deviceId, deviceId, commandId)!;
      return toCommandLookup(r, deviceId, commandId);
    },
    async saveCommandResult(entry: StoredCommandResult) {
      const values = resultValues(entry, now());
      await writes.add(() => q.saveResult.run(...values));
    },
    async audit(entry: AuditEntry) {
      const values = auditValues(entry);
      await writes.add(() => q.audit.run(...values));
    },
    async auditLog(userId, limit = 100) {
      await writes.drain();
      return q.auditLog.all(userId, limit).map((r) => ({
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
      const r = q.assignment.get(shareId);
      return r && toAssignment(r);
    },
    async relayAssignmentAt(port) {
      const r = q.assignmentAt.get(port);
      return r && toAssignment(r);
    },
    async relayAssignments() {
      return q.assignments.all().map(toAssignment);
    },
    async reserveRelayPort(a) {
      try {
        const { changes } = q.reserve.run(...reservationValues(a, now()));
        return changes === 1;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },
    async reserveNewRelayPort(a, accountCap) {
      // One statement: SQLite has one writer, so the count and the insert cannot interleave with another's.
      try {
        const { changes } = q.reserveNew.run(...reservationValues(a, now()), a.userId, accountCap);
        if (changes === 1) return 'reserved';
      } catch (err) {
        if (isUniqueViolation(err)) return 'port_taken';
        throw err;
      }
      return q.reservationsOfUser.get(a.userId)!.n >= accountCap ? 'account_full' : 'port_taken';
    },
    async releaseRelayPort(shareId) {
      q.release.run(shareId);
    },
    async releaseRelayPortsOfDevice(deviceId) {
      q.releaseOfDevice.run(deviceId);
    },
    async adoptSigningKey(offered) {
      db.prepare(
        `INSERT INTO signing_key (id, private_pem, created_at) VALUES ('current', ?, ?) ON CONFLICT (id) DO NOTHING`,
      ).run(offered, now());
      return (
        db.prepare(`SELECT private_pem FROM signing_key WHERE id = 'current'`).get() as {
          private_pem: string;
        }
      ).private_pem;
    },
    /** Checkpoints the checkpoint thread has run (tests). */
    checkpoints: () => checkpointer.count(),
    async close() {
      await checkpointer.stop();
      if (db.open) {
        await writes.drain();
        db.close();
      }
    },
  };
  return store;
}
