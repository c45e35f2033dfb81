// Restarting the agent keeps workloads and credentials; changes made with the docker CLI behind
// Lattice's back show up within seconds; containers without our labels are never touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type Docker from 'dockerode';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Agent } from '../../electron/agent/agent';
import { DB_FILE } from '../../electron/agent/create-agent';
import type { AgentEvent, Workload } from '../../shared';
import { FIXTURE_IMAGES, TEST_LABEL, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { startTestAgent, type TestAgent } from '../helpers/agent';

const local = { door: 'local' as const };
let docker: Docker;
let t: TestAgent;
const strangers: Docker.Container[] = [];

before(async () => {
  docker = await requireFixtureImages('postgres', 'nginx');
  t = await startTestAgent();
});
after(async () => {
  await Promise.all(strangers.map((c) => c.remove({ force: true }).catch(() => undefined)));
  await t?.cleanup();
});

/** A container the agent did not create: no Lattice labels (only the test label, for the sweep). */
async function stranger(name: string, labels: Record<string, string> = {}): Promise<Docker.Container> {
  const c = await docker.createContainer({
    name,
    Image: FIXTURE_IMAGES.nginx,
    Cmd: ['sleep', '600'],
    Labels: { [TEST_LABEL]: '1', ...labels },
  });
  strangers.push(c);
  await c.start();
  return c;
}

async function login(w: Workload): Promise<void> {
  const client = new pg.Client({ connectionString: w.connectionString });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
}

const status = async (agent: Agent, name: string) =>
  (await agent.dispatch('workload.list', {}, local)).find((w) => w.name === name)?.status;

describe('agent restart', () => {
  let first: Workload;
  let second: Agent;

  it('a new agent on the same data dir has the same workloads, owner and credentials', async () => {
    first = await t.agent.dispatch('workload.deploy', { template: 'postgres', name: 'rs-pg' }, local);
    const ownerId = t.agent.ownerId;
    await t.agent.close();
    second = await t.reopen();
    assert.equal(second.ownerId, ownerId);
    const again = await second.dispatch('workload.get', { ref: 'rs-pg' }, local);
    assert.equal(again.id, first.id);
    assert.equal(again.password, first.password);
    assert.equal(again.connectionString, first.connectionString);
    assert.equal(again.status, 'running');
    await login(again);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.workload=${first.id}`] },
    });
    assert.equal(containers.length, 1, 'no duplicate container after a restart');
  });

  it('an unlabelled container with a similar name is left alone', async () => {
    const similar = await stranger('lattice-rs-pg-copy');
    const before = await similar.inspect();
    await second.dispatch('workload.list', {}, local);
    await second.dispatch('workload.stop', { ref: 'rs-pg' }, local);
    await second.dispatch('workload.start', { ref: 'rs-pg' }, local);
    const afterInfo = await similar.inspect();
    assert.equal(afterInfo.State.Running, true);
    assert.equal(afterInfo.State.StartedAt, before.State.StartedAt);
  });

  it('an out-of-band docker stop shows up as exited (from the event stream and in the list)', async () => {
    const seen: AgentEvent[] = [];
    const off = second.onEvent((e) => seen.push(e));
    await docker.getContainer('lattice-rs-pg').stop({ t: 2 });
    await waitFor('workload.changed exited event', () =>
      seen.some(
        (e) => e.type === 'workload.changed' && e.workload.name === 'rs-pg' && e.workload.status === 'exited',
      ),
    );
    off();
    assert.equal(await status(second, 'rs-pg'), 'exited');
  });

  it('an out-of-band docker rm shows up as missing; start recreates it with its data', async () => {
    await second.dispatch('workload.start', { ref: 'rs-pg' }, local);
    await waitFor('postgres up for writing', async () => {
      const client = new pg.Client({ connectionString: first.connectionString });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query('CREATE TABLE IF NOT EXISTS kept (body text)');
        await client.query(
          `INSERT INTO kept SELECT 'survives docker rm' WHERE NOT EXISTS (SELECT 1 FROM kept)`,
        );
      } finally {
        await client.end();
      }
      return true;
    });
    const seen: AgentEvent[] = [];
    const off = second.onEvent((e) => seen.push(e));
    await docker.getContainer('lattice-rs-pg').remove({ force: true });
    await waitFor('workload.changed missing event', () =>
      seen.some(
        (e) =>
          e.type === 'workload.changed' && e.workload.name === 'rs-pg' && e.workload.status === 'missing',
      ),
    );
    off();
    assert.equal(await status(second, 'rs-pg'), 'missing');

    // Starting a missing workload recreates its container from the stored spec: same credentials,
    // same port, and the data volume that survived the `docker rm`.
    const back = await second.dispatch('workload.start', { ref: 'rs-pg' }, local);
    assert.equal(back.status, 'running');
    assert.equal(back.connectionString, first.connectionString);
    const rows = await waitFor('postgres answers after recreate', async () => {
      const client = new pg.Client({ connectionString: back.connectionString });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query('SELECT body FROM kept')).rows;
      } finally {
        await client.end();
      }
    });
    assert.deepEqual(rows, [{ body: 'survives docker rm' }]);
  });

  it('a stranger holding the exact container name is never touched', async () => {
    await docker.getContainer('lattice-rs-pg').remove({ force: true });
    await waitFor('missing again', async () => (await status(second, 'rs-pg')) === 'missing');
    const squatter = await stranger('lattice-rs-pg');
    const before = await squatter.inspect();
    await assert.rejects(
      second.dispatch('workload.start', { ref: 'rs-pg' }, local),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'conflict');
        assert.match(err.message, /lattice-rs-pg/);
        return true;
      },
    );
    await assert.rejects(second.dispatch('workload.stop', { ref: 'rs-pg' }, local), { code: 'not_found' });
    await second.dispatch('workload.delete', { ref: 'rs-pg', volumes: true }, local);
    const afterInfo = await squatter.inspect();
    assert.equal(afterInfo.State.Running, true);
    assert.equal(afterInfo.State.StartedAt, before.State.StartedAt);
    assert.equal((await docker.listVolumes({ filters: { name: ['lattice-rs-pg-data'] } })).Volumes.length, 0);
  });

  it('a container with our owner label but no row is reported as an orphan and kept', async () => {
    const orphan = await stranger('lattice-orphan-test', {
      'lattice.owner': second.ownerId,
      'lattice.workload': 'no-such-workload',
    });
    const handMade = await stranger('lattice-orphan-handmade', { 'lattice.owner': second.ownerId });
    await second.close();
    const third = await t.reopen();
    const db = new Database(join(t.dataDir, DB_FILE), { readonly: true });
    try {
      const rows = db.prepare('SELECT container_id, workload FROM orphans ORDER BY name DESC').all() as {
        container_id: string;
        workload: string | null;
      }[];
      assert.deepEqual(rows, [
        { container_id: orphan.id, workload: 'no-such-workload' },
        { container_id: handMade.id, workload: null },
      ]);
    } finally {
      db.close();
    }
    assert.equal((await orphan.inspect()).State.Running, true);
    assert.equal((await handMade.inspect()).State.Running, true);
    assert.equal((await third.dispatch('workload.list', {}, local)).length, 0);
  });
});
