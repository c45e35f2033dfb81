// The ngrok provider where there is no network (these machines): without a token it says to set one,
// with one it fails within seconds; either way the CLI prints one line and exits non-zero, the API
// answers share_failed, the workload keeps running, and no share row or database role is left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LatticeError } from '../../shared';
import { startLocalApi, type LocalApi } from '../../electron/agent/local-api';
import { DB_FILE } from '../../electron/agent/create-agent';
import { requireFixtureImages } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';
import { lattice } from '../helpers/agent-process';
import { pgConnect } from './share-support';

const WORKLOAD = 'share-ngrok-pg';

describe('sharing via ngrok without a network', () => {
  let t: TestAgent;
  let api: LocalApi;
  let ownerUrl: string;

  before(async () => {
    await requireFixtureImages('postgres');
    t = await startTestAgent({ sharing: { ngrokTimeoutMs: 10_000 } });
    api = await startLocalApi(t.agent, { port: 0 });
    const w = await t.agent.dispatch(
      'workload.deploy',
      { template: 'postgres', name: WORKLOAD },
      { door: 'local' },
    );
    ownerUrl = w.connectionString!;
  });
  after(async () => {
    await api?.close();
    await t?.cleanup();
  });

  async function assertNothingLeft() {
    const w = await t.agent.dispatch('workload.get', { ref: WORKLOAD }, { door: 'local' });
    assert.equal(w.status, 'running', 'the workload keeps running');
    assert.deepEqual(await t.agent.dispatch('share.list', {}, { door: 'local' }), []);
    const db = new Database(join(t.dataDir, DB_FILE), { readonly: true });
    try {
      assert.equal(
        (db.prepare('SELECT count(*) AS n FROM shares').get() as { n: number }).n,
        0,
        'no share row',
      );
    } finally {
      db.close();
    }
    const c = await pgConnect(ownerUrl);
    try {
      const { rows } = await c.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'lattice\\_sh\\_%'");
      assert.deepEqual(rows, [], 'no share role');
    } finally {
      await c.end();
    }
  }

  test('without a token: "set your ngrok authtoken", from the API and the CLI', async () => {
    await assert.rejects(
      t.agent.dispatch('share.create', { workload: WORKLOAD, via: 'ngrok' }, { door: 'local' }),
      (err: LatticeError) =>
        err.code === 'share_failed' && /Set your ngrok authtoken in Settings/.test(err.message),
    );
    const cli = await lattice(['share', WORKLOAD, '--via', 'ngrok', '--data-dir', t.dataDir]);
    assert.equal(cli.code, 1);
    assert.equal(cli.stdout, '');
    assert.match(cli.stderr, /^error: Set your ngrok authtoken in Settings[^\n]*\n$/);
    await assertNothingLeft();
  });

  test('with a token but no network: a clear share_failed within seconds, nothing half-made', async () => {
    await t.agent.dispatch(
      'settings.set',
      { ngrokAuthtoken: '2fakeTokenForTests_abcdefghijklmnop' },
      { door: 'local' },
    );
    await assert.rejects(
      t.agent.dispatch(
        'share.create',
        { workload: WORKLOAD, via: 'ngrok', expires: '1h' },
        { door: 'local' },
      ),
      (err: LatticeError) =>
        err.code === 'share_failed' && /^ngrok could not open the tunnel: .+/.test(err.message),
    );
    const cli = await lattice(['share', WORKLOAD, '--via', 'ngrok', '--json', '--data-dir', t.dataDir]);
    assert.equal(cli.code, 1);
    assert.equal(cli.stdout, '');
    assert.match(cli.stderr, /^error: ngrok could not open the tunnel: [^\n]+\n$/);
    await assertNothingLeft();
  });

  test('the CLI refuses an unknown provider or expiry in one line', async () => {
    const via = await lattice(['share', WORKLOAD, '--via', 'carrier-pigeon', '--data-dir', t.dataDir]);
    assert.equal(via.code, 1);
    assert.match(
      via.stderr,
      /^error: option '--via <provider>' argument 'carrier-pigeon' is invalid[^\n]*relay, ngrok[^\n]*\n$/,
    );
    const expires = await lattice(['share', WORKLOAD, '--expires', '2y', '--data-dir', t.dataDir]);
    assert.equal(expires.code, 1);
    assert.match(expires.stderr, /--expires <when>.*'2y' is invalid/);
    const list = await lattice(['shares', '--json', '--data-dir', t.dataDir]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), []);
  });
});
