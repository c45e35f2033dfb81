// The `lattice` CLI end to end: a real `lattice agent` process, real CLI child processes, the real Docker
// Engine, and clients we did not write (pg, HTTP) talking to what was deployed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import pg from 'pg';
import type { Workload, WorkloadStats } from '../../shared';
import { FIXTURE_IMAGES, removeLabelled, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import {
  lattice,
  latticeJson,
  runLabels,
  startAgentProcess,
  type AgentProcess,
} from '../helpers/agent-process';

const root = new URL('../..', import.meta.url).pathname;

async function pgLogin(connectionString: string): Promise<number> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT 1 + 1 AS two');
    return rows[0].two as number;
  } finally {
    await client.end();
  }
}

describe('lattice CLI against a real agent', () => {
  let docker: Docker;
  let dataDir: string;
  let agent: AgentProcess | undefined;
  const { env, runLabel } = runLabels();
  const suffix = randomBytes(3).toString('hex');
  const pgName = `pg-${suffix}`;
  const webName = `web-${suffix}`;
  let db: Workload;
  let web: Workload;
  const dd = () => ['--data-dir', dataDir];
  const cli = (...args: string[]) => lattice([...args, ...dd()]);
  const json = <T>(...args: string[]) => latticeJson<T>([...args, ...dd()]);
  const ours = async () => docker.listContainers({ all: true, filters: { label: [runLabel] } });

  before(async () => {
    docker = await requireFixtureImages('postgres', 'nginx');
    dataDir = mkdtempSync(join(tmpdir(), 'lattice-cli-it-'));
    agent = await startAgentProcess(dataDir, env);
  });

  after(async () => {
    await agent?.stop('SIGKILL');
    await removeLabelled(runLabel);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('deploy postgres --json gives a connection string pg can log in with', async () => {
    db = await json<Workload>('deploy', 'postgres', '--name', pgName);
    assert.equal(db.name, pgName);
    assert.equal(db.template, 'postgres');
    assert.equal(db.status, 'running');
    assert.equal(db.image, FIXTURE_IMAGES.postgres);
    assert.ok(db.connectionString, 'no connection string');
    assert.equal(db.ports[0].hostIp, '127.0.0.1');
    assert.equal(await pgLogin(db.connectionString!), 2);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.workload=${db.id}`] },
    });
    assert.equal(containers.length, 1);
  });

  test('ls --json lists it with the same shape and credentials', async () => {
    const list = await json<Workload[]>('ls');
    const mine = list.find((w) => w.id === db.id);
    assert.ok(mine, 'deployed workload missing from ls');
    assert.equal(mine.connectionString, db.connectionString);
    assert.equal(mine.status, 'running');
    const table = await cli('ls');
    assert.match(table.stdout, new RegExp(`${pgName}\\s+postgres\\s+running`));
  });

  test('stop, then start: the container stops, then answers a login again', async () => {
    const stopped = await json<Workload>('stop', pgName);
    assert.equal(stopped.status, 'stopped');
    const [container] = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.workload=${db.id}`] },
    });
    assert.notEqual(container.State, 'running');
    await assert.rejects(pgLogin(db.connectionString!));
    const started = await json<Workload>('start', pgName);
    assert.equal(started.status, 'running');
    assert.equal(
      await waitFor('postgres login after start', () => pgLogin(db.connectionString!), 30_000, 250),
      2,
    );
  });

  test('logs and stats', async () => {
    const logs = await cli('logs', pgName, '--tail', '50');
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout + logs.stderr, /ready to accept connections/);
    const stats = await json<WorkloadStats>('stats', pgName);
    assert.equal(stats.id, db.id);
    assert.ok(stats.memoryBytes > 0, `memory ${stats.memoryBytes}`);
  });

  test('logs -f follows new lines until interrupted', async () => {
    const child = spawn(
      process.execPath,
      [join(root, 'bin/lattice.mjs'), 'logs', pgName, '-f', '--tail', '1', ...dd()],
      {
        cwd: root,
      },
    );
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor('the tail line', () => out.length > 0, 15_000, 50);
      // A failed login is a new line in the server log, written after we started following.
      const wrong = new URL(db.connectionString!);
      wrong.password = 'wrong-password';
      await assert.rejects(pgLogin(wrong.toString()));
      await waitFor(
        'the failed login in the followed log',
        () => /password authentication failed/.test(out),
        15_000,
        50,
      );
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
  });

  test('deploy custom nginx -p 80 serves its page over HTTP', async () => {
    web = await json<Workload>(
      'deploy',
      'custom',
      '--image',
      FIXTURE_IMAGES.nginx,
      '-p',
      '80',
      '--name',
      webName,
    );
    assert.equal(web.status, 'running');
    const port = web.ports.find((p) => p.container === 80);
    assert.ok(port, 'port 80 not published');
    assert.equal(port.hostIp, '127.0.0.1');
    const body = await waitFor(
      'nginx page',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port.host}/`);
        return res.ok ? res.text() : undefined;
      },
      30_000,
      250,
    );
    assert.match(body, /<html|nginx|lattice/i);
  });

  test('logs -f exits by itself when the workload stops, as docker logs -f does', async () => {
    const child = spawn(
      process.execPath,
      [join(root, 'bin/lattice.mjs'), 'logs', webName, '-f', '--tail', '5', ...dd()],
      { cwd: root },
    );
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let finished = false;
    void exited.then(() => (finished = true));
    try {
      // Following: still running a moment after it connected.
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(finished, false, `logs -f ended while the workload ran: ${stderr}`);
      const stopped = await json<Workload>('stop', webName);
      assert.equal(stopped.status, 'stopped');
      await waitFor('logs -f to exit after the stop', () => finished, 15_000, 100);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, stderr);
  });

  test('bad input: non-zero exit, one line saying why, nothing created', async () => {
    const before = (await ours()).length;
    const hostPort = String(db.ports[0].host);
    const cases: [string[], RegExp][] = [
      [['deploy', 'mysql'], /unknown template "mysql"/],
      [
        ['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '-p', '70000'],
        /-p 70000: port must be 1-65535/,
      ],
      [
        ['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '-p', `${hostPort}:80`],
        new RegExp(`${hostPort}`),
      ],
      [['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '-e', '1BAD=x'], /-e 1BAD=x: environment names/],
      [
        ['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '--memory', 'lots'],
        /--memory lots: not a memory size/,
      ],
      [['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '--privileged'], /privileged/],
      [['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '-v', '/etc:/x'], /\/etc/],
      [['deploy', 'custom', '--image', FIXTURE_IMAGES.nginx, '--network', 'host'], /network/i],
      [['inspect', 'nosuch'], /nosuch/],
    ];
    for (const [args, reason] of cases) {
      const r = await cli(...args);
      assert.notEqual(r.code, 0, `lattice ${args.join(' ')} succeeded`);
      assert.match(r.stderr, /^error: [^\n]+\n$/, `lattice ${args.join(' ')}: ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, reason, `lattice ${args.join(' ')}`);
      assert.equal(r.stdout, '');
    }
    assert.equal((await ours()).length, before, 'a refused deploy created a container');
    const list = await json<Workload[]>('ls');
    assert.deepEqual(list.map((w) => w.name).sort(), [pgName, webName].sort());
  });

  test('a restarted agent shows the same workloads with the same credentials', async () => {
    assert.equal(await agent!.stop('SIGTERM'), 0);
    const r = await cli('ls');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: No Lattice agent is running for .* — start one with `lattice agent`\n$/);
    // Containers keep running without the agent.
    const [running] = await docker.listContainers({ filters: { label: [`lattice.workload=${db.id}`] } });
    assert.equal(running?.State, 'running');
    agent = await startAgentProcess(dataDir, env);
    const list = await json<Workload[]>('ls');
    const again = list.find((w) => w.id === db.id);
    assert.ok(again);
    assert.equal(again.connectionString, db.connectionString);
    assert.equal(again.password, db.password);
    assert.equal(
      await waitFor('login after agent restart', () => pgLogin(db.connectionString!), 30_000, 250),
      2,
    );
  });

  test('rm --volumes removes the container and its volume from Docker', async () => {
    const removed = await json<{ id: string; volumesRemoved: boolean }>('rm', pgName, '--volumes');
    assert.equal(removed.id, db.id);
    assert.equal(removed.volumesRemoved, true);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.workload=${db.id}`] },
    });
    assert.equal(left.length, 0);
    const { Volumes } = await docker.listVolumes({ filters: { label: [`lattice.workload=${db.id}`] } });
    assert.equal((Volumes ?? []).length, 0);
    for (const v of db.volumes) {
      await assert.rejects(docker.getVolume(v.source).inspect(), `volume ${v.source} still exists`);
    }
    const list = await json<Workload[]>('ls');
    assert.equal(
      list.some((w) => w.id === db.id),
      false,
    );
    const gone = await cli('inspect', pgName);
    assert.equal(gone.code, 1);
  });
});
