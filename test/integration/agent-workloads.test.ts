// Deploy → use with a real client → stop/start keeps data → delete removes container and volume.
// Postgres (pg), MinIO (AWS SDK v3), and a custom nginx image, all through the agent's dispatcher.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type Docker from 'dockerode';
import pg from 'pg';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { AgentEvent, Workload } from '../../shared';
import { FIXTURE_IMAGES, TEST_LABEL, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { startTestAgent, type TestAgent } from '../helpers/agent';

const local = { door: 'local' as const };
let docker: Docker;
let t: TestAgent;
const events: AgentEvent[] = [];

before(async () => {
  docker = await requireFixtureImages('postgres', 'minio', 'nginx');
  t = await startTestAgent();
  t.agent.onEvent((e) => events.push(e));
});
after(async () => {
  await t?.cleanup();
});

async function gone(kind: 'container' | 'volume', name: string): Promise<boolean> {
  try {
    await (kind === 'container' ? docker.getContainer(name).inspect() : docker.getVolume(name).inspect());
    return false;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404;
  }
}

async function checkContainer(w: Workload): Promise<void> {
  const info = await docker.getContainer(`lattice-${w.name}`).inspect();
  const labels = info.Config.Labels;
  assert.equal(labels['lattice.workload'], w.id);
  assert.equal(labels['lattice.owner'], t.agent.ownerId);
  assert.equal(labels['lattice.name'], w.name);
  assert.equal(labels['lattice.template'], w.template);
  assert.ok(labels['lattice.op']);
  assert.equal(labels[TEST_LABEL], '1');
  assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges:true']);
  assert.equal(info.HostConfig.Privileged, false);
  for (const bindings of Object.values(info.HostConfig.PortBindings ?? {}) as { HostIp: string }[][]) {
    for (const b of bindings) assert.equal(b.HostIp, '127.0.0.1');
  }
  for (const p of w.ports) assert.equal(p.hostIp, '127.0.0.1');
  for (const v of w.volumes.filter((x) => x.kind === 'volume')) {
    const vol = await docker.getVolume(v.source).inspect();
    assert.equal(vol.Labels?.['lattice.workload'], w.id);
    assert.equal(vol.Labels?.[TEST_LABEL], '1');
  }
}

async function pgQuery<T>(connectionString: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('postgres workload', () => {
  it('deploys with generated credentials, keeps data across stop/start, and deletes with its volume', async () => {
    const w = await t.agent.dispatch('workload.deploy', { template: 'postgres', name: 'wl-pg' }, local);
    assert.equal(w.status, 'running');
    assert.equal(w.image, FIXTURE_IMAGES.postgres);
    assert.match(w.username!, /^u_[0-9a-f]{10}$/);
    assert.match(w.database!, /^db_[0-9a-f]{8}$/);
    assert.ok(Buffer.from(w.password!, 'base64url').length >= 16, 'password carries at least 128 bits');
    assert.notEqual(w.username, 'postgres');
    assert.ok(w.connectionString!.startsWith('postgres://'));
    await checkContainer(w);
    assert.ok(
      events.some((e) => e.type === 'pull.progress' && e.workloadId === w.id && e.phase === 'cached'),
    );
    assert.ok(
      events.some(
        (e) => e.type === 'workload.changed' && e.workload.id === w.id && e.workload.status === 'running',
      ),
    );

    await pgQuery(w.connectionString!, 'CREATE TABLE notes (body text)');
    await pgQuery(w.connectionString!, 'INSERT INTO notes VALUES ($1)', ['kept across restarts']);
    // A wrong password is refused: the credentials are really enforced.
    await assert.rejects(pgQuery(w.connectionString!.replace(w.password!, 'wrong'), 'SELECT 1'));

    const stopped = await t.agent.dispatch('workload.stop', { ref: 'wl-pg' }, local);
    assert.equal(stopped.status, 'stopped');
    assert.equal((await docker.getContainer('lattice-wl-pg').inspect()).State.Running, false);
    const started = await t.agent.dispatch('workload.start', { ref: w.id }, local);
    assert.equal(started.status, 'running');
    assert.deepEqual(started.ports, w.ports, 'host ports are stable across stop/start');
    // "running" after a start means the database takes logins: no waiting or retrying here.
    const rows = await pgQuery<{ body: string }>(w.connectionString!, 'SELECT body FROM notes');
    assert.deepEqual(rows, [{ body: 'kept across restarts' }]);
    // As a relayed dashboard command does it.
    const restarted = await t.agent.dispatch(
      'workload.restart',
      { ref: 'wl-pg' },
      {
        door: 'remote',
        user: { id: 'u1', email: 'owner@example.com' },
      },
    );
    assert.equal(restarted.status, 'running');
    assert.deepEqual(
      await pgQuery(w.connectionString!, 'SELECT 1 AS one'),
      [{ one: 1 }],
      'a login right after restart',
    );

    const logs = await t.agent.dispatch('workload.logs', { ref: 'wl-pg', tail: 50 }, local);
    assert.ok(logs.lines.length > 0 && logs.lines.some((l) => /ready to accept connections/.test(l.text)));
    const followed: string[] = [];
    const stopFollowing = await t.agent.followLogs('wl-pg', 5, (l) => followed.push(l.text));
    await waitFor('followed log lines', () => followed.length > 0);
    stopFollowing();
    const stats = await t.agent.dispatch('workload.stats', { ref: 'wl-pg' }, local);
    assert.equal(stats.id, w.id);
    assert.ok(stats.memoryBytes > 0);

    const volume = w.volumes[0].source;
    assert.equal(volume, 'lattice-wl-pg-data');
    const del = await t.agent.dispatch('workload.delete', { ref: 'wl-pg', volumes: true }, local);
    assert.deepEqual(del, { id: w.id, volumesRemoved: true });
    assert.ok(await gone('container', 'lattice-wl-pg'));
    assert.ok(await gone('volume', volume));
    await assert.rejects(t.agent.dispatch('workload.get', { ref: 'wl-pg' }, local), { code: 'not_found' });
  });
});

describe('minio workload', () => {
  it('serves S3 with the generated keys, keeps objects across stop/start, and deletes cleanly', async () => {
    const w = await t.agent.dispatch('workload.deploy', { template: 'minio', name: 'wl-minio' }, local);
    assert.equal(w.status, 'running');
    assert.ok(w.accessKey && w.accessKey.length >= 16 && w.accessKey !== 'minioadmin');
    assert.ok(Buffer.from(w.secretKey!, 'base64url').length >= 16);
    await checkContainer(w);
    const s3 = () =>
      new S3Client({
        endpoint: w.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: w.accessKey!, secretAccessKey: w.secretKey! },
      });
    const body = randomBytes(4096);
    let client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'lattice-test' }));
    await client.send(new PutObjectCommand({ Bucket: 'lattice-test', Key: 'blob.bin', Body: body }));
    const got = await client.send(new GetObjectCommand({ Bucket: 'lattice-test', Key: 'blob.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    client.destroy();

    await t.agent.dispatch('workload.stop', { ref: 'wl-minio' }, local);
    await t.agent.dispatch('workload.start', { ref: 'wl-minio' }, local);
    client = s3();
    const again = await waitFor('minio back after start', () =>
      client.send(new GetObjectCommand({ Bucket: 'lattice-test', Key: 'blob.bin' })),
    );
    assert.deepEqual(Buffer.from(await again.Body!.transformToByteArray()), body);
    client.destroy();

    await t.agent.dispatch('workload.delete', { ref: 'wl-minio', volumes: true }, local);
    assert.ok(await gone('container', 'lattice-wl-minio'));
    assert.ok(await gone('volume', 'lattice-wl-minio-data'));
  });
});

describe('custom workload', () => {
  it('publishes the requested port on 127.0.0.1 and answers HTTP', async () => {
    // A host folder the owner picked in the app may be bind-mounted from this computer.
    const site = mkdtempSync(join(tmpdir(), 'lattice-site-'));
    after(() => rmSync(site, { recursive: true, force: true }));
    await t.agent.dispatch('settings.set', { allowedBindRoots: [site] }, local);
    const w = await t.agent.dispatch(
      'workload.deploy',
      {
        template: 'custom',
        name: 'wl-web',
        image: FIXTURE_IMAGES.nginx,
        ports: [{ container: 80 }],
        memory: '256m',
        cpus: 0.5,
        volumes: [
          { source: 'cache', target: '/var/cache/lattice' },
          { source: site, target: '/srv/site', readOnly: true },
        ],
      },
      local,
    );
    assert.equal(w.status, 'running');
    assert.equal(w.ports.length, 1);
    assert.equal(w.url, `http://127.0.0.1:${w.ports[0].host}`);
    await checkContainer(w);
    const info = await docker.getContainer('lattice-wl-web').inspect();
    assert.equal(info.HostConfig.Memory, 256 * 1024 ** 2);
    assert.equal(info.HostConfig.NanoCpus, 0.5e9);
    const bind = info.Mounts.find((m) => m.Destination === '/srv/site');
    assert.equal(bind?.Type, 'bind');
    assert.equal(bind?.Source, realpathSync(site));
    assert.equal(bind?.RW, false);
    const res = await waitFor('nginx answers', async () => {
      const r = await fetch(w.url!);
      return r.ok ? r : undefined;
    });
    assert.match(await res.text(), /nginx/i);

    const restarted = await t.agent.dispatch('workload.restart', { ref: 'wl-web' }, local);
    assert.equal(restarted.status, 'running');
    await waitFor('nginx answers after restart', async () => (await fetch(w.url!)).ok);

    await t.agent.dispatch('workload.delete', { ref: 'wl-web', volumes: true }, local);
    assert.ok(await gone('container', 'lattice-wl-web'));
    assert.ok(await gone('volume', 'lattice-wl-web-cache'));
  });
});

describe('images that are not here', () => {
  it('fail fast with pull_failed or image_not_found, leave a failed row and create nothing', async () => {
    await assert.rejects(
      t.agent.dispatch(
        'workload.deploy',
        { template: 'custom', name: 'wl-nope', image: 'lattice-fixture/nope:1' },
        local,
      ),
      (err: Error & { code?: string }) => {
        assert.ok(err.code === 'pull_failed' || err.code === 'image_not_found', err.code);
        assert.match(err.message, /lattice-fixture\/nope:1/);
        return true;
      },
    );
    const w = await t.agent.dispatch('workload.get', { ref: 'wl-nope' }, local);
    assert.equal(w.status, 'failed');
    assert.match(w.message!, /nope/);
    assert.ok(await gone('container', 'lattice-wl-nope'));
    await t.agent.dispatch('workload.delete', { ref: 'wl-nope' }, local);
  });
});

describe('remote door', () => {
  it('a repeated command id deploys once and returns the first result, even while the first runs', async () => {
    const ctx = {
      door: 'remote' as const,
      user: { id: 'u1', email: 'owner@example.com' },
      commandId: `cmd-${randomBytes(4).toString('hex')}`,
    };
    const [a, b] = await Promise.all([
      t.agent.dispatch('workload.deploy', { template: 'postgres', name: 'wl-idem' }, ctx),
      t.agent.dispatch('workload.deploy', { template: 'postgres', name: 'wl-idem' }, ctx),
    ]);
    assert.equal(a.id, b.id);
    const c = await t.agent.dispatch('workload.deploy', { template: 'postgres', name: 'wl-idem' }, ctx);
    assert.deepEqual(c, a);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.workload=${a.id}`] },
    });
    assert.equal(containers.length, 1);
    const list = await t.agent.dispatch('workload.list', {}, local);
    assert.equal(list.filter((w) => w.name === 'wl-idem').length, 1);
    await t.agent.dispatch('workload.delete', { ref: 'wl-idem', volumes: true }, local);
  });

  it('an image outside the catalog waits for approval with nothing pulled or created, then deploys', async () => {
    const remote = { door: 'remote' as const, user: { id: 'u1', email: 'owner@example.com' } };
    const w = await t.agent.dispatch(
      'workload.deploy',
      { template: 'custom', name: 'wl-approve', image: FIXTURE_IMAGES.nginx, ports: [{ container: 80 }] },
      remote,
    );
    assert.equal(w.status, 'pending_approval');
    assert.match(w.message!, /approve/);
    assert.ok(await gone('container', 'lattice-wl-approve'));
    await assert.rejects(t.agent.dispatch('workload.approve', { ref: 'wl-approve' }, remote), {
      code: 'forbidden',
    });
    const approved = await t.agent.dispatch('workload.approve', { ref: 'wl-approve' }, local);
    assert.equal(approved.status, 'running');
    assert.equal(approved.origin, 'remote');
    await waitFor('approved nginx answers', async () => (await fetch(approved.url!)).ok);
    await t.agent.dispatch('workload.delete', { ref: 'wl-approve' }, local);
  });
});
