// Run by relay-tls.test.ts, which starts pebble (an ACME test CA) and trusts its root here. A real
// hub asks pebble for its certificate, serves it on its API port and relay ports, keeps it in its
// data directory (0600), and a renewal swaps it without dropping an open psql session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, type PeerCertificate } from 'node:tls';
import type { Share } from '../../shared';
import { requireFixtureImages } from '../helpers/docker';
import { freePort, waitFor } from '../helpers/net';
import { startShareStack, type ShareStack } from './share-support';
import { downloadCa, psqlIn } from './relay-tls-support';

const DIR = process.env.LATTICE_RELAY_TLS_DIR!;
const DIRECTORY = process.env.LATTICE_PEBBLE_DIRECTORY!;

/** The certificate a TLS server on `port` presents (for a Postgres relay port: after an SSLRequest). */
function peerCertificate(port: number, postgres = false): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const raw = connectTcp(port, '127.0.0.1');
    raw.on('error', reject);
    raw.once('connect', () => {
      const secure = () => {
        const tls = connectTls({
          socket: raw,
          servername: 'localhost',
          ALPNProtocols: postgres ? ['postgresql'] : undefined,
        });
        tls.once('secureConnect', () => {
          resolve(tls.getPeerCertificate());
          tls.destroy();
        });
        tls.once('error', reject);
      };
      if (!postgres) return secure();
      const req = Buffer.alloc(8);
      req.writeInt32BE(8, 0);
      req.writeInt32BE(80877103, 4);
      raw.write(req);
      raw.once('data', (d: Buffer) => (d.toString() === 'S' ? secure() : reject(new Error(`answer ${d}`))));
    });
  });
}

describe('ACME: the hub gets its certificate from pebble and renews it in place', () => {
  let stack: ShareStack;
  let share: Share;
  let caDir: string;

  before(async () => {
    await requireFixtureImages('postgres');
    const port = await freePort();
    stack = await startShareStack({
      relaySpan: 4,
      hub: {
        port,
        publicUrl: `https://localhost:${port}`,
        publicHost: 'localhost',
        acme: {
          email: 'ops@example.com',
          directoryUrl: DIRECTORY,
          directoryCaFile: join(DIR, 'ca.pem'),
          caFile: join(DIR, 'pebble-root.pem'),
          challengePort: 0,
        },
      },
    });
    await stack.run('workload.deploy', { template: 'postgres', name: 'acme-pg' });
    share = await stack.run('share.create', { workload: 'acme-pg', via: 'relay', expires: '1h' });
    caDir = await downloadCa(share);
  });
  after(async () => {
    for (const s of (await stack?.run('share.list', {})) ?? [])
      await stack.run('share.revoke', { ref: s.id });
    await stack?.cleanup();
    if (caDir) rmSync(caDir, { recursive: true, force: true });
  });

  test('the API port and the relay port serve pebble’s certificate, kept 0600 in the data directory', async () => {
    const api = await peerCertificate(stack.hub.port);
    assert.match(String(api.issuer.CN), /Pebble Intermediate/i, JSON.stringify(api.issuer));
    assert.match(api.subjectaltname ?? '', /DNS:localhost/);
    const relay = await peerCertificate(share.publicPort!, true);
    assert.equal(relay.fingerprint256, api.fingerprint256, 'one certificate for API and relay');
    for (const f of ['cert.pem', 'key.pem', 'acme-account.key'])
      assert.equal(statSync(join(stack.hubDir, 'tls', f)).mode & 0o777, 0o600, f);
    assert.equal(statSync(join(stack.hubDir, 'tls')).mode & 0o777, 0o700);
    assert.match(share.connectionString!, /sslmode=verify-full&sslrootcert=lattice-relay-ca\.pem/);
  });

  test('a renewal replaces the certificate without dropping an open psql session', async () => {
    const before = await peerCertificate(stack.hub.port);
    const psql = spawn('/usr/bin/psql', ['-X', '-qAt', share.connectionString!], {
      cwd: caDir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    psql.stdout.on('data', (d) => (out += d));
    psql.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => psql.on('close', r));
    try {
      psql.stdin.write("select 'before-' || 1;\n");
      await waitFor('psql to answer through the relay', () => out.includes('before-1'), 20_000);

      await stack.hub.tls.acme!.renew();

      const afterApi = await peerCertificate(stack.hub.port);
      assert.notEqual(
        afterApi.fingerprint256,
        before.fingerprint256,
        'the API port serves the new certificate',
      );
      const afterRelay = await peerCertificate(share.publicPort!, true);
      assert.equal(
        afterRelay.fingerprint256,
        afterApi.fingerprint256,
        'so does the relay port, for new visitors',
      );

      psql.stdin.write("select 'after-' || 2;\n");
      await waitFor('the open session to answer after the renewal', () => out.includes('after-2'), 20_000);
      const fresh = await psqlIn(caDir, [share.connectionString!, '-c', "select 'fresh'"]);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.equal(fresh.stdout.trim(), 'fresh', 'a new session verifies the renewed certificate');
    } finally {
      psql.stdin.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      psql.kill('SIGKILL');
    }
    assert.doesNotMatch(out, /SSL|closed|terminat/i, `the session saw nothing: ${out}`);
  });
});
