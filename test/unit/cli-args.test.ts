// `lattice deploy` flags → workload.deploy args: what is built, and the one-line reason for every bad flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeployArgs, LatticeError } from '../../shared';
import {
  checkPublishAddress,
  deployArgsFromFlags,
  parsePublish,
  publishAddresses,
} from '../../electron/agent/cli/deploy-args';
import { formatPort, workloadJson } from '../../electron/agent/cli/format';
import { sampleWorkload } from '../helpers/samples';

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
      publish: ['80', '8443:443', '5353:53/udp'],
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
  ['-p abc', () => parsePublish('abc'), /^-p abc: "abc" is not a port number$/],
  ['-p 70000', () => parsePublish('70000'), /^-p 70000: port must be 1-65535$/],
  ['-p 99999', () => parsePublish('99999'), /^-p 99999: port must be 1-65535$/],
  ['-p 8080:99999', () => parsePublish('8080:99999'), /^-p 8080:99999: port must be 1-65535$/],
  ['-p 0', () => parsePublish('0'), /^-p 0: port must be 1-65535$/],
  ['-p a:b', () => parsePublish('a:b'), /^-p a:b: "b" is not a port number$/],
  ['-p abc:80', () => parsePublish('abc:80'), /^-p abc:80: "abc" is not a port number$/],
  [
    '-p 80:80:80:80',
    () => parsePublish('80:80:80:80'),
    /^-p 80:80:80:80: use HOST_PORT:CONTAINER_PORT, CONTAINER_PORT or IP:HOST_PORT:CONTAINER_PORT$/,
  ],
  ['-p 1:2:3 (not an address)', () => parsePublish('1:2:3'), /^-p 1:2:3: "1" is not an IP address$/],
  ['-p :80', () => parsePublish(':80'), /^-p :80: the host port is missing/],
  ['-p 80/sctp', () => parsePublish('80/sctp'), /^-p 80\/sctp: the protocol must be tcp or udp, not "sctp"$/],
  ['-p 80/', () => parsePublish('80/'), /the protocol must be tcp or udp, not ""/],
  ['-p 8000-8010:80', () => parsePublish('8000-8010:80'), /port ranges are not supported/],
  ['-p [::1]:80', () => parsePublish('[::1]:80'), /^-p \[::1\]:80: use HOST_PORT:CONTAINER_PORT/],
  ['-p [nope]:1:2', () => parsePublish('[nope]:1:2'), /"nope" is not an IP address/],
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

test('-p follows docker run: HOST:CONTAINER, CONTAINER, IP:HOST:CONTAINER, IP::CONTAINER, /tcp and /udp', () => {
  assert.deepEqual(parsePublish('8080:80'), { port: { host: 8080, container: 80, protocol: 'tcp' } });
  assert.deepEqual(parsePublish('80'), { port: { container: 80, protocol: 'tcp' } });
  assert.deepEqual(parsePublish('80/tcp'), { port: { container: 80, protocol: 'tcp' } });
  assert.deepEqual(parsePublish('5353:53/udp'), { port: { host: 5353, container: 53, protocol: 'udp' } });
  assert.deepEqual(parsePublish('127.0.0.1:8080:80'), {
    port: { host: 8080, container: 80, protocol: 'tcp' },
    address: '127.0.0.1',
  });
  assert.deepEqual(parsePublish('0.0.0.0::80/udp'), {
    port: { container: 80, protocol: 'udp' },
    address: '0.0.0.0',
  });
  assert.deepEqual(parsePublish('[::1]:8080:80'), {
    port: { host: 8080, container: 80, protocol: 'tcp' },
    address: '::1',
  });
  const args = deployArgsFromFlags('custom', { image: 'nginx:1.27', publish: ['8080:80'] });
  assert.ok(args.template === 'custom');
  assert.deepEqual(args.ports, [{ host: 8080, container: 80, protocol: 'tcp' }]);
  assert.deepEqual(publishAddresses({ publish: ['80', '0.0.0.0:8080:80'] }), [
    { text: '0.0.0.0:8080:80', address: '0.0.0.0' },
  ]);
});

test('-p IP:HOST:CONTAINER names the address Lattice publishes on, which LAN access decides', () => {
  // LAN access on: every network; off: loopback. Naming the address that will be used is fine.
  assert.doesNotThrow(() => checkPublishAddress('0.0.0.0:8080:80', '0.0.0.0', true));
  assert.doesNotThrow(() => checkPublishAddress('127.0.0.1:8080:80', '127.0.0.1', false));
  assert.throws(
    () => checkPublishAddress('0.0.0.0:8080:80', '0.0.0.0', false),
    /^LatticeError: -p 0\.0\.0\.0:8080:80: publishing on 0\.0\.0\.0 \(every network\) needs LAN access, which is off/,
  );
  assert.throws(
    () => checkPublishAddress('127.0.0.1:8080:80', '127.0.0.1', true),
    /LAN access is on, so Lattice publishes every port on 0\.0\.0\.0/,
  );
  for (const lan of [true, false]) {
    assert.throws(
      () => checkPublishAddress('192.168.1.5:8080:80', '192.168.1.5', lan),
      /publishes on 127\.0\.0\.1, or on 0\.0\.0\.0 when LAN access is on — not on 192\.168\.1\.5$/,
    );
  }
});

test('--json prints ports host first, in the order of -p and of the table', () => {
  const w = workloadJson(
    sampleWorkload({ ports: [{ protocol: 'tcp', container: 5432, hostIp: '127.0.0.1', host: 55432 }] }),
  );
  assert.deepEqual(Object.keys(w.ports[0]), ['hostIp', 'host', 'container', 'protocol']);
  assert.equal(formatPort(w.ports[0]), '127.0.0.1:55432->5432/tcp');
});
