// The renderer's pure logic: the deploy form validated by the contract's schema, errors mapped back
// to the controls a person sees, and the overlap of two polled log tails (dashboard log following).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  emptyForm,
  formFieldFor,
  formToArgs,
  splitCommand,
  validateForm,
} from '../../renderer/src/components/deploy-form-model';
import { newLogLines } from '../../renderer/src/api/log-overlap';

test('an invalid custom form names each bad control and yields no arguments', () => {
  const form = {
    ...emptyForm('custom', 'app-1'),
    image: '',
    ports: [
      { container: '', host: '', protocol: 'tcp' as const },
      { container: '70000', host: '', protocol: 'tcp' as const },
    ],
    env: [
      { key: 'GOOD', value: '1' },
      { key: '1BAD', value: 'x' },
    ],
    memory: 'lots',
  };
  const { args, errors } = validateForm(form);
  assert.equal(args, undefined);
  assert.match(errors.image, /image is required/);
  // The blank first row is dropped before validation; the error still lands on the second row.
  assert.match(errors['ports.1.container'], /1-65535/);
  assert.match(errors['env.1.key'], /not starting with a digit/);
  assert.match(errors.memory, /not a memory size/);
});

test('a valid custom form becomes DeployArgs with numbers, env and command parsed', () => {
  const form = {
    ...emptyForm('custom', 'web'),
    image: 'nginx:1.27',
    ports: [{ container: '80', host: '', protocol: 'tcp' as const }],
    env: [{ key: 'MODE', value: 'prod' }],
    cpus: '0.5',
    memory: '256m',
    command: 'nginx -g "daemon off;"',
  };
  const { args, errors } = validateForm(form);
  assert.deepEqual(errors, {});
  assert.deepEqual(formToArgs(form), args);
  assert.deepEqual(args, {
    template: 'custom',
    name: 'web',
    image: 'nginx:1.27',
    ports: [{ container: 80, host: undefined, protocol: 'tcp' }],
    env: { MODE: 'prod' },
    volumes: [],
    restart: 'unless-stopped',
    cpus: 0.5,
    memory: '256m',
    command: ['nginx', '-g', 'daemon off;'],
  });
});

test('a template form rejects a host port out of range', () => {
  const { errors } = validateForm({ ...emptyForm('postgres', 'pg'), hostPort: '99999' });
  assert.match(errors.hostPort, /1-65535/);
});

test('server error paths map to form controls', () => {
  const form = {
    ...emptyForm('custom', 'x'),
    env: [
      { key: 'A', value: '' },
      { key: 'B', value: '' },
    ],
  };
  assert.equal(formFieldFor(form, ['env', 'B']), 'env.1.key');
  assert.equal(formFieldFor(form, ['ports', '0', 'host']), 'ports.0.host');
  assert.equal(formFieldFor(form, ['image']), 'image');
});

test('splitCommand keeps quoted parts together', () => {
  assert.deepEqual(splitCommand(`sh -c 'echo hi there' "a b"`), ['sh', '-c', 'echo hi there', 'a b']);
  assert.deepEqual(splitCommand('   '), []);
});

test('newLogLines returns only what follows the previous tail', () => {
  const l = (text: string) => ({ stream: 'stdout' as const, text });
  assert.deepEqual(newLogLines([], [l('a'), l('b')]), [l('a'), l('b')]);
  assert.deepEqual(newLogLines([l('a'), l('b'), l('c')], [l('b'), l('c'), l('d'), l('e')]), [l('d'), l('e')]);
  assert.deepEqual(newLogLines([l('a'), l('b')], [l('a'), l('b')]), []);
  // No overlap at all (the tail moved past everything seen): everything is new.
  assert.deepEqual(newLogLines([l('a')], [l('x'), l('y')]), [l('x'), l('y')]);
});

test('agent events update the store slices, and resetStores clears them', async () => {
  const { useLattice, resetStores } = await import('../../renderer/src/store/store');
  const { applyAgentEvent } = await import('../../renderer/src/store/agent-events');
  resetStores();
  const workload = {
    id: 'w1',
    name: 'pg',
    template: 'postgres' as const,
    image: 'postgres:16',
    status: 'creating' as const,
    ports: [],
    volumes: [],
    restart: 'unless-stopped' as const,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    origin: 'local' as const,
  };
  applyAgentEvent({ type: 'workload.changed', workload });
  applyAgentEvent({
    type: 'pull.progress',
    workloadId: 'w1',
    image: 'postgres:16',
    layersDone: 2,
    layersTotal: 5,
    phase: 'pulling',
  });
  applyAgentEvent({ type: 'workload.changed', workload: { ...workload, status: 'running' } });
  assert.equal(useLattice.getState().workloads.w1.status, 'running');
  assert.equal(useLattice.getState().pulls.w1.layersDone, 2);
  applyAgentEvent({ type: 'docker.status', docker: { available: false, message: 'socket gone' } });
  assert.equal(useLattice.getState().docker?.available, false);
  applyAgentEvent({ type: 'workload.removed', id: 'w1', name: 'pg' });
  assert.deepEqual(useLattice.getState().workloads, {});
  assert.deepEqual(useLattice.getState().pulls, {});
  applyAgentEvent({ type: 'hub.status', connected: false, url: 'https://hub.example' });
  resetStores();
  assert.equal(useLattice.getState().hubLink, null);
  assert.equal(useLattice.getState().docker, null);
  assert.equal(useLattice.getState().session, 'checking');
});
