// `lattice deploy` flags → workload.deploy args: what is built, and the one-line reason for every bad flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeployArgs, LatticeError } from '../../shared';
import { deployArgsFromFlags, parsePublish } from '../../electron/agent/cli/deploy-args';

test('templates take a name and an image only', () => {
  assert.deepEqual(deployArgsFromFlags('postgres', {}), { template: 'postgres' });
  assert.deepEqual(
    deployArgsFromFlags('minio', { name: 'files', image: 'pgsty/minio:latest', publish: [], env: [] }),
    {
      template: 'minio',
      name: 'files',
      image: 'pgsty/minio:latest',
    },
  );
});

test('custom: ports, env, volumes, limits, restart, command', () => {
  const args = deployArgsFromFlags(
    'custom',
    {
      image: 'nginx:1.27',
      name: 'web',
      publish: ['80', '443:8443', '53:5353/udp'],
      env: ['A=1', 'B=x=y', 'EMPTY='],
      volume: ['data:/data', 'conf:/etc/nginx:ro'],
      restart: 'always',
      cpus: '1.5',
      memory: '512m',
    },
    ['nginx', '-g', 'daemon off;'],
  );
  assert.deepEqual(args, {
    template: 'custom',
    image: 'nginx:1.27',
    name: 'web',
    ports: [
      { container: 80, protocol: 'tcp' },
      { container: 443, host: 8443, protocol: 'tcp' },
      { container: 53, host: 5353, protocol: 'udp' },
    ],
    env: { A: '1', B: 'x=y', EMPTY: '' },
    volumes: [
      { source: 'data', target: '/data' },
      { source: 'conf', target: '/etc/nginx', readOnly: true },
    ],
    restart: 'always',
    cpus: 1.5,
    memory: 512 * 1024 * 1024,
    command: ['nginx', '-g', 'daemon off;'],
  });
  assert.equal(DeployArgs.safeParse(args).success, true);
});

test('dangerous flags are passed on for the agent to refuse by name', () => {
  const args = deployArgsFromFlags('custom', {
    image: 'x',
    privileged: true,
    network: 'host',
    volume: ['/etc:/x'],
  });
  assert.deepEqual(args, {
    template: 'custom',
    image: 'x',
    privileged: true,
    networkMode: 'host',
    volumes: [{ source: '/etc', target: '/x' }],
  });
});

const refusals: [string, () => unknown, RegExp][] = [
  [
    'unknown template',
    () => deployArgsFromFlags('mysql', {}),
    /^unknown template "mysql" \(use postgres, minio or custom\)$/,
  ],
  ['custom without image', () => deployArgsFromFlags('custom', {}), /needs --image/],
  ['-p abc', () => parsePublish('abc'), /^-p abc: port must be a number$/],
  ['-p 70000', () => parsePublish('70000'), /^-p 70000: port must be 1-65535$/],
  ['-p 0', () => parsePublish('0'), /^-p 0: port must be 1-65535$/],
  ['-p 80:abc', () => parsePublish('80:abc'), /^-p 80:abc: port must be a number$/],
  ['-p 1:2:3', () => parsePublish('1:2:3'), /CONTAINER_PORT\[:HOST_PORT\]/],
  ['-p 80/sctp', () => parsePublish('80/sctp'), /tcp or udp/],
  [
    '-e 1BAD=x',
    () => deployArgsFromFlags('custom', { image: 'x', env: ['1BAD=x'] }),
    /^-e 1BAD=x: environment names/,
  ],
  [
    '-e NOVALUE',
    () => deployArgsFromFlags('custom', { image: 'x', env: ['NOVALUE'] }),
    /^-e NOVALUE: use KEY=VALUE$/,
  ],
  [
    '-v data',
    () => deployArgsFromFlags('custom', { image: 'x', volume: ['data'] }),
    /^-v data: use VOLUME:\/path/,
  ],
  [
    '-v data:rel',
    () => deployArgsFromFlags('custom', { image: 'x', volume: ['data:rel'] }),
    /must be absolute/,
  ],
  [
    '-v a:/b:rx',
    () => deployArgsFromFlags('custom', { image: 'x', volume: ['a:/b:rx'] }),
    /VOLUME:\/path:ro/,
  ],
  [
    '--memory lots',
    () => deployArgsFromFlags('custom', { image: 'x', memory: 'lots' }),
    /^--memory lots: not a memory size/,
  ],
  ['--memory 1k', () => deployArgsFromFlags('custom', { image: 'x', memory: '1k' }), /at least 6m/],
  [
    '--cpus 0',
    () => deployArgsFromFlags('custom', { image: 'x', cpus: '0' }),
    /^--cpus 0: must be a number above 0$/,
  ],
  ['--cpus many', () => deployArgsFromFlags('custom', { image: 'x', cpus: 'many' }), /^--cpus many:/],
  [
    '--restart sometimes',
    () => deployArgsFromFlags('custom', { image: 'x', restart: 'sometimes' }),
    /^--restart sometimes: use no, always/,
  ],
  [
    '-p on postgres',
    () => deployArgsFromFlags('postgres', { publish: ['5432'] }),
    /^-p: only for custom images/,
  ],
  ['command on minio', () => deployArgsFromFlags('minio', {}, ['sh']), /only for custom images/],
  ['bad name', () => deployArgsFromFlags('postgres', { name: 'Bad Name' }), /name: use 1-63 lowercase/],
  [
    'bad image',
    () => deployArgsFromFlags('custom', { image: 'not an image' }),
    /image: is not an image reference/,
  ],
];

for (const [what, run, message] of refusals) {
  test(`refused: ${what}`, () => {
    assert.throws(run, (err: unknown) => {
      assert.ok(err instanceof LatticeError, `not a LatticeError: ${String(err)}`);
      assert.equal(err.code, 'invalid_argument');
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });
}
