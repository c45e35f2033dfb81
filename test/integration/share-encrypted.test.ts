// Every share encrypted or scoped, agent side, through a real hub relay on loopback (no hub
// certificate): a Postgres share's handed-out string gets TLS to the container from psql; an S3
// share hands out its own key (never the root key), which the AWS SDK uses to put and get, which is
// refused for writes when read-only and refused altogether after unshare; a custom image is shared
// as raw TCP with `--kind tcp` and psql reaches the Postgres inside it. The CLI (`lattice share …
// --json`) is the door, as a person would use it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { Share, Workload } from '../../shared';
import { startLocalApi, type LocalApi } from '../../electron/agent/local-api';
import { DB_FILE } from '../../electron/agent/create-agent';
import { FIXTURE_IMAGES, requireDocker, requireFixtureImages } from '../helpers/docker';
import { lattice, latticeJson } from '../helpers/agent-process';
import { run, startShareStack, type ShareStack } from './share-support';

const PSQL = '/usr/bin/psql';
const SSL_OF_SESSION = 'select ssl from pg_stat_ssl where pid = pg_backend_pid()';
// A read-write share session runs as the share group (ALTER ROLE … SET role), which may not read its
// own login's pg_stat_ssl row; back to the login role first (RESET would return to the group).
const RESET_ROLE = 'set role none';

const s3Client = (s: Share, key = { accessKeyId: s.accessKey!, secretAccessKey: s.secretKey! }) =>
  new S3Client({
    endpoint: s.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: key,
    maxAttempts: 1,
  });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof S3ServiceException ? err.name : `${(err as Error).name}: ${(err as Error).message}`;
  }
  throw new Error('the request was not refused');
}

describe('shares encrypted and scoped by the agent (relay, no hub certificate)', () => {
  let stack: ShareStack;
  let api: LocalApi;
  let dataDir: string;
  let pgWorkload: Workload;
  let s3Workload: Workload;
  const cli = (args: string[]) => lattice([...args, '--data-dir', dataDir]);
  const cliJson = <T>(args: string[]) => latticeJson<T>([...args, '--data-dir', dataDir]);

  before(async () => {
    await requireFixtureImages('postgres', 'minio');
    stack = await startShareStack({ relaySpan: 8 });
    api = await startLocalApi(stack.agent, { port: 0 });
    dataDir = stack.testAgent.dataDir;
    [pgWorkload, s3Workload] = await Promise.all([
      stack.run('workload.deploy', { template: 'postgres', name: 'enc-pg' }),
      stack.run('workload.deploy', { template: 'minio', name: 'enc-s3' }),
      stack.run('workload.deploy', {
        template: 'custom',
        name: 'enc-tcp',
        image: FIXTURE_IMAGES.postgres,
        ports: [{ container: 5432 }],
        env: { POSTGRES_USER: 'tcpuser', POSTGRES_PASSWORD: 'tcp-visitor-pass-1', POSTGRES_DB: 'tcpdb' },
      }),
    ]);
    assert.equal(pgWorkload.status, 'running');
    assert.equal(s3Workload.status, 'running');
  });
  after(async () => {
    await api?.close();
    await stack?.cleanup();
  });

  test('Postgres: the handed-out string never says sslmode=disable, and psql gets TLS to the container with it', async () => {
    assert.doesNotMatch(pgWorkload.connectionString!, /sslmode=disable/, 'the local string neither');
    const local = await run(PSQL, ['-X', '-At', pgWorkload.connectionString!, '-c', SSL_OF_SESSION]);
    assert.equal(local.stdout.trim(), 't', `libpq's default (prefer) takes the TLS offered: ${local.stderr}`);

    const s = await cliJson<Share>(['share', 'enc-pg', '--via', 'relay', '--expires', '1h']);
    assert.equal(s.kind, 'postgres');
    assert.doesNotMatch(s.connectionString!, /sslmode=disable/);
    assert.equal(new URL(s.connectionString!).searchParams.get('sslmode'), 'require');
    assert.equal(new URL(s.connectionString!).port, String(s.publicPort), 'through the relay port');
    const r = await run(PSQL, [
      '-X',
      '-qAt',
      '-v',
      'ON_ERROR_STOP=1',
      s.connectionString!,
      '-c',
      RESET_ROLE,
      '-c',
      SSL_OF_SESSION,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 't', `the session through the relay is TLS, end to end: ${r.stderr}`);
    // The same string with TLS refused by the client gets nowhere near a password prompt it would answer in clear:
    // the server still allows it, but the string handed out never asks for it.
    const text = (await cli(['share', 'enc-pg', '--via', 'relay'])).stdout;
    assert.doesNotMatch(text, /sslmode=disable/, 'the human-readable output neither');
    await cli(['unshare', 'enc-pg']);
  });

  test('S3: the share hands out its own key; put then get the same bytes through the relay; the root key appears nowhere', async () => {
    const root = { access: s3Workload.accessKey!, secret: s3Workload.secretKey! };
    assert.ok(root.access && root.secret, 'the owner sees the root key locally');
    const out = await cli(['share', 'enc-s3', '--via', 'relay', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const s = JSON.parse(out.stdout) as Share;
    for (const text of [
      out.stdout,
      (await cli(['shares', '--json'])).stdout,
      (await cli(['share', 'enc-s3', '--via', 'relay'])).stdout,
    ]) {
      assert.ok(!text.includes(root.access), 'no root access key in the share output');
      assert.ok(!text.includes(root.secret), 'no root secret in the share output');
    }
    for (const view of await stack.run('share.list', {})) {
      assert.ok(!JSON.stringify(view).includes(root.secret), 'nor in the share view the console shows');
    }
    assert.equal(
      s.url,
      `http://127.0.0.1:${s.publicPort}`,
      'plain http: the relay carries no TLS without a hub certificate',
    );
    assert.ok(s.accessKey && s.secretKey && s.accessKey !== root.access);

    const s3 = s3Client(s);
    const bytes = randomBytes(2 * 1024 * 1024);
    await s3.send(new CreateBucketCommand({ Bucket: 'enc-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'enc-bucket', Key: 'blob.bin', Body: bytes }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'enc-bucket', Key: 'blob.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), bytes, 'the same bytes');
    assert.equal(
      await refusal(
        s3Client(s, { accessKeyId: root.access, secretAccessKey: root.secret }).send(
          new ListBucketsCommand({}),
        ),
      ),
      'InvalidAccessKeyId',
      'even the root key is refused at the share: only the share key opens it',
    );

    // Unshare: the key stops working.
    const revoked = await cliJson<{ revoked: string[] }>(['unshare', s.id]);
    assert.deepEqual(revoked.revoked, [s.id]);
    const after = await refusal(
      s3Client(s).send(new GetObjectCommand({ Bucket: 'enc-bucket', Key: 'blob.bin' })),
    );
    assert.doesNotMatch(after, /^NoSuchKey$/);
    s3.destroy();
  });

  test('S3 read-only, one bucket: reads work, puts and other buckets are refused', async () => {
    const s = await cliJson<Share>([
      'share',
      'enc-s3',
      '--via',
      'relay',
      '--read-only',
      '--bucket',
      'enc-bucket',
    ]);
    assert.equal(s.readOnly, true);
    assert.equal(s.bucket, 'enc-bucket');
    const s3 = s3Client(s);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'enc-bucket', Key: 'blob.bin' }));
    assert.equal((await got.Body!.transformToByteArray()).length, 2 * 1024 * 1024);
    assert.equal(
      await refusal(s3.send(new PutObjectCommand({ Bucket: 'enc-bucket', Key: 'x', Body: 'no' }))),
      'AccessDenied',
    );
    assert.equal(await refusal(s3.send(new CreateBucketCommand({ Bucket: 'elsewhere' }))), 'AccessDenied');
    assert.equal(await refusal(s3.send(new ListBucketsCommand({}))), 'AccessDenied');
    s3.destroy();
    await cli(['unshare', s.id]);

    const bad = await cli(['share', 'enc-s3', '--bucket', 'Not_A_Bucket']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /bucket/i);
  });

  test('a database made before TLS existed (no TLS flags in its command) gets TLS live, and its share works', async () => {
    await stack.run('workload.deploy', { template: 'postgres', name: 'enc-old' });
    // What an older agent wrote: the stored spec without the template's TLS command. Then its
    // container goes away, so `start` recreates it from that row, as after `docker rm`.
    const db = new Database(join(dataDir, DB_FILE));
    try {
      const row = db.prepare('SELECT id, spec FROM workloads WHERE name = ?').get('enc-old') as {
        id: string;
        spec: string;
      };
      const spec = JSON.parse(row.spec) as { command?: string[] };
      delete spec.command;
      db.prepare('UPDATE workloads SET spec = ? WHERE id = ?').run(JSON.stringify(spec), row.id);
    } finally {
      db.close();
    }
    const docker = await requireDocker();
    await docker.getContainer('lattice-enc-old').remove({ force: true });
    await stack.run('workload.get', { ref: 'enc-old' });
    const started = await stack.run('workload.start', { ref: 'enc-old' });
    assert.equal(started.status, 'running');
    const info = await docker.getContainer('lattice-enc-old').inspect();
    assert.ok(
      !info.Config.Cmd?.some((a) => a.startsWith('ssl')),
      `started without TLS flags: ${info.Config.Cmd}`,
    );

    const local = await run(PSQL, [
      '-X',
      '-At',
      `${started.connectionString!}?sslmode=require`,
      '-c',
      SSL_OF_SESSION,
    ]);
    assert.equal(local.stdout.trim(), 't', `TLS turned on live: ${local.stderr}`);
    const s = await cliJson<Share>(['share', 'enc-old', '--via', 'relay']);
    const r = await run(PSQL, ['-X', '-qAt', s.connectionString!, '-c', RESET_ROLE, '-c', SSL_OF_SESSION]);
    assert.equal(r.stdout.trim(), 't', r.stderr);
    await cli(['unshare', 'enc-old']);
  });

  test('a custom image shared with --kind tcp: psql reaches the Postgres inside it through the relay', async () => {
    const s = await cliJson<Share>(['share', 'enc-tcp', '--port', '5432', '--kind', 'tcp', '--via', 'relay']);
    assert.equal(s.kind, 'tcp');
    assert.equal(s.plain, false);
    assert.equal(s.url, `tcp://127.0.0.1:${s.publicPort}`);
    const url = `postgres://tcpuser:tcp-visitor-pass-1@127.0.0.1:${s.publicPort}/tcpdb`;
    const r = await run(PSQL, [
      '-X',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      url,
      '-c',
      "select 'through the tcp share'",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'through the tcp share');
    await cli(['unshare', s.id]);

    const plain = await cliJson<Share>(['share', 'enc-tcp', '--kind', 'tcp', '--plain', '--via', 'relay']);
    assert.equal(plain.plain, true, 'labelled plain in --json');
    assert.match((await cli(['shares'])).stdout, /enc-tcp/);
    await cli(['unshare', plain.id]);

    // A template's port keeps its kind, and --plain is for TCP shares: clear errors, nothing made.
    const wrongKind = await cli(['share', 'enc-pg', '--kind', 'tcp']);
    assert.notEqual(wrongKind.code, 0);
    assert.match(wrongKind.stderr, /shared as postgres/);
    const wrongPlain = await cli(['share', 'enc-pg', '--plain']);
    assert.notEqual(wrongPlain.code, 0);
    assert.match(wrongPlain.stderr, /--plain applies to TCP shares/);
    assert.deepEqual(
      (await stack.run('share.list', {})).filter((x) => x.workloadName === 'enc-pg'),
      [],
    );
  });
});
