// Bad input gets a clear error with the right code and changes nothing: Docker's event stream shows
// no container or volume created, and no workload row appears.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type Docker from 'dockerode';
import { LatticeError, type CommandContext, type CommandName, type ErrorCode } from '../../shared';
import { FIXTURE_IMAGES, requireFixtureImages } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';

const local: CommandContext = { door: 'local' };
const remote: CommandContext = { door: 'remote', user: { id: 'u1', email: 'owner@example.com' } };

let docker: Docker;
let t: TestAgent;
let busy: Server;
let busyPort: number;
let events: NodeJS.ReadableStream;
const seen: { Type: string; Action: string; Actor: { ID: string; Attributes: Record<string, string> } }[] =
  [];

before(async () => {
  docker = await requireFixtureImages('postgres', 'nginx');
  t = await startTestAgent();
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  busyPort = (busy.address() as { port: number }).port;
  // Every container and volume event for the duration; filtered below by our owner id and names.
  events = (await docker.getEvents({ filters: { type: ['container', 'volume'] } })) as NodeJS.ReadableStream;
  events.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) seen.push(JSON.parse(line));
  });
});
after(async () => {
  (events as unknown as { destroy?: () => void })?.destroy?.();
  busy?.close();
  await t?.cleanup();
});

const custom = (extra: Record<string, unknown>) => ({
  template: 'custom',
  name: 'bad-x',
  image: FIXTURE_IMAGES.nginx,
  ...extra,
});

const cases: [string, CommandName, unknown, CommandContext, ErrorCode, RegExp][] = [
  [
    'unknown template',
    'workload.deploy',
    { template: 'mysql', name: 'bad-a' },
    local,
    'invalid_argument',
    /template/,
  ],
  [
    'port 70000',
    'workload.deploy',
    { template: 'postgres', name: 'bad-b', hostPort: 70000 },
    local,
    'invalid_argument',
    /hostPort.*65535/,
  ],
  [
    'container port 70000',
    'workload.deploy',
    custom({ ports: [{ container: 70000 }] }),
    local,
    'invalid_argument',
    /ports\.0\.container/,
  ],
  [
    'env key 1BAD',
    'workload.deploy',
    custom({ env: { '1BAD': 'x' } }),
    local,
    'invalid_argument',
    /env.*1BAD|1BAD/,
  ],
  ['memory "lots"', 'workload.deploy', custom({ memory: 'lots' }), local, 'invalid_argument', /memory.*lots/],
  [
    'bad name',
    'workload.deploy',
    { template: 'postgres', name: 'Bad Name!' },
    local,
    'invalid_argument',
    /name/,
  ],
  [
    'unknown field',
    'workload.deploy',
    { template: 'postgres', name: 'bad-c', extra: 1 },
    local,
    'invalid_argument',
    /extra/,
  ],
  ['privileged', 'workload.deploy', custom({ privileged: true }), local, 'forbidden', /privileged/],
  ['capAdd', 'workload.deploy', custom({ capAdd: ['SYS_ADMIN'] }), local, 'forbidden', /capAdd/],
  [
    'host bind /etc from remote',
    'workload.deploy',
    custom({ volumes: [{ source: '/etc', target: '/e' }] }),
    remote,
    'forbidden',
    /host folders/,
  ],
  [
    'host bind /etc locally, not allowed',
    'workload.deploy',
    custom({ volumes: [{ source: '/etc', target: '/e' }] }),
    local,
    'forbidden',
    /\/etc/,
  ],
  [
    'docker socket',
    'workload.deploy',
    custom({ volumes: [{ source: '/var/run/docker.sock', target: '/s' }] }),
    local,
    'forbidden',
    /Docker socket/,
  ],
  ['networkMode host', 'workload.deploy', custom({ networkMode: 'host' }), local, 'forbidden', /networkMode/],
  [
    'securityOpt unconfined',
    'workload.deploy',
    custom({ securityOpt: ['seccomp=unconfined'] }),
    remote,
    'forbidden',
    /securityOpt/,
  ],
  [
    'bind driver opts',
    'workload.deploy',
    custom({
      volumes: [{ source: 'd', target: '/d', driverOpts: { type: 'none', o: 'bind', device: '/' } }],
    }),
    local,
    'forbidden',
    /bind/,
  ],
  ['settings.set from remote', 'settings.set', { lanAccess: true }, remote, 'forbidden', /settings\.set/],
  ['unknown command', 'nope.nothing' as CommandName, {}, local, 'unknown_command', /nope\.nothing/],
  ['get unknown workload', 'workload.get', { ref: 'no-such' }, local, 'not_found', /no-such/],
  ['stop unknown workload', 'workload.stop', { ref: 'no-such' }, local, 'not_found', /no-such/],
  ['delete unknown workload', 'workload.delete', { ref: 'no-such' }, local, 'not_found', /no-such/],
  ['logs with a bad tail', 'workload.logs', { ref: 'x', tail: -1 }, local, 'invalid_argument', /tail/],
];

describe('bad input', () => {
  for (const [what, name, args, ctx, code, message] of cases) {
    it(`${what} → ${code}`, async () => {
      await assert.rejects(t.agent.dispatch(name, args, ctx), (err: unknown) => {
        assert.ok(err instanceof LatticeError, String(err));
        assert.equal(err.code, code, err.message);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('a host port in use → port_taken, naming the field', async () => {
    await assert.rejects(
      t.agent.dispatch(
        'workload.deploy',
        { template: 'postgres', name: 'bad-port', hostPort: busyPort },
        local,
      ),
      (err: LatticeError) => {
        assert.equal(err.code, 'port_taken');
        assert.equal(err.field, 'hostPort');
        assert.match(err.message, new RegExp(String(busyPort)));
        return true;
      },
    );
  });

  it('a symlink inside an allowed folder cannot smuggle the Docker socket or another folder in', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lattice-root-'));
    try {
      symlinkSync('/var/run/docker.sock', join(root, 'innocent'));
      symlinkSync('/etc', join(root, 'config'));
      await t.agent.dispatch('settings.set', { allowedBindRoots: [root] }, local);
      await assert.rejects(
        t.agent.dispatch(
          'workload.deploy',
          custom({ name: 'bad-link', volumes: [{ source: join(root, 'innocent'), target: '/s' }] }),
          local,
        ),
        (err: LatticeError) => err.code === 'forbidden' && /Docker socket/.test(err.message),
      );
      await assert.rejects(
        t.agent.dispatch(
          'workload.deploy',
          custom({ name: 'bad-link', volumes: [{ source: join(root, 'config'), target: '/c' }] }),
          local,
        ),
        (err: LatticeError) => err.code === 'forbidden' && err.field === 'volumes.0.source',
      );
    } finally {
      await t.agent.dispatch('settings.set', { allowedBindRoots: [] }, local);
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a name already taken → conflict', async () => {
    const w = await t.agent.dispatch('workload.deploy', custom({ name: 'bad-dup', ports: [] }), local);
    await assert.rejects(t.agent.dispatch('workload.deploy', custom({ name: 'bad-dup' }), local), {
      code: 'conflict',
    });
    await t.agent.dispatch('workload.delete', { ref: w.id }, local);
  });

  it('nothing was created by the refused commands', async () => {
    // Give the event stream a moment to deliver anything in flight, then look.
    await new Promise((r) => setTimeout(r, 500));
    const ours = seen.filter(
      (e) =>
        e.Actor?.Attributes?.['lattice.owner'] === t.agent.ownerId ||
        /^lattice-bad-/.test(e.Actor?.Attributes?.name ?? '') ||
        /^lattice-bad-/.test(e.Actor?.ID ?? ''),
    );
    // Only the deliberate bad-dup container (and no volume at all) may appear.
    const unexpected = ours.filter((e) => e.Actor.Attributes?.name !== 'lattice-bad-dup');
    assert.deepEqual(unexpected, []);
    assert.ok(
      ours.some((e) => e.Type === 'container' && e.Action === 'create'),
      'the event stream did report bad-dup',
    );
    const rows = await t.agent.dispatch('workload.list', {}, local);
    assert.deepEqual(rows, []);
  });
});

describe('without Docker', () => {
  it('starts, reports Docker down, and fails Docker commands fast with docker_unavailable', async () => {
    const down = await startTestAgent({ docker: { socketPath: '/nonexistent/docker.sock' } });
    try {
      const info = await down.agent.dispatch('system.info', {}, local);
      assert.equal(info.docker.available, false);
      assert.match(info.docker.message!, /systemctl start docker|Docker Desktop/);
      await assert.rejects(down.agent.dispatch('workload.deploy', { template: 'postgres' }, local), {
        code: 'docker_unavailable',
      });
      assert.deepEqual(await down.agent.dispatch('workload.list', {}, local), []);
      const settings = await down.agent.dispatch('settings.get', {}, local);
      assert.equal(settings.dataDir, down.dataDir);
    } finally {
      await down.cleanup();
    }
  });
});
