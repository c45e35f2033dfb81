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
  plain: false,
  bucket: null,
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
  test('a custom image port is shared as TCP when asked; a template port keeps its own kind', () => {
    const redis = workload({ template: 'custom', ports: [port(6379, 16379)] });
    assert.equal(pickShareTarget(redis, undefined, 'tcp').kind, 'tcp');
    assert.equal(pickShareTarget(redis, '6379', 'http').kind, 'http');
    const pg = workload({ ports: [port(5432, 15432, 'postgres')] });
    assert.equal(pickShareTarget(pg, undefined, 'postgres').kind, 'postgres', 'repeating its kind is fine');
    assert.throws(
      () => pickShareTarget(pg, undefined, 'tcp'),
      (e: Error & { code?: string; field?: string }) =>
        e.code === 'invalid_argument' && /shared as postgres/.test(e.message),
    );
    const minio = workload({
      template: 'minio',
      ports: [port(9000, 19000, 's3'), port(9001, 19001, 'console')],
    });
    assert.equal(pickShareTarget(minio, 'console', 'tcp').kind, 'tcp', 'a web port may go as TCP');
    assert.throws(() => pickShareTarget(minio, 's3', 'http'), /shared as s3/);
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
  test('a postgres share carries the role, not the owner, and always asks for TLS', () => {
    const share = shareView(row({}), { password: 'pw', database: 'db_1', tls: true });
    assert.equal(share.connectionString, 'postgres://lattice_sh_1:pw@hub.example:20001/db_1?sslmode=require');
    assert.equal(share.username, 'lattice_sh_1');
    // A share made before the agent gave its databases TLS: the agent turns TLS on when it re-opens it.
    const older = shareView(row({}), { password: 'pw', database: 'db_1', tls: false });
    assert.doesNotMatch(older.connectionString!, /sslmode=disable/);
    assert.match(older.connectionString!, /\?sslmode=require$/);
    const reopening = shareView(row({ url: null, publicHost: null, publicPort: null, status: 'reopening' }), {
      password: 'pw',
    });
    assert.equal(reopening.connectionString, undefined, 'no address is shown before there is one');
  });
  test('an s3 share is an endpoint with its own key, https when the tunnel speaks TLS; an http share shows its basic-auth credentials', () => {
    const key = { accessKeyId: 'LSSHAREKEY', secretAccessKey: 'share-secret' };
    const s3 = shareView(row({ kind: 's3', roleName: null, bucket: 'photos', readOnly: true }), { s3: key });
    assert.equal(s3.url, 'http://hub.example:20001', 'a plain relay port');
    assert.equal(s3.accessKey, 'LSSHAREKEY');
    assert.equal(s3.secretKey, 'share-secret');
    assert.equal(s3.bucket, 'photos');
    assert.equal(s3.readOnly, true);
    assert.equal(
      shareView(row({ kind: 's3', roleName: null, url: 'tls://hub.example:20001' }), { s3: key }).url,
      'https://hub.example:20001',
    );
    assert.equal(
      shareView(row({ kind: 's3', roleName: null, url: 'https://files.ngrok.app' }), { s3: key }).url,
      'https://files.ngrok.app',
    );
    const http = shareView(
      row({ kind: 'http', roleName: null, url: 'http://hub.example:20001', basicAuth: true }),
      {
        basicAuth: { username: 'visitor', password: 'secret-pass' },
      },
    );
    assert.equal(http.username, 'visitor');
    assert.equal(http.password, 'secret-pass');
    assert.equal(http.connectionString, undefined);
  });
  test('a TCP share says whether it asked to stay plain; other kinds do not carry the flag', () => {
    const tcp = shareView(row({ kind: 'tcp', roleName: null, plain: true }), {});
    assert.equal(tcp.plain, true);
    assert.equal(tcp.url, 'tcp://hub.example:20001');
    assert.equal(shareView(row({ kind: 'tcp', roleName: null }), {}).plain, false);
    assert.equal(shareView(row({ kind: 'http', roleName: null }), {}).plain, undefined);
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
    const table = shareTable([shareView(row({}), { password: 'pw', database: 'd' })]);
    assert.match(
      table,
      /^ID\s+WORKLOAD\s+VIA\s+STATUS\s+EXPIRES\s+URL\nsh_1\s+db\s+relay\s+active\s+never\s+tcp:\/\/hub.example:20001$/,
    );
  });
});
