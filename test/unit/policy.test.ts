// The policy refuses what no door may ask, per door, and lets the ordinary deploys through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, DeployArgs, LatticeError, isLocalOnly, type CommandContext } from '../../shared';
import { checkDeploy, checkDoor, exposesDockerSocket } from '../../electron/agent/policy';

const local: CommandContext = { door: 'local' };
const remote: CommandContext = { door: 'remote', user: { id: 'u1', email: 'a@b.c' }, commandId: 'c1' };
const settings = { allowedImages: ['ghcr.io/acme/app:1.0'], allowedBindRoots: ['/home/me/projects'] };
const catalog = ['postgres:16', 'pgsty/minio:latest', 'lattice-fixture/postgres:15'];

const custom = (extra: Record<string, unknown>) =>
  DeployArgs.parse({ template: 'custom', image: 'nginx:1.27', ...extra });

function refusal(fn: () => unknown): LatticeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LatticeError, `expected a LatticeError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

const everywhere: [string, Record<string, unknown>, string][] = [
  ['privileged', { privileged: true }, 'privileged'],
  ['capAdd', { capAdd: ['SYS_ADMIN'] }, 'capAdd'],
  ['devices', { devices: ['/dev/sda'] }, 'devices'],
  ['host network', { networkMode: 'host' }, 'networkMode'],
  ['container network', { networkMode: 'container:abc' }, 'networkMode'],
  ['host pid', { pidMode: 'host' }, 'pidMode'],
  ['host ipc', { ipcMode: 'host' }, 'ipcMode'],
  ['host userns', { usernsMode: 'host' }, 'usernsMode'],
  ['seccomp unconfined', { securityOpt: ['seccomp=unconfined'] }, 'securityOpt'],
  ['apparmor unconfined', { securityOpt: ['apparmor:unconfined'] }, 'securityOpt'],
  ['sysctls', { sysctls: { 'net.ipv4.ip_forward': '1' } }, 'sysctls'],
  ['docker socket', { volumes: [{ source: '/var/run/docker.sock', target: '/s' }] }, 'volumes.0.source'],
  ['docker socket in /run', { volumes: [{ source: '/run/docker.sock', target: '/s' }] }, 'volumes.0.source'],
  [
    'any docker.sock',
    { volumes: [{ source: '/home/me/projects/docker.sock', target: '/s' }] },
    'volumes.0.source',
  ],
  ['parent of the socket', { volumes: [{ source: '/var/run', target: '/r' }] }, 'volumes.0.source'],
  ['/run', { volumes: [{ source: '/run/', target: '/r' }] }, 'volumes.0.source'],
  ['the root', { volumes: [{ source: '/', target: '/host' }] }, 'volumes.0.source'],
  [
    'dotted path to the socket',
    { volumes: [{ source: '/var/lib/../run/docker.sock', target: '/s' }] },
    'volumes.0.source',
  ],
  [
    'driver opts bind',
    { volumes: [{ source: 'data', target: '/d', driverOpts: { type: 'none', o: 'bind', device: '/etc' } }] },
    'volumes.0.driverOpts',
  ],
  [
    'driver opts device only',
    { volumes: [{ source: 'data', target: '/d', driverOpts: { device: '/etc' } }] },
    'volumes.0.driverOpts',
  ],
  [
    'driver opts o=bind',
    { volumes: [{ source: 'data', target: '/d', driverOpts: { o: 'rbind,ro' } }] },
    'volumes.0.driverOpts',
  ],
  ['host path outside allowed roots', { volumes: [{ source: '/etc', target: '/e' }] }, 'volumes.0.source'],
  [
    'escape from an allowed root',
    { volumes: [{ source: '/home/me/projects/../.ssh', target: '/e' }] },
    'volumes.0.source',
  ],
  [
    'sibling prefix of an allowed root',
    { volumes: [{ source: '/home/me/projects-other', target: '/e' }] },
    'volumes.0.source',
  ],
  ['relative host path', { volumes: [{ source: './here', target: '/e' }] }, 'volumes.0.source'],
];

for (const door of [local, remote]) {
  for (const [what, extra, field] of everywhere) {
    test(`${door.door} door refuses ${what}`, () => {
      const err = refusal(() => checkDeploy(custom(extra), door, settings, catalog));
      assert.equal(err.code, 'forbidden');
      assert.equal(err.field, field);
      assert.match(err.message, new RegExp(field.split('.')[0] === 'volumes' ? '.' : field));
    });
  }
}

test('remote door refuses every host bind, even below an allowed root', () => {
  const err = refusal(() =>
    checkDeploy(
      custom({ volumes: [{ source: '/home/me/projects/site', target: '/srv' }] }),
      remote,
      settings,
      catalog,
    ),
  );
  assert.equal(err.code, 'forbidden');
  assert.equal(err.field, 'volumes.0.source');
  assert.match(err.message, /remote/);
});

test('local door allows a bind below an allowed root and named volumes', () => {
  const spec = custom({
    image: 'ghcr.io/acme/app:1.0',
    volumes: [
      { source: '/home/me/projects/site', target: '/srv', readOnly: true },
      { source: '/home/me/projects', target: '/all' },
      { source: 'data', target: '/data' },
    ],
  });
  assert.deepEqual(checkDeploy(spec, local, settings, catalog), { action: 'deploy' });
});

test('remote deploy of an image outside catalog and allow-list waits for approval', () => {
  const decision = checkDeploy(custom({ image: 'evil/miner:latest' }), remote, settings, catalog);
  assert.equal(decision.action, 'approve');
  assert.match((decision as { reason: string }).reason, /evil\/miner/);
  // The same image from this computer deploys.
  assert.deepEqual(checkDeploy(custom({ image: 'evil/miner:latest' }), local, settings, catalog), {
    action: 'deploy',
  });
});

test('remote deploys of catalog and allow-listed images go ahead', () => {
  assert.deepEqual(checkDeploy(DeployArgs.parse({ template: 'postgres' }), remote, settings, catalog), {
    action: 'deploy',
  });
  assert.deepEqual(checkDeploy(custom({ image: 'ghcr.io/acme/app:1.0' }), remote, settings, catalog), {
    action: 'deploy',
  });
  assert.deepEqual(
    checkDeploy(custom({ image: 'docker.io/library/postgres:16' }), remote, settings, catalog),
    {
      action: 'deploy',
    },
  );
  const other = checkDeploy(
    DeployArgs.parse({ template: 'postgres', image: 'someone/pg:1' }),
    remote,
    settings,
    catalog,
  );
  assert.equal(other.action, 'approve');
});

test('localOnly commands are refused from the remote door only', () => {
  // isLocalOnly (shared/commands.ts) is the one list the agent's policy and the hub's routes both read.
  const localOnly = COMMAND_NAMES.filter(isLocalOnly);
  assert.deepEqual(localOnly.sort(), ['hub.pair', 'hub.unpair', 'settings.set', 'workload.approve']);
  for (const name of COMMAND_NAMES.filter((n) => !isLocalOnly(n))) {
    assert.doesNotThrow(() => checkDoor(name, remote), `${name} is allowed remotely`);
  }
  for (const name of localOnly) {
    assert.equal(refusal(() => checkDoor(name, remote)).code, 'forbidden');
    assert.doesNotThrow(() => checkDoor(name, local));
  }
  assert.doesNotThrow(() => checkDoor('workload.deploy', remote));
});

test('docker socket detection', () => {
  for (const p of [
    '/var/run/docker.sock',
    '/run/docker.sock',
    '/var/run',
    '/var',
    '/',
    '/run',
    '/x/docker.sock',
    '//var//run/',
  ]) {
    assert.equal(exposesDockerSocket(p), true, p);
  }
  for (const p of ['/home/me', '/var/lib/data', '/srv/run']) assert.equal(exposesDockerSocket(p), false, p);
});
