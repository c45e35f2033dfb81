// MinIO and a web app shared through the hub relay, proven with clients we did not write: the AWS
// SDK puts and gets 10 MiB through the share; curl fetches the nginx page, with and without basic auth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FIXTURE_IMAGES, requireFixtureImages } from '../helpers/docker';
import type { Share } from '../../shared';
import { api } from './hub-fixtures';
import { run, startShareStack, type ShareStack } from './share-support';

const CURL = '/usr/bin/curl';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sharing S3 and HTTP through the hub relay', () => {
  let stack: ShareStack;

  before(async () => {
    await requireFixtureImages('minio', 'nginx');
    stack = await startShareStack({ relaySpan: 6 });
    const [minio, web] = await Promise.all([
      stack.run('workload.deploy', { template: 'minio', name: 'share-s3' }),
      stack.run('workload.deploy', {
        template: 'custom',
        name: 'share-web',
        image: FIXTURE_IMAGES.nginx,
        ports: [{ container: 80 }],
      }),
    ]);
    assert.equal(minio.status, 'running');
    assert.equal(web.status, 'running');
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('the AWS SDK puts and gets a 10 MiB object through an S3 share', async () => {
    const s = await stack.run('share.create', { workload: 'share-s3', via: 'relay' });
    assert.equal(s.kind, 's3');
    assert.equal(s.url, `http://127.0.0.1:${s.publicPort}`);
    assert.ok(s.accessKey && s.secretKey, 'MinIO is never shared without credentials');
    const s3 = new S3Client({
      endpoint: s.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s.accessKey!, secretAccessKey: s.secretKey! },
    });
    try {
      const body = randomBytes(10 * 1024 * 1024);
      await s3.send(new CreateBucketCommand({ Bucket: 'shared-bucket' }));
      await s3.send(new PutObjectCommand({ Bucket: 'shared-bucket', Key: 'big.bin', Body: body }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'shared-bucket', Key: 'big.bin' }));
      const bytes = await got.Body!.transformToByteArray();
      assert.equal(bytes.length, body.length);
      assert.equal(sha256(bytes), sha256(body), 'identical bytes');

      const anonymous = await fetch(`${s.url}/shared-bucket/big.bin`);
      assert.ok(
        anonymous.status === 403 || anonymous.status === 401,
        `anonymous read refused (${anonymous.status})`,
      );
      await anonymous.body?.cancel();
    } finally {
      s3.destroy();
    }
    await stack.run('share.revoke', { ref: s.id });
  });

  test('curl gets the nginx page through an HTTP share', async () => {
    const s = await stack.run('share.create', { workload: 'share-web', via: 'relay' });
    assert.equal(s.kind, 'http');
    assert.equal(s.basicAuth, false);
    assert.equal(s.url, `http://127.0.0.1:${s.publicPort}`);
    const page = await run(CURL, ['-sS', '-w', '\n%{http_code}', `${s.url}/`]);
    assert.equal(page.code, 0, page.stderr);
    assert.match(page.stdout, /Welcome to nginx!/);
    assert.match(page.stdout, /\n200$/);
    const missing = await run(CURL, [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${s.url}/no-such-page`,
    ]);
    assert.equal(missing.stdout, '404');
    await stack.run('share.revoke', { ref: s.id });
  });

  test('the owner can share and unshare from the remote dashboard, through the hub', async () => {
    const remote = <T>(name: string, args: unknown) =>
      api<{ ok: boolean; value: T }>(stack.hub, 'POST', `/api/devices/${stack.deviceId}/commands`, {
        token: stack.accessToken,
        body: { id: `cmd-${name}-${Date.now()}`, name, args },
      });
    const created = await remote<Share>('share.create', {
      workload: 'share-web',
      via: 'relay',
      expires: '1h',
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const s = created.body.value;
    const page = await run(CURL, ['-sS', `${s.url}/`]);
    assert.match(page.stdout, /Welcome to nginx!/);
    const revoked = await remote<{ revoked: string[] }>('share.revoke', { ref: s.id });
    assert.deepEqual(revoked.body.value.revoked, [s.id]);
    const after = await run(CURL, ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${s.url}/`]);
    assert.equal(after.stdout, '000', 'the port is closed');
  });

  test('with basic auth, no credentials get 401 and the generated ones get the page', async () => {
    const s = await stack.run('share.create', { workload: 'share-web', via: 'relay', basicAuth: true });
    assert.equal(s.basicAuth, true);
    assert.ok(s.username && s.password && s.password.length >= 16, 'generated credentials are shown');

    const anonymous = await run(CURL, ['-sS', '-D', '-', '-o', '/dev/null', `${s.url}/`]);
    assert.match(anonymous.stdout, /^HTTP\/1\.1 401/);
    assert.match(anonymous.stdout, /www-authenticate: Basic realm=/i);
    const wrong = await run(CURL, [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      `${s.username}:wrong`,
      `${s.url}/`,
    ]);
    assert.equal(wrong.stdout, '401');
    const right = await run(CURL, [
      '-sS',
      '-w',
      '\n%{http_code}',
      '-u',
      `${s.username}:${s.password}`,
      `${s.url}/`,
    ]);
    assert.match(right.stdout, /Welcome to nginx!/);
    assert.match(right.stdout, /\n200$/);

    await stack.run('share.revoke', { ref: 'share-web' });
    const after = await run(CURL, [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-u',
      `${s.username}:${s.password}`,
      `${s.url}/`,
    ]);
    assert.notEqual(after.code, 0, 'the port is closed after unshare');
    assert.equal(after.stdout, '000');
  });
});
