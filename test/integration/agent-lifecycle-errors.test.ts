// A container action Docker refuses is reported with that action's own code — start_failed,
// restart_failed, remove_failed — carrying Docker's reason, not as a deploy failure. Real Docker: a
// container whose command does not exist cannot start, and a volume another container uses cannot
// be removed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { LatticeError, type CommandName, type ErrorCode } from '../../shared';
import { volumeName } from '../../electron/agent/docker/container-spec';
import { FIXTURE_IMAGES, TEST_LABEL, requireFixtureImages } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';

const local = { door: 'local' as const };

describe('container action failures carry their own error code', () => {
  let docker: Docker;
  let t: TestAgent;
  const strangers: Docker.Container[] = [];

  before(async () => {
    docker = await requireFixtureImages('nginx');
    t = await startTestAgent();
  });
  after(async () => {
    await Promise.all(strangers.map((c) => c.remove({ force: true }).catch(() => undefined)));
    await t?.cleanup();
  });

  const failure = async (name: CommandName, args: unknown): Promise<LatticeError> => {
    try {
      await t.agent.dispatch(name, args, local);
    } catch (err) {
      assert.ok(err instanceof LatticeError, `${name} threw ${String(err)}`);
      return err;
    }
    assert.fail(`${name} succeeded`);
  };

  test('a container that cannot start: deploy_failed for the deploy, start_failed and restart_failed after', async () => {
    const broken = {
      template: 'custom',
      name: 'lc-broken',
      image: FIXTURE_IMAGES.nginx,
      command: ['/no/such/program'],
    };
    const deploy = await failure('workload.deploy', broken);
    assert.equal(deploy.code, 'deploy_failed');

    const start = await failure('workload.start', { ref: 'lc-broken' });
    assert.equal(start.code, 'start_failed' satisfies ErrorCode);
    assert.match(start.message, /^Docker could not start the container: .*\/no\/such\/program/);

    const restart = await failure('workload.restart', { ref: 'lc-broken' });
    assert.equal(restart.code, 'restart_failed' satisfies ErrorCode);
    assert.match(restart.message, /^Docker could not restart the container: /);

    // Deleting still works: the row and the container go.
    await t.agent.dispatch('workload.delete', { ref: 'lc-broken' }, local);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.owner=${t.agent.ownerId}`] },
    });
    assert.deepEqual(
      left.map((c) => c.Names[0]).filter((n) => n.includes('lc-broken')),
      [],
    );
  });

  test('a volume another container still uses: remove_failed naming the volume', async () => {
    await t.agent.dispatch(
      'workload.deploy',
      {
        template: 'custom',
        name: 'lc-vol',
        image: FIXTURE_IMAGES.nginx,
        command: ['sleep', '600'],
        volumes: [{ source: 'data', target: '/data' }],
      },
      local,
    );
    const volume = volumeName('lc-vol', 'data');
    // Not ours (no owner label): Lattice must not touch it, and Docker will not drop a volume it mounts.
    const holder = await docker.createContainer({
      Image: FIXTURE_IMAGES.nginx,
      Cmd: ['sleep', '600'],
      Labels: { [TEST_LABEL]: '1' },
      HostConfig: { Binds: [`${volume}:/held`] },
    });
    strangers.push(holder);
    await holder.start();

    const remove = await failure('workload.delete', { ref: 'lc-vol', volumes: true });
    assert.equal(remove.code, 'remove_failed' satisfies ErrorCode);
    assert.ok(remove.message.includes(volume), remove.message);
    assert.equal((await holder.inspect()).State.Running, true, 'the other container is untouched');
  });
});
