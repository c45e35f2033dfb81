// The hub's one database: numbered .sql migrations under the same rules as the agent's runner, a
// refusal of a database newer than the code, and the relay's port reservations and attempt counters
// as part of HubStore.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as agentRunner from '../../electron/agent/store/migrate';
import * as hubRunner from '../../server/store/migrate';
import { openPostgresStore } from '../../server/store/pg-store';
import { openSqliteStore } from '../../server/store/sqlite-store';
import type { HubStore, RateLimitRule } from '../../server/store/hub-store';
import { openTestStore, testStoreKind } from '../helpers/hub-test-store';
import { freshPostgresDatabase, hubDatabaseIsPostgres } from '../helpers/postgres-server';

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
describe('hub.db checkpoints', () => {
  const addUsers = async (store: HubStore, count: number) => {
    for (let i = 0; i < count; i++)
      await store.createUser({ id: `u${i}`, email: `u${i}@example.com`, passwordHash: 'hash' });
  };

  test("a thread of their own copies the WAL into hub.db; the hub's connection never does", async () => {
    const file = freshFile();
    const store = openSqliteStore(file, undefined, { intervalMs: 50 });
    try {
      const before = statSync(file).size;
      // About 600 WAL pages: below SQLite's own automatic checkpoint (1,000), so only the thread
      // can have moved them into hub.db.
      await addUsers(store, 200);
      const deadline = Date.now() + 5_000;
      while (statSync(file).size <= before && Date.now() < deadline) await sleep(50);
      assert.ok(statSync(file).size > before, 'the users reached hub.db itself');
      assert.ok((await store.checkpoints()) > 0, 'by the checkpoint thread');
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    assert.equal((db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n, 200);
    db.close();
  });

  test('without the thread (it cannot load SQLite) the store works as before and checkpoints itself', async () => {
    const file = freshFile();
    const reasons: string[] = [];
    const store = openSqliteStore(file, undefined, {
      intervalMs: 50,
      module: join(dir, 'no-such-module.js'),
      onFallback: (err) => reasons.push(err.message),
    });
    try {
      await addUsers(store, 20);
      assert.equal((await store.userById('u19'))?.email, 'u19@example.com');
      assert.equal(await store.checkpoints(), 0);
      assert.equal(reasons.length, 1, 'the hub is told once');
      assert.match(reasons[0], /no-such-module/);
    } finally {
      await store.close();
    }
  });
});

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

// Two stores on one database, as two hubs have: PostgreSQL (two connection pools) or one SQLite file
// opened twice.
describe(`attempt counters in the hub store (${testStoreKind()})`, () => {
  const twoStores = async (): Promise<[HubStore, HubStore]> => {
    if (hubDatabaseIsPostgres()) {
      const url = await freshPostgresDatabase();
      return [await openPostgresStore(url), await openPostgresStore(url)];
    }
    const file = freshFile();
    return [openSqliteStore(file), openSqliteStore(file)];
  };
  const window: RateLimitRule = { kind: 'window', name: 'w', max: 10, windowMs: 60_000 };
  const delay: RateLimitRule = {
    kind: 'delay',
    name: 'd',
    free: 3,
    baseMs: 1000,
    maxDelayMs: 4000,
    windowMs: 60_000,
  };

  test('40 attempts at once through two stores: exactly the allowed ones are counted', async () => {
    const [a, b] = await twoStores();
    try {
      for (const rule of [window, delay]) {
        const now = Date.now();
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).chargeRateLimit(rule, 'k', now)),
        );
        const counted = results.filter((r) => r === undefined).length;
        assert.equal(counted, rule.kind === 'window' ? 10 : 3, `${rule.kind}: ${counted} counted`);
        assert.equal((await b.rateLimit(rule.name, 'k'))?.attempts, counted, 'refusals count nothing');
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a window ends with its time; a delay grows from the latest attempt and stops at its cap', async () => {
    const [store, other] = await twoStores();
    try {
      const t = 1_000_000;
      for (let i = 0; i < 10; i++) assert.equal(await store.chargeRateLimit(window, 'k', t), undefined);
      assert.deepEqual(await other.chargeRateLimit(window, 'k', t + 59_999), {
        attempts: 10,
        lastMs: t,
        expiresMs: t + 60_000,
      });
      assert.equal(await other.chargeRateLimit(window, 'k', t + 60_000), undefined, 'a new window');
      assert.equal((await store.rateLimit('w', 'k'))?.attempts, 1);

      // Delay: 3 free, then 1 s, 2 s, 4 s, 4 s after the latest attempt.
      let now = t;
      for (let i = 0; i < 3; i++) assert.equal(await store.chargeRateLimit(delay, 'k', now), undefined);
      for (const wait of [1000, 2000, 4000, 4000]) {
        assert.ok(await store.chargeRateLimit(delay, 'k', now + wait - 1), `refused before ${wait} ms`);
        now += wait;
        assert.equal(await other.chargeRateLimit(delay, 'k', now), undefined, `let in after ${wait} ms`);
      }
      await store.failedRateLimit(delay, 'k', now + 500);
      assert.ok(await store.chargeRateLimit(delay, 'k', now + 4000), 'the wait counts from the failure');
      await store.refundRateLimit('d', 'k');
      assert.equal((await store.rateLimit('d', 'k'))?.attempts, 6);
      await store.clearRateLimit('d', 'k');
      assert.equal(await store.rateLimit('d', 'k'), undefined);
      assert.equal(await store.chargeRateLimit(delay, 'k', now), undefined);
    } finally {
      await store.close();
      await other.close();
    }
  });
});
