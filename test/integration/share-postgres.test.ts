// "Share this database" end to end: a real hub with the relay, a real agent paired with it, a real
// fixture Postgres, and clients we did not write (psql, pgbench, pg) connecting to the hub's public
// port with the share's connection string.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { postgresUrl, type Share } from '../../shared';
import { DB_FILE } from '../../electron/agent/create-agent';
import { createShareRole } from '../../electron/agent/shares/postgres-share-role';
import { requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import {
  openPsql,
  pgConnect,
  portAnswers,
  run,
  sessionIsCut,
  startShareStack,
  type ShareStack,
} from './share-support';

const PSQL = '/usr/bin/psql';
const PGBENCH = '/usr/bin/pgbench';
const WORKLOAD = 'share-pg';

describe('sharing Postgres through the hub relay', () => {
  let stack: ShareStack;
  let owner: { connectionString: string };

  before(async () => {
    await requireFixtureImages('postgres');
    stack = await startShareStack({ relaySpan: 6 });
    const w = await stack.run('workload.deploy', { template: 'postgres', name: WORKLOAD });
    assert.equal(w.status, 'running');
    owner = { connectionString: w.connectionString! };
  });
  after(async () => {
    await stack?.cleanup();
  });

  const ownerQuery = async (sql: string, params: unknown[] = []) => {
    const c = await pgConnect(owner.connectionString);
    try {
      return (await c.query(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  const share = (args: Record<string, unknown> = {}) =>
    stack.run('share.create', { workload: WORKLOAD, via: 'relay', expires: '1h', ...args });

  test('psql and pg write and read through the share; pgbench runs without errors', async () => {
    const s = await share();
    assert.equal(s.via, 'relay');
    assert.equal(s.kind, 'postgres');
    assert.equal(s.status, 'active');
    assert.ok(
      s.publicPort! >= stack.relayPorts.from && s.publicPort! <= stack.relayPorts.to,
      'a port of the range',
    );
    assert.equal(s.url, `tcp://127.0.0.1:${s.publicPort}`);
    assert.ok(s.expiresAt && Date.parse(s.expiresAt) > Date.now() + 3_500_000);
    const cs = new URL(s.connectionString!);
    assert.equal(cs.hostname, '127.0.0.1');
    assert.equal(Number(cs.port), s.publicPort);
    assert.equal(
      cs.searchParams.get('sslmode'),
      'require',
      'the agent gave the database TLS; the string asks for it',
    );
    assert.notEqual(
      decodeURIComponent(cs.username),
      new URL(owner.connectionString).username,
      'not the owner',
    );
    assert.ok(decodeURIComponent(cs.password).length >= 32);

    const psql = await run(PSQL, ['-X', '-v', 'ON_ERROR_STOP=1', '-At', s.connectionString!], {
      input:
        'CREATE TABLE visitors (id serial PRIMARY KEY, who text);\n' +
        "INSERT INTO visitors (who) VALUES ('psql-1'), ('psql-2');\n" +
        'SELECT who FROM visitors ORDER BY id;\n',
    });
    assert.equal(psql.code, 0, psql.stderr);
    assert.match(psql.stdout, /psql-1\npsql-2/);
    const ssl = await run(PSQL, [
      '-X',
      '-qAt',
      s.connectionString!,
      '-c',
      'set role none', // the share group may not read its login role's pg_stat_ssl row
      '-c',
      'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
    ]);
    assert.equal(
      ssl.stdout.trim(),
      't',
      `psql's session through the relay is TLS to the container: ${ssl.stderr}`,
    );

    const client = await pgConnect(s.connectionString!);
    try {
      await client.query('INSERT INTO visitors (who) VALUES ($1), ($2)', ['pg-1', 'pg-2']);
      const { rows } = await client.query('SELECT who FROM visitors ORDER BY id');
      assert.deepEqual(
        rows.map((r) => r.who),
        ['psql-1', 'psql-2', 'pg-1', 'pg-2'],
      );
    } finally {
      await client.end();
    }
    // The owner sees what the visitor wrote: it is the owner's database.
    assert.equal((await ownerQuery('SELECT count(*)::int AS n FROM visitors'))[0].n, 4);

    const init = await run(PGBENCH, ['-i', '-s', '1', s.connectionString!], { timeoutMs: 120_000 });
    assert.equal(init.code, 0, init.stderr);
    const bench = await run(PGBENCH, ['-T', '10', '-c', '4', '-j', '2', s.connectionString!], {
      timeoutMs: 120_000,
    });
    assert.equal(bench.code, 0, bench.stderr);
    const processed = /number of transactions actually processed: (\d+)/.exec(bench.stdout);
    assert.ok(processed && Number(processed[1]) > 0, bench.stdout);
    assert.match(bench.stdout, /number of failed transactions: 0 /);
    assert.doesNotMatch(bench.stderr, /error|FATAL/i);

    const listed = await stack.run('share.list', {});
    assert.ok(listed.some((x) => x.id === s.id && x.connectionString === s.connectionString));
    assert.ok(stack.events.some((e) => e.type === 'share.changed' && e.share.id === s.id));
    await stack.run('share.revoke', { ref: s.id });
  });

  test('unshare cuts open psql and pg sessions and refuses new logins', async () => {
    const s = await share();
    const roleName = s.username!;
    const session = await pgConnect(s.connectionString!);
    assert.equal((await session.query('SELECT 1 AS one')).rows[0].one, 1);
    const psql = openPsql(s.connectionString!);
    psql.child.stdin!.write('SELECT 4242 AS marker;\n');
    await waitFor('psql to be logged in', () => psql.output().includes('4242'), 15_000);

    const { revoked } = await stack.run('share.revoke', { ref: WORKLOAD });
    assert.deepEqual(revoked, [s.id]);
    await waitFor('the pg session to be cut', () => sessionIsCut(session), 2_000, 50);
    // psql only notices a dead connection when it next talks to the server: ask it something.
    psql.child.stdin!.write('SELECT 4343 AS after_revoke;\n');
    const code = await Promise.race([
      psql.exited,
      new Promise((r) => setTimeout(() => r('still running'), 2_000)),
    ]);
    assert.equal(code, 2, `psql exits with "connection lost" (2):\n${psql.output()}`);
    assert.doesNotMatch(psql.output(), /4343/);
    assert.match(
      psql.output(),
      /server closed the connection|connection to server was lost|no connection to the server/,
    );

    assert.equal(await portAnswers(s.publicPort!), false, 'the public port is closed');
    await assert.rejects(pgConnect(s.connectionString!));
    // And the role is gone, so even the local port refuses it.
    const local = new URL(owner.connectionString);
    await assert.rejects(
      pgConnect(
        postgresUrl(
          { username: roleName, password: s.password, database: local.pathname.slice(1) },
          local.hostname,
          Number(local.port),
        ),
      ),
      /password authentication failed/,
    );
    assert.deepEqual(await ownerQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [roleName]), []);
    assert.equal(
      (await stack.run('share.list', {})).some((x) => x.id === s.id),
      false,
    );
    assert.ok(stack.events.some((e) => e.type === 'share.removed' && e.id === s.id));
  });

  test('an expired share behaves like a revoked one', async () => {
    stack.shareOptions.expiresInMs = 4_000;
    let s: Share;
    try {
      s = await share({ expires: '7d' });
    } finally {
      delete stack.shareOptions.expiresInMs;
    }
    assert.ok(Date.parse(s.expiresAt!) <= Date.now() + 4_000);
    const session = await pgConnect(s.connectionString!);
    assert.equal((await session.query('SELECT 2 AS two')).rows[0].two, 2);
    await waitFor(
      'the share to expire',
      () => stack.events.some((e) => e.type === 'share.removed' && e.id === s.id),
      15_000,
    );
    await waitFor('the session to be cut', () => sessionIsCut(session), 2_000, 50);
    await assert.rejects(pgConnect(s.connectionString!));
    assert.deepEqual(await ownerQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [s.username]), []);
    assert.equal(
      (await stack.run('share.list', {})).some((x) => x.id === s.id),
      false,
    );
  });

  test('a read-only share reads but cannot INSERT', async () => {
    await ownerQuery(
      "CREATE TABLE IF NOT EXISTS notes (body text); INSERT INTO notes VALUES ('owner wrote this')",
    );
    const s = await share({ readOnly: true });
    assert.equal(s.readOnly, true);
    const c = await pgConnect(s.connectionString!);
    try {
      assert.deepEqual((await c.query('SELECT body FROM notes')).rows, [{ body: 'owner wrote this' }]);
      await assert.rejects(
        c.query("INSERT INTO notes VALUES ('visitor')"),
        /read-only transaction|permission denied/,
      );
    } finally {
      await c.end();
    }
    const psql = await run(PSQL, ['-X', '-v', 'ON_ERROR_STOP=1', s.connectionString!], {
      input: "BEGIN READ WRITE; INSERT INTO notes VALUES ('visitor');\n",
    });
    assert.notEqual(psql.code, 0);
    assert.match(psql.stderr, /permission denied for table notes/);
    assert.equal((await ownerQuery('SELECT count(*)::int AS n FROM notes'))[0].n, 1);
    await stack.run('share.revoke', { ref: s.id });
  });

  test('a share left half-made by a crash is cleaned up when shares re-open', async () => {
    // What a kill -9 between CREATE ROLE and the row update leaves: an `opening` row and a live role.
    const w = await stack.run('workload.get', { ref: WORKLOAD });
    const cs = new URL(owner.connectionString);
    const role = await createShareRole(
      {
        host: cs.hostname,
        port: Number(cs.port),
        user: decodeURIComponent(cs.username),
        password: decodeURIComponent(cs.password),
        database: cs.pathname.slice(1),
      },
      { shareId: 'sh_crashed', readOnly: false, validUntil: null },
    );
    const db = new Database(join(stack.testAgent.dataDir, DB_FILE));
    try {
      db.prepare(
        `INSERT INTO shares (id, workload_id, workload_name, via, kind, status, container_port, role_name, created_at)
         VALUES ('sh_crashed', ?, ?, 'relay', 'postgres', 'opening', 5432, ?, ?)`,
      ).run(w.id, w.name, role.name, new Date().toISOString());
    } finally {
      db.close();
    }
    assert.equal((await stack.run('share.list', {})).length, 0, 'a half-made share is never listed');
    await stack.agent.wake();
    await waitFor(
      'the leftover role to be dropped',
      async () => (await ownerQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.name])).length === 0,
      10_000,
    );
    const check = new Database(join(stack.testAgent.dataDir, DB_FILE), { readonly: true });
    try {
      assert.equal(
        check.prepare("SELECT count(*) AS n FROM shares WHERE id = 'sh_crashed'").pluck().get(),
        0,
      );
    } finally {
      check.close();
    }
  });

  test('bad requests are refused clearly and leave nothing behind', async () => {
    await assert.rejects(share({ basicAuth: true }), /Basic auth applies to HTTP shares only/);
    await assert.rejects(share({ port: '9999' }), /has no port "9999"/);
    await assert.rejects(stack.run('share.revoke', { ref: 'no-such-thing' }), /No share or workload/);
    assert.deepEqual(await stack.run('share.list', {}), []);
  });
});
