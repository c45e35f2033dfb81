// Docker's failures become the contract's errors: each container action its own code with Docker's
// reason, a lost daemon docker_unavailable, a deploy failure deploy_failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LatticeError } from '../../shared';
import {
  containerActionError,
  deployError,
  portTakenOnStart,
} from '../../electron/agent/docker/docker-errors';

const dockerSaid = (message: string, statusCode = 500) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) server error - ${message}`), {
    statusCode,
    json: { message },
  });

test('each container action has its own code, in the contract, with Docker’s reason', () => {
  const cases = [
    ['start', 'start_failed'],
    ['stop', 'stop_failed'],
    ['restart', 'restart_failed'],
    ['remove', 'remove_failed'],
  ] as const;
  for (const [action, code] of cases) {
    const err = containerActionError(dockerSaid('cannot kill container: permission denied'), action);
    assert.equal(err.code, code);
    assert.ok(ErrorCode.options.includes(err.code), `${code} is in shared/errors.ts`);
    assert.equal(
      err.message,
      `Docker could not ${action} the container: cannot kill container: permission denied`,
    );
  }
  assert.equal(new Set(cases.map(([, code]) => code)).size, 4);
  assert.match(
    containerActionError(dockerSaid('volume is in use'), 'remove', 'the volume db-data').message,
    /could not remove the volume db-data: volume is in use/,
  );
});

test('a lost daemon is docker_unavailable whatever the action; deploys keep deploy_failed', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), {
    code: 'ECONNREFUSED',
  });
  assert.equal(containerActionError(refused, 'stop').code, 'docker_unavailable');
  assert.equal(deployError(refused).code, 'docker_unavailable');
  assert.equal(deployError(dockerSaid('no space left on device')).code, 'deploy_failed');
  const ours = new LatticeError('health_check_failed', 'not ready');
  assert.equal(deployError(ours), ours);
});

test('a host port taken at start is port_taken; other start failures are not', () => {
  assert.equal(
    portTakenOnStart(dockerSaid('Bind for 127.0.0.1:5432 failed: port is already allocated'))?.code,
    'port_taken',
  );
  assert.equal(portTakenOnStart(dockerSaid('OCI runtime create failed')), undefined);
});
