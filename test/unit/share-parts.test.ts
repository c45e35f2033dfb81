// The pure parts of sharing: which port a share exposes, what it shows, the ngrok provider's error
// handling (with a stand-in for ngrok.forward), and the CLI's formatting.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Workload } from '../../shared';
import { pickShareTarget } from '../../electron/agent/shares/share-target';
import { shareView } from '../../electron/agent/shares/share-view';
import type { ShareRow } from '../../electron/agent/store';
import { NgrokTunnelProvider, endpointFromUrl } from '../../electron/agent/tunnels/ngrok-tunnel';
import { shareTable, timeLeft } from '../../electron/agent/cli/share';
import { sampleWorkload } from '../helpers/samples';

const workload = (over: Partial<Workload>): Workload => sampleWorkload({ ports: [], ...over });
const port = (container: number, host: number, name?: string) => ({
  container,
  host,
  hostIp: '127.0.0.1',
  protocol: 'tcp' as const,
  ...(name ? { name } : {}),
});

const row = (over: Partial<ShareRow>): ShareRow => ({
  id: 'sh_1',
  workloadId: 'w1',
  workloadName: 'db',
  via: 'relay',
  kind: 'postgres',
  status: 'active',
  portName: 'postgres',
  containerPort: 5432,
  url: 'tcp://hub.example:20001',
  publicHost: 'hub.example',
  publicPort: 20001,
  readOnly: false,
  basicAuth: false,
  roleName: 'lattice_sh_1',
  sealed: null,
  message: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: null,
  ...over,
});

describe('share targets', () => {
  test('a template shares its main port by default, another by name', () => {
    const pg = workload({ ports: [port(5432, 15432, 'postgres')] });
    assert.deepEqual(pickShareTarget(pg, undefined), {
      portName: 'postgres',
      containerPort: 5432,
      hostPort: 15432,
      kind: 'postgres',
    });
    const minio = workload({
      template: 'minio',
      ports: [port(9000, 19000, 's3'), port(9001, 19001, 'console')],
    });
    assert.equal(pickShareTarget(minio, undefined).kind, 's3');
    assert.deepEqual(pickShareTarget(minio, 'console'), {
      portName: 'console',
      containerPort: 9001,
      hostPort: 19001,
      kind: 'http',
    });
    assert.equal(pickShareTarget(minio, '9001').hostPort, 19001);
  });
  test('custom images are shared as HTTP; unknown ports are named in the error', () => {
    const web = workload({ template: 'custom', ports: [port(80, 18080), port(443, 18443)] });
    assert.deepEqual(pickShareTarget(web, undefined), {
      portName: null,
      containerPort: 80,
      hostPort: 18080,
      kind: 'http',
    });
    assert.equal(pickShareTarget(web, '443').hostPort, 18443);
    assert.throws(() => pickShareTarget(web, '8080'), /no port "8080" \(it has: 80, 443\)/);
    assert.throws(
      () => pickShareTarget(workload({ template: 'custom' }), undefined),
      /publishes no TCP port/,
    );
  });
});

describe('share views', () => {
  test('a postgres share carries the role, not the owner, and claims TLS only when offered', () => {
    const plain = shareView(row({}), { password: 'pw', database: 'db_1', tls: false }, undefined);
    assert.equal(plain.connectionString, 'postgres://lattice_sh_1:pw@hub.example:20001/db_1?sslmode=disable');
    assert.equal(plain.username, 'lattice_sh_1');
    const tls = shareView(row({}), { password: 'pw', database: 'db_1', tls: true }, undefined);
    assert.match(tls.connectionString!, /\?sslmode=require$/);
    const reopening = shareView(
      row({ url: null, publicHost: null, publicPort: null, status: 'reopening' }),
      { password: 'pw' },
      undefined,
    );
    assert.equal(reopening.connectionString, undefined, 'no address is shown before there is one');
  });
  test('an s3 share is an HTTP endpoint with keys; an http share shows its basic-auth credentials', () => {
    const s3 = shareView(row({ kind: 's3', roleName: null }), {}, { username: 'AKEY', password: 'SKEY' });
    assert.equal(s3.url, 'http://hub.example:20001');
    assert.equal(s3.accessKey, 'AKEY');
    assert.equal(s3.secretKey, 'SKEY');
    const http = shareView(
      row({ kind: 'http', roleName: null, url: 'http://hub.example:20001', basicAuth: true }),
      { basicAuth: { username: 'visitor', password: 'secret-pass' } },
      undefined,
    );
    assert.equal(http.username, 'visitor');
    assert.equal(http.password, 'secret-pass');
    assert.equal(http.connectionString, undefined);
  });
});

describe('ngrok provider', () => {
  const req = {
    shareId: 'sh_n',
    kind: 'tcp' as const,
    localHost: '127.0.0.1',
    localPort: 5432,
    expiresAt: null,
  };

  test('without a token it says to set one, before calling ngrok', async () => {
    let called = false;
    const p = new NgrokTunnelProvider({
      authtoken: () => '  ',
      forward: async () => {
        called = true;
        throw new Error('unreachable');
      },
    });
    await assert.rejects(
      p.open(req),
      (e: Error & { code?: string }) =>
        e.code === 'share_failed' && /Set your ngrok authtoken in Settings/.test(e.message),
    );
    assert.equal(called, false);
  });

  test('a failing or silent ngrok becomes share_failed, and a late listener is closed', async () => {
    const failing = new NgrokTunnelProvider({
      authtoken: () => 't',
      forward: async () => Promise.reject(new Error('failed to connect session')),
    });
    await assert.rejects(failing.open(req), /ngrok could not open the tunnel: failed to connect session/);

    let release!: () => void;
    let lateClosed = false;
    const slow = new NgrokTunnelProvider({
      authtoken: () => 't',
      timeoutMs: 100,
      forward: () =>
        new Promise((resolve) => {
          release = () =>
            resolve({ url: () => 'tcp://0.tcp.ngrok.io:1', close: async () => void (lateClosed = true) });
        }),
    });
    await assert.rejects(slow.open(req), /no answer from ngrok within/);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(lateClosed, true);
  });

  test('a TCP tunnel gets its host and port from the ngrok URL; basic auth goes to ngrok for HTTP', async () => {
    const configs: unknown[] = [];
    let closed = 0;
    const p = new NgrokTunnelProvider({
      authtoken: () => 'tok',
      forward: async (config) => {
        configs.push(config);
        return {
          url: () =>
            config.proto === 'tcp' ? 'tcp://4.tcp.eu.ngrok.io:17001' : 'https://abc.ngrok-free.app',
          close: async () => void closed++,
        };
      },
    });
    assert.deepEqual(await p.open(req), {
      url: 'tcp://4.tcp.eu.ngrok.io:17001',
      publicHost: '4.tcp.eu.ngrok.io',
      publicPort: 17001,
    });
    const web = await p.open({
      ...req,
      shareId: 'sh_w',
      kind: 'http',
      basicAuth: { username: 'u', password: 'password1' },
    });
    assert.equal(web.url, 'https://abc.ngrok-free.app');
    assert.equal(web.publicPort, 443);
    assert.deepEqual((configs[1] as { basic_auth: string[] }).basic_auth, ['u:password1']);
    assert.equal((configs[0] as { addr: string }).addr, '127.0.0.1:5432');
    await p.closeAll();
    assert.equal(closed, 2);
    assert.deepEqual(endpointFromUrl('http://x.example'), {
      url: 'http://x.example',
      publicHost: 'x.example',
      publicPort: 80,
    });
  });
});

describe('CLI formatting', () => {
  test('time left reads like a person would say it', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(timeLeft(null, now), 'never');
    assert.equal(timeLeft('2025-12-31T23:00:00Z', now), 'expired');
    assert.equal(timeLeft('2026-01-01T00:00:20Z', now), 'in 1m');
    assert.equal(timeLeft('2026-01-01T05:30:00Z', now), 'in 5h 30m');
    assert.equal(timeLeft('2026-01-08T00:00:00Z', now), 'in 7d 0h');
  });
  test('the share table lists what to hand over', () => {
    assert.match(shareTable([]), /No shares/);
    const table = shareTable([shareView(row({}), { password: 'pw', database: 'd' }, undefined)]);
    assert.match(
      table,
      /^ID\s+WORKLOAD\s+VIA\s+STATUS\s+EXPIRES\s+URL\nsh_1\s+db\s+relay\s+active\s+never\s+tcp:\/\/hub.example:20001$/,
    );
  });
});
