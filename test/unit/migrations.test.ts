// Numbered migrations: user_version, WAL, idempotent re-open, and all-or-nothing per migration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import Database from 'better-sqlite3';
import { openDatabase } from '../../electron/agent/store/db';
import { loadMigrations, migrate, type Migration } from '../../electron/agent/store/migrate';

const withDir = (fn: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-db-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test('the shipped migrations are numbered from 1 without gaps and start with the core tables', () => {
  const ms = loadMigrations();
  assert.ok(ms.length >= 1);
  ms.forEach((m, i) => assert.equal(m.version, i + 1));
  assert.match(ms[0].sql, /CREATE TABLE workloads/);
});

test('opening sets user_version to the latest, WAL and foreign keys; re-opening changes nothing', () => {
  withDir((dir) => {
    const path = join(dir, 'agent.db');
    const latest = loadMigrations().at(-1)!.version;
    const db = openDatabase(path);
    assert.equal(db.pragma('user_version', { simple: true }), latest);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    db.prepare(`INSERT INTO settings (key, value) VALUES ('k', '"v"')`).run();
    db.close();
    const again = openDatabase(path);
    assert.equal(again.pragma('user_version', { simple: true }), latest);
    assert.equal(
      (again.prepare(`SELECT value FROM settings WHERE key = 'k'`).get() as { value: string }).value,
      '"v"',
    );
    assert.deepEqual(migrate(again, loadMigrations()), []);
    assert.equal(again.pragma('integrity_check', { simple: true }), 'ok');
    again.close();
  });
});

test('a failing migration rolls back both its schema changes and its version bump', () => {
  withDir((dir) => {
    const db = new Database(join(dir, 'x.db'));
    const ms: Migration[] = [
      { version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER);' },
      {
        version: 2,
        name: 'two',
        sql: 'CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1); SELECT * FROM missing_table;',
      },
    ];
    assert.throws(() => migrate(db, ms), /missing_table/);
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]
    ).map((r) => r.name);
    assert.deepEqual(tables, ['a']);
    assert.equal((db.prepare('SELECT count(*) AS n FROM a').get() as { n: number }).n, 0);
    // Fixed migration applies on the next run.
    ms[1].sql = 'CREATE TABLE b (y INTEGER);';
    assert.deepEqual(migrate(db, ms), [2]);
    assert.equal(db.pragma('user_version', { simple: true }), 2);
    db.close();
  });
});

test('a database newer than the agent is refused', () => {
  withDir((dir) => {
    const db = new Database(join(dir, 'x.db'));
    db.pragma('user_version = 99');
    assert.throws(() => migrate(db, loadMigrations()), /newer than this agent/);
    db.close();
  });
});
