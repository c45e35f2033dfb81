// The agent finds the engine through a docker context, as the docker CLI does, on the real engine.
// Two Unix sockets at non-default paths forward to /var/run/docker.sock and count connections; the
// real `docker` CLI registers them as contexts in a temporary DOCKER_CONFIG (the machine's own
// ~/.docker is never touched) and selects one with `docker context use`. No DOCKER_HOST is set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AgentEvent, DockerStatus } from '../../shared';
import { readContext } from '../../electron/agent/docker/docker-contexts';
import { runHeadlessAgent } from '../../electron/agent/run-agent';
import { dockerConfigEnv, removeLabelled, requireFixtureImages } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';
import { waitFor } from '../helpers/net';
import { EngineForwarder } from '../helpers/engine-forwarder';

const run = promisify(execFile);
const local = { door: 'local' as const };
const REAL_SOCKET = '/var/run/docker.sock';
const dir = mkdtempSync(join(tmpdir(), 'lattice-contexts-'));
const dockerConfig = join(dir, 'docker-config');
const suffix = `${process.pid}`;
const CTX_A = `lattice-test-a-${suffix}`;
const CTX_B = `lattice-test-b-${suffix}`;

// Named so that the policy's old "*docker.sock" rule cannot be what refuses them.
const engineA = new EngineForwarder(join(dir, 'engine-a.sock'));
const engineB = new EngineForwarder(join(dir, 'engine-b.sock'));

/** The agent's environment: the temporary docker config, and explicitly no DOCKER_HOST or DOCKER_CONTEXT. */
const agentEnv = () => dockerConfigEnv(dockerConfig);

const docker = (...args: string[]) =>
  run('docker', args, { env: { ...agentEnv(), DOCKER_CONFIG: dockerConfig } });

let t: TestAgent;
const events: AgentEvent[] = [];
const statuses = () =>
  events
    .filter((e): e is Extract<AgentEvent, { type: 'docker.status' }> => e.type === 'docker.status')
    .map((e) => e.docker);

before(async () => {
  await requireFixtureImages('nginx');
  mkdirSync(dockerConfig);
  await engineA.listen();
  await engineB.listen();
  await docker(
    'context',
    'create',
    CTX_A,
    '--description',
    'engine A',
    '--docker',
    `host=unix://${engineA.path}`,
  );
  await docker('context', 'create', CTX_B, '--docker', `host=unix://${engineB.path}`);
  await docker('context', 'use', CTX_A);
});

after(async () => {
  await t?.cleanup();
  await engineA.close();
  await engineB.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an engine reached through a docker context', () => {
  it('the docker CLI wrote the store this agent reads (currentContext, meta.json by digest)', async () => {
    const config = JSON.parse(readFileSync(join(dockerConfig, 'config.json'), 'utf8')) as {
      currentContext?: string;
    };
    assert.equal(config.currentContext, CTX_A);
    const ctx = readContext(dockerConfig, CTX_A);
    assert.equal(ctx.host, `unix://${engineA.path}`);
    assert.equal(ctx.description, 'engine A');
    // The machine's own config is untouched.
    const own = join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
    assert.ok(
      !existsSync(own) || !readFileSync(own, 'utf8').includes(CTX_A),
      `${own} does not name ${CTX_A}`,
    );
  });

  it('starts on that engine with no DOCKER_HOST, and says which and how it was found', async () => {
    const env = agentEnv();
    assert.equal(env.DOCKER_HOST, undefined);
    t = await startTestAgent({ env });
    t.agent.onEvent((e) => events.push(e));
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.available, true, info.docker.message);
    assert.deepEqual(info.docker.engine, {
      host: `unix://${engineA.path}`,
      context: CTX_A,
      source: 'currentContext',
      how: `currentContext "${CTX_A}" in ${join(dockerConfig, 'config.json')}`,
      tls: false,
    });
    assert.deepEqual(
      info.dockerContexts?.map((c) => [c.name, c.host, c.current]),
      [
        [CTX_A, `unix://${engineA.path}`, true],
        [CTX_B, `unix://${engineB.path}`, false],
      ],
    );
    assert.ok(engineA.connections > 0, 'the agent connected through engine A');
    assert.equal(engineB.connections, 0, 'nothing went to the other context');
  });

  it('deploys and lists through that socket (the counter proves it)', async () => {
    const mark = engineA.requests.length;
    const w = await t.agent.dispatch(
      'workload.deploy',
      {
        template: 'custom',
        name: 'ctx-web',
        image: 'lattice-fixture/nginx:latest',
        ports: [{ container: 80 }],
      },
      local,
    );
    assert.equal(w.status, 'running');
    const deployRequests = engineA.requests.slice(mark);
    assert.ok(deployRequests.includes('POST /containers/create'), deployRequests.join(', '));
    assert.ok(
      deployRequests.some((r) => /^POST \/containers\/[^/]+\/start$/.test(r)),
      deployRequests.join(', '),
    );
    const afterDeploy = engineA.requests.length;
    const list = await t.agent.dispatch('workload.list', {}, local);
    assert.deepEqual(
      list.map((x) => [x.name, x.status]),
      [['ctx-web', 'running']],
    );
    const inspect = await t.agent.dispatch('workload.get', { ref: 'ctx-web' }, local);
    assert.equal(inspect.status, 'running');
    const listRequests = engineA.requests.slice(afterDeploy);
    assert.ok(listRequests.length > 0, 'list and get asked engine A');
    assert.ok(
      listRequests.every((r) => r.startsWith('GET ')),
      listRequests.join(', '),
    );
    assert.ok(engineA.connections > 0);
    assert.equal(engineB.connections, 0);
    assert.deepEqual(engineB.requests, []);
  });

  it("refuses a bind mount of the engine's socket, and of the folder holding it, like /var/run/docker.sock", async () => {
    // The folder is allowed, so only the socket rule can refuse these.
    await t.agent.dispatch('settings.set', { allowedBindRoots: [dir] }, local);
    for (const source of [engineA.path, engineB.path, dir, REAL_SOCKET]) {
      await assert.rejects(
        t.agent.dispatch(
          'workload.deploy',
          {
            template: 'custom',
            name: 'sock-grab',
            image: 'lattice-fixture/nginx:latest',
            volumes: [{ source, target: '/engine.sock' }],
          },
          local,
        ),
        (err: { code?: string; field?: string; message?: string }) => {
          assert.equal(err.code, 'forbidden', `${source}: ${err.message}`);
          assert.equal(err.field, 'volumes.0.source');
          assert.match(
            err.message!,
            /would hand the Docker socket \(root on this computer\) to the container/,
          );
          return true;
        },
      );
    }
    const rows = await t.agent.dispatch('workload.list', {}, local);
    assert.deepEqual(
      rows.map((r) => r.name),
      ['ctx-web'],
      'nothing was created for the refused deploys',
    );
  });

  it('switching the context in Settings reconnects to the other engine, without a restart', async () => {
    const settings = await t.agent.dispatch('settings.set', { dockerContext: CTX_B }, local);
    assert.equal(settings.dockerContext, CTX_B);
    assert.equal(settings.dockerHost, null);
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.available, true);
    assert.equal(info.docker.engine?.host, `unix://${engineB.path}`);
    assert.equal(info.docker.engine?.source, 'setting');
    assert.equal(info.docker.engine?.how, `context "${CTX_B}" picked in Lattice's settings`);
    // Every console hears of it.
    const last = statuses().at(-1);
    assert.equal(last?.engine?.context, CTX_B);
    // Docker's event stream moved too: the agent follows engine B's events now.
    await waitFor('the event stream on engine B', () => engineB.requests.includes('GET /events'), 10_000);

    const aMark = engineA.requests.length;
    const bMark = engineB.requests.length;
    const stopped = await t.agent.dispatch('workload.stop', { ref: 'ctx-web' }, local);
    assert.equal(stopped.status, 'stopped');
    const listed = await t.agent.dispatch('workload.list', {}, local);
    assert.deepEqual(
      listed.map((x) => [x.name, x.status]),
      [['ctx-web', 'stopped']],
    );
    const bRequests = engineB.requests.slice(bMark);
    assert.ok(
      bRequests.some((r) => /^POST \/containers\/[^/]+\/stop$/.test(r)),
      bRequests.join(', '),
    );
    assert.ok(engineB.connections > 0);
    assert.deepEqual(engineA.requests.slice(aMark), [], 'and nothing through A');
  });

  it('when the picked engine stops answering: one line per candidate, and the other contexts to pick', async () => {
    await engineB.close();
    await waitFor('docker.status down', () => statuses().at(-1)?.available === false, 30_000);
    const down = statuses().at(-1) as DockerStatus;
    assert.equal(down.tried?.length, 1);
    assert.equal(down.tried?.[0].host, `unix://${engineB.path}`);
    assert.equal(down.tried?.[0].reason, `no socket at ${engineB.path}`);
    const lines = down.message!.split('\n');
    assert.match(lines[0], /^Docker is not running — no engine answered/);
    assert.equal(
      lines[1],
      `• unix://${engineB.path} (context "${CTX_B}" picked in Lattice's settings): no socket at ${engineB.path} — ${down.tried?.[0].hint}`,
    );
    assert.match(
      lines[2],
      new RegExp(
        `Other docker contexts on this computer: ${CTX_A} \\(unix://.*engine-a\\.sock\\) — pick one in Settings`,
      ),
    );
    await assert.rejects(t.agent.dispatch('workload.start', { ref: 'ctx-web' }, local), {
      code: 'docker_unavailable',
      message: new RegExp(`Docker is not running: unix://.*engine-b\\.sock: no socket at`),
    });
  });

  it('back to automatic in Settings: the docker CLI current context again', async () => {
    await t.agent.dispatch('settings.set', { dockerContext: null }, local);
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.available, true, info.docker.message);
    assert.equal(info.docker.engine?.context, CTX_A);
    assert.equal(info.docker.engine?.source, 'currentContext');
    const started = await t.agent.dispatch('workload.start', { ref: 'ctx-web' }, local);
    assert.equal(started.status, 'running');
  });

  it('refuses a context that does not exist, naming it, and keeps the engine in use', async () => {
    await assert.rejects(t.agent.dispatch('settings.set', { dockerContext: 'no-such-context' }, local), {
      code: 'invalid_argument',
      field: 'dockerContext',
      message: /docker context "no-such-context" does not exist/,
    });
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.engine?.context, CTX_A);
    const settings = await t.agent.dispatch('settings.get', {}, local);
    assert.equal(settings.dockerContext, null);
  });
});

describe('`lattice agent` says which engine it uses on its first line', () => {
  it('in-process: the context and how it was found come before the ready line', async () => {
    const lines: string[] = [];
    const data = join(dir, 'headless');
    const headless = await runHeadlessAgent({
      dataDir: data,
      env: agentEnv(),
      handleSignals: false,
      print: (l) => lines.push(l),
    });
    try {
      assert.equal(
        lines[0],
        `Docker engine: unix://${engineA.path} (context "${CTX_A}"; found through currentContext "${CTX_A}" in ${join(dockerConfig, 'config.json')}) — Docker ${(await headless.agent.dispatch('system.info', {}, local)).docker.version}`,
      );
      assert.match(lines[1], /^Lattice agent ready — console: /);
    } finally {
      const owner = headless.agent.ownerId;
      await headless.close();
      await removeLabelled(`lattice.owner=${owner}`);
    }
  });

  it('the CLI with --docker-host: that socket, given with --docker-host; a malformed one is refused before start', async () => {
    const root = new URL('../..', import.meta.url).pathname;
    const data = join(dir, 'cli');
    const child = spawn(
      process.execPath,
      [
        `${root}bin/lattice.mjs`,
        'agent',
        '--data-dir',
        data,
        '--api-port',
        '0',
        '--docker-host',
        `unix://${engineA.path}`,
      ],
      { cwd: root, env: { ...agentEnv(), LATTICE_CLI_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor('the ready line', () => stdout.includes('Lattice agent ready'), 60_000).catch(
        (err: Error) => {
          throw new Error(`${err.message}\n${stdout}\n${stderr}`);
        },
      );
      const first = stdout.split('\n')[0];
      assert.match(
        first,
        new RegExp(
          `^Docker engine: unix://${engineA.path.replace(/[.]/g, '\\.')} \\(no docker context; found through --docker-host\\) — Docker `,
        ),
      );
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const bad = spawn(
      process.execPath,
      [`${root}bin/lattice.mjs`, 'agent', '--data-dir', data, '--docker-host', 'localhost:2375'],
      {
        cwd: root,
        env: { ...agentEnv(), LATTICE_CLI_FROM_SOURCE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let badErr = '';
    bad.stderr.on('data', (c) => (badErr += c));
    const code = await new Promise((r) => bad.once('exit', r));
    assert.notEqual(code, 0);
    assert.match(badErr, /--docker-host=localhost:2375 is not a Docker host: it has no scheme/);
  });
});
