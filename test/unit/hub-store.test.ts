// The hub's one database: numbered .sql migrations under the same rules as the agent's runner, a
// refusal of a database newer than the code, and the relay's port reservations as part of HubStore.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as agentRunner from '../../electron/agent/store/migrate';
import * as hubRunner from '../../server/store/migrate';
import { openSqliteStore } from '../../server/store/sqlite-store';
import type { HubStore } from '../../server/store/hub-store';
import { openTestStore, testStoreKind } from '../helpers/hub-test-store';

const dir = mkdtempSync(join(tmpdir(), 'lattice-hub-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `hub-${++n}.db`);

const tableNames = (db: Database.Database) =>
  (
    db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as {
      name: string;
    }[]
  )
    .map((r) => r.name)
    .filter((name) => !name.startsWith('sqlite_'));

describe('hub migrations', () => {
  test('ship as numbered .sql files from 0001 without gaps: accounts first, then relay reservations', () => {
    const ms = hubRunner.loadMigrations();
    assert.deepEqual(
      ms.slice(0, 2).map((m) => `${m.version}-${m.name}`),
      ['1-init', '2-relay-assignments'],
    );
    ms.forEach((m, i) => assert.equal(m.version, i + 1));
    assert.match(ms[0].sql, /CREATE TABLE users/);
    assert.match(ms[1].sql, /CREATE TABLE relay_assignments/);
  });

  test('a hub.db written before the relay moved in (version 1) gains the reservations and keeps its users', async () => {
    const file = freshFile();
    const old = new Database(file);
    hubRunner.migrate(old, hubRunner.loadMigrations().slice(0, 1));
    old.prepare(`INSERT INTO users VALUES ('u1', 'a@example.com', 'hash', 0, '2026-01-01T00:00:00Z')`).run();
    old.close();

    const store = openSqliteStore(file);
    assert.equal((await store.userById('u1'))?.email, 'a@example.com');
    await store.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), hubRunner.loadMigrations().length);
    assert.ok(tableNames(db).includes('relay_assignments'));
    db.close();
  });

  test('a hub.db newer than the code is refused with a message naming the file and both versions', () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => openSqliteStore(file),
      (err: Error) =>
        err instanceof hubRunner.SchemaTooNewError &&
        err.message.includes(file) &&
        /schema version 99, newer than this hub knows \(\d+\)/.test(err.message),
    );
    // Refused before anything was written: still 99, no tables.
    const again = new Database(file, { readonly: true });
    assert.equal(again.pragma('user_version', { simple: true }), 99);
    assert.deepEqual(tableNames(again), []);
    again.close();
  });
});

// The agent's and the hub's runners are separate files (see server/store/migrate.ts for why); the same
// cases run through both so their rules stay the same.
const runners = [
  { who: 'agent', migrate: agentRunner.migrate, newer: /newer than this agent/ },
  { who: 'hub', migrate: hubRunner.migrate, newer: /newer than this hub/ },
];
for (const runner of runners) {
  describe(`the ${runner.who}'s migration runner`, () => {
    test('applies each step with its user_version bump in one transaction: a failed step leaves neither', () => {
      const db = new Database(freshFile());
      const ms = [
        { version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER);' },
        {
          version: 2,
          name: 'two',
          sql: 'CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1); SELECT * FROM nope;',
        },
      ];
      assert.throws(() => runner.migrate(db, ms), /nope/);
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      assert.deepEqual(tableNames(db), ['a']);
      assert.equal((db.prepare('SELECT count(*) AS n FROM a').get() as { n: number }).n, 0);
      ms[1].sql = 'CREATE TABLE b (y INTEGER);';
      assert.deepEqual(runner.migrate(db, ms), [2]);
      assert.deepEqual(runner.migrate(db, ms), [], 'a second run applies nothing');
      db.close();
    });

    test('refuses a database whose schema is newer than the code, and changes nothing', () => {
      const db = new Database(freshFile());
      db.pragma('user_version = 5');
      assert.throws(
        () => runner.migrate(db, [{ version: 1, name: 'one', sql: 'CREATE TABLE a (x INTEGER);' }]),
        runner.newer,
      );
      assert.equal(db.pragma('user_version', { simple: true }), 5);
      assert.deepEqual(tableNames(db), []);
      db.close();
    });
  });
}

// Against the store of this run: SQLite, or PostgreSQL when LATTICE_HUB_DATABASE=postgres.
describe(`relay reservations in the hub store (${testStoreKind()})`, () => {
  const withStore = async (fn: (store: HubStore) => Promise<void>) => {
    const store = await openTestStore();
    try {
      for (const [user, device] of [
        ['amy', 'amy-laptop'],
        ['bob', 'bob-laptop'],
      ]) {
        await store.createUser({ id: user, email: `${user}@example.com`, passwordHash: 'x' });
        await store.createDevice({ id: device, userId: user, name: device, tokenId: `t-${device}` });
      }
      await fn(store);
    } finally {
      await store.close();
    }
  };
  const amy = (over: { shareId?: string; port?: number } = {}) => ({
    shareId: 'sh_amy',
    userId: 'amy',
    deviceId: 'amy-laptop',
    port: 20000,
    kind: 'tcp' as const,
    expiresAt: null,
    ...over,
  });

  test('a port is reserved for one share; another share cannot take it', async () => {
    await withStore(async (store) => {
      assert.equal(await store.reserveRelayPort(amy()), true);
      assert.equal(
        await store.reserveRelayPort({
          ...amy({ shareId: 'sh_bob' }),
          userId: 'bob',
          deviceId: 'bob-laptop',
        }),
        false,
      );
      assert.equal((await store.relayAssignmentAt(20000))?.shareId, 'sh_amy');
      assert.equal((await store.relayAssignmentAt(20000))?.userId, 'amy');
    });
  });

  test('only the device holding a share id may move its reservation', async () => {
    await withStore(async (store) => {
      assert.equal(await store.reserveRelayPort(amy()), true);
      assert.equal(
        await store.reserveRelayPort({ ...amy({ port: 20001 }), userId: 'bob', deviceId: 'bob-laptop' }),
        false,
      );
      assert.deepEqual(
        (await store.relayAssignments()).map((a) => [a.shareId, a.deviceId, a.port]),
        [['sh_amy', 'amy-laptop', 20000]],
      );
      assert.equal(await store.reserveRelayPort(amy({ port: 20001 })), true, 'the owner may move it');
      assert.equal((await store.relayAssignment('sh_amy'))?.port, 20001);
      assert.equal(await store.relayAssignmentAt(20000), undefined);
    });
  });

  test('release by share and by device', async () => {
    await withStore(async (store) => {
      await store.reserveRelayPort(amy());
      await store.reserveRelayPort(amy({ shareId: 'sh_amy2', port: 20001 }));
      await store.reserveRelayPort({
        ...amy({ shareId: 'sh_bob', port: 20002 }),
        userId: 'bob',
        deviceId: 'bob-laptop',
      });
      await store.releaseRelayPort('sh_amy2');
      assert.deepEqual((await store.relayAssignments()).map((a) => a.shareId).sort(), ['sh_amy', 'sh_bob']);
      await store.releaseRelayPortsOfDevice('amy-laptop');
      assert.deepEqual(
        (await store.relayAssignments()).map((a) => a.shareId),
        ['sh_bob'],
      );
    });
  });
});
