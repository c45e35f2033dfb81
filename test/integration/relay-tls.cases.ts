// Run by relay-tls.test.ts (which makes the test CAs and trusts them for this process). A real hub
// with a certificate from a test CA, a real agent paired with it, fixture containers, and real
// clients: every share kind is TLS on its relay port, Postgres by its own SSLRequest negotiation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import pg from 'pg';
import { GetObjectCommand, CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Share } from '../../shared';
import { FIXTURE_IMAGES, requireFixtureImages } from '../helpers/docker';
import { run, startShareStack, type ShareStack } from './share-support';
import { downloadCa, psqlIn } from './relay-tls-support';

const DIR = process.env.LATTICE_RELAY_TLS_DIR!;
const file = (name: string) => join(DIR, name);

/** A TCP proxy that records every byte in both directions. */
async function recordingProxy(
  targetPort: number,
): Promise<{ port: number; bytes: () => Buffer; close(): void }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connectTcp(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => {
      chunks.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      chunks.push(d);
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    bytes: () => Buffer.concat(chunks),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * A fake Postgres server on `port`: answers an SSLRequest ('S' with a certificate of another CA, or
 * 'N'), then asks for a cleartext password; records every byte it could read in clear.
 */
async function fakePostgres(
  port: number,
  answer: 'S' | 'N',
): Promise<{ received: () => Buffer; close(): void }> {
  const got: Buffer[] = [];
  const sockets = new Set<Socket>();
  const askCleartext = (s: Socket) => {
    let startup = false;
    s.on('data', (d: Buffer) => {
      got.push(d);
      if (startup) return void s.destroy(); // the answer (a password, if any) is in; hang up
      startup = true;
      s.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
    });
  };
  const server = createServer((raw) => {
    sockets.add(raw);
    raw.on('error', () => undefined);
    raw.once('data', (first: Buffer) => {
      got.push(first);
      if (first.length >= 8 && first.readInt32BE(4) === 80877103) {
        raw.write(answer);
        if (answer === 'N') return askCleartext(raw);
        const tls = new TLSSocket(raw, {
          isServer: true,
          cert: readFileSync(file('impostor.pem')),
          key: readFileSync(file('impostor.key')),
        });
        tls.on('error', () => undefined);
        askCleartext(tls);
      } else {
        raw.unshift(first);
        askCleartext(raw);
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    received: () => Buffer.concat(got),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const withPort = (cs: string, port: number) => {
  const u = new URL(cs);
  u.port = String(port);
  return u.toString();
};
const withCaPath = (cs: string, caDir: string) =>
  cs.replace('sslrootcert=lattice-relay-ca.pem', `sslrootcert=${join(caDir, 'lattice-relay-ca.pem')}`);

describe('TLS on the relay: a hub with a certificate from a test CA', () => {
  let stack: ShareStack;
  let pgShare: Share;
  let caDir: string;
  const cleanups: (() => void)[] = [];

  before(async () => {
    await requireFixtureImages('postgres', 'minio', 'nginx');
    stack = await startShareStack({
      relaySpan: 10,
      hub: { tls: { certFile: file('leaf.pem'), keyFile: file('leaf.key'), caFile: file('ca.pem') } },
    });
    assert.match(stack.hub.url, /^https:/, 'the hub serves HTTPS with its certificate');
    const w = await stack.run('workload.deploy', { template: 'postgres', name: 'tls-pg' });
    assert.equal(w.status, 'running');
    pgShare = await stack.run('share.create', { workload: 'tls-pg', via: 'relay', expires: '1h' });
    caDir = await downloadCa(pgShare);
    cleanups.push(() => rmSync(caDir, { recursive: true, force: true }));
  });
  after(async () => {
    for (const c of cleanups) c();
    // Shares revoked first: the agent's share service re-opens shares when its hub link changes
    // and, closing, could race its own store (noted in the issue; not this test's subject).
    for (const s of (await stack?.run('share.list', {})) ?? [])
      await stack.run('share.revoke', { ref: s.id });
    await stack?.cleanup();
  });

  test('the Postgres string says sslmode=verify-full with the hub CA; psql logs in, writes and reads a row', async () => {
    const cs = new URL(pgShare.connectionString!);
    assert.equal(cs.searchParams.get('sslmode'), 'verify-full');
    assert.equal(cs.searchParams.get('sslrootcert'), 'lattice-relay-ca.pem');
    assert.equal(cs.port, String(pgShare.publicPort));
    assert.equal(pgShare.hubTls!.caPem, readFileSync(file('ca.pem'), 'utf8').trim() + '\n');
    const marker = `marker-${randomBytes(8).toString('hex')}`;
    const r = await psqlIn(caDir, [
      pgShare.connectionString!,
      '-c',
      'create table tls_rows (v text)',
      '-c',
      `insert into tls_rows values ('${marker}')`,
      '-c',
      'select v from tls_rows',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), marker);
  });

  test('require_auth=scram-sha-256 is a second string: libpq 15 (this psql) refuses it, the main string works', async () => {
    assert.match(pgShare.connectionStringStrict!, /require_auth=scram-sha-256/);
    assert.doesNotMatch(pgShare.connectionString!, /require_auth/);
    const r = await psqlIn(caDir, [pgShare.connectionStringStrict!, '-c', 'select 1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"require_auth"/, 'libpq 15 does not know the parameter');
  });

  test('pg (node-postgres) does the same with sslmode=verify-full and the CA', async () => {
    const client = new pg.Client({ connectionString: withCaPath(pgShare.connectionString!, caDir) });
    await client.connect();
    try {
      await client.query('create table if not exists pg_rows (v text)');
      await client.query('insert into pg_rows values ($1)', ['from-pg']);
      const { rows } = await client.query<{ v: string }>('select v from pg_rows');
      assert.deepEqual(rows, [{ v: 'from-pg' }]);
    } finally {
      await client.end();
    }
  });

  test('a client that does not ask for TLS (sslmode=disable) is refused by the relay port', async () => {
    const plain = pgShare.connectionString!.replace('sslmode=verify-full', 'sslmode=disable');
    const r = await psqlIn(caDir, [plain, '-c', 'select 1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /TLS required/);
    const client = new pg.Client({ connectionString: plain.replace(/&sslrootcert=[^&]+/, '') });
    client.on('error', () => undefined);
    await assert.rejects(client.connect(), /TLS required/);
    // Without verification (sslmode=require) the session is still encrypted: the port speaks only TLS.
    const req = await psqlIn(caDir, [
      pgShare.connectionString!.replace('sslmode=verify-full', 'sslmode=require'),
      '-c',
      'select 1',
    ]);
    assert.equal(req.code, 0, req.stderr);
  });

  test('a recording proxy between psql and the relay port sees neither the password nor the data', async () => {
    const proxy = await recordingProxy(pgShare.publicPort!);
    cleanups.push(() => proxy.close());
    const marker = `secret-row-${randomBytes(12).toString('hex')}`;
    const r = await psqlIn(caDir, [
      withPort(pgShare.connectionString!, proxy.port),
      '-c',
      'create table if not exists proxied (v text)',
      '-c',
      `insert into proxied values ('${marker}')`,
      '-c',
      `select v from proxied where v = '${marker}'`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), marker, 'written and read back through the proxy');
    const captured = proxy.bytes();
    assert.ok(captured.length > 2_000, `the proxy captured the session (${captured.length} bytes)`);
    assert.equal(captured.subarray(0, 8).readInt32BE(4), 80877103, 'it starts with an SSLRequest');
    for (const secret of [pgShare.password!, marker, pgShare.username!]) {
      assert.equal(captured.indexOf(secret), -1, `"${secret.slice(0, 12)}…" is not in the captured bytes`);
    }
  });

  test('a fake server on the share address asking for a cleartext password gets none', async () => {
    // Someone else answers on the share's address (here: after the share ends, on its very port).
    const s = await stack.run('share.create', { workload: 'tls-pg', via: 'relay', expires: '1h' });
    const port = s.publicPort!;
    await stack.run('share.revoke', { ref: s.id });
    for (const answer of ['S', 'N'] as const) {
      const fake = await fakePostgres(port, answer);
      try {
        const r = await psqlIn(caDir, [s.connectionString!, '-c', 'select 1']);
        assert.notEqual(r.code, 0, 'psql gives up');
        assert.match(r.stderr, answer === 'S' ? /certificate verify failed/ : /does not support SSL/);
        const client = new pg.Client({ connectionString: withCaPath(s.connectionString!, caDir) });
        client.on('error', () => undefined);
        await assert.rejects(client.connect());
        assert.equal(fake.received().indexOf(s.password!), -1, `no password reached the fake (${answer})`);
        // The fake works: a client that does not verify (sslmode=require) hands it the password.
        if (answer === 'S') {
          // (without sslrootcert: libpq's require verifies the CA when one is named)
          const unverified = s
            .connectionString!.replace('sslmode=verify-full', 'sslmode=require')
            .replace(/&sslrootcert=[^&]+/, '');
          await psqlIn(caDir, [unverified, '-c', 'select 1']);
          assert.notEqual(
            fake.received().indexOf(s.password!),
            -1,
            'the control: an unverified client is fooled',
          );
        }
      } finally {
        fake.close();
      }
    }
  });

  test('S3 over https on the relay port with the share key (@aws-sdk/client-s3, CA in its https agent)', async () => {
    const w = await stack.run('workload.deploy', { template: 'minio', name: 'tls-s3' });
    assert.equal(w.status, 'running');
    const s = await stack.run('share.create', { workload: 'tls-s3', via: 'relay', expires: '1h' });
    assert.equal(s.url, `https://127.0.0.1:${s.publicPort}`);
    assert.ok(s.hubTls?.caPem);
    const s3 = new S3Client({
      endpoint: s.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s.accessKey!, secretAccessKey: s.secretKey! },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: s.hubTls!.caPem }) }),
    });
    const bytes = randomBytes(1024 * 1024);
    await s3.send(new CreateBucketCommand({ Bucket: 'tls-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'tls-bucket', Key: 'b.bin', Body: bytes }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'tls-bucket', Key: 'b.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), bytes);
    await assert.rejects(fetch(`http://127.0.0.1:${s.publicPort}/`), 'plain http is not spoken there');
  });

  test('web shares are https; TCP shares are TLS (openssl s_client), or plain when asked and labelled so', async () => {
    const w = await stack.run('workload.deploy', {
      template: 'custom',
      name: 'tls-web',
      image: FIXTURE_IMAGES.nginx,
      ports: [{ container: 80 }],
    });
    assert.equal(w.status, 'running');
    const web = await stack.run('share.create', { workload: 'tls-web', via: 'relay', expires: '1h' });
    assert.match(web.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(web.url)).status, 200, 'HTTPS verified against the test CA');

    const tcp = await stack.run('share.create', {
      workload: 'tls-web',
      via: 'relay',
      expires: '1h',
      kind: 'tcp',
    });
    assert.equal(tcp.url, `tls://127.0.0.1:${tcp.publicPort}`);
    assert.equal(tcp.plain, false);
    const sc = await run(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${tcp.publicPort}`,
        '-CAfile',
        file('ca.pem'),
        '-verify_return_error',
        '-quiet',
      ],
      { input: 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', timeoutMs: 20_000 },
    );
    assert.match(sc.stdout, /^HTTP\/1\.[01] 200/m, sc.stderr);
    const impostorCa = await run(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${tcp.publicPort}`,
        '-CAfile',
        file('other-ca.pem'),
        '-verify_return_error',
        '-quiet',
      ],
      { input: 'GET / HTTP/1.0\r\n\r\n', timeoutMs: 20_000 },
    );
    assert.doesNotMatch(impostorCa.stdout, /HTTP\/1/, 'a client trusting another CA does not get through');

    await stack.run('share.revoke', { ref: tcp.id });
    const plain = await stack.run('share.create', {
      workload: 'tls-web',
      via: 'relay',
      expires: '1h',
      kind: 'tcp',
      plain: true,
    });
    assert.equal(plain.plain, true);
    assert.equal(plain.url, `tcp://127.0.0.1:${plain.publicPort}`);
    assert.equal(plain.hubTls, undefined);
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connectTcp(plain.publicPort!, '127.0.0.1', () => sock.write('GET / HTTP/1.0\r\n\r\n'));
      let out = '';
      sock.on('data', (d) => (out += d));
      sock.on('end', () => resolve(out));
      sock.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.[01] 200/);
  });
});
