// The S3 share front against the fixture S3 server (which checks SigV4 itself, with the root key
// only), driven by @aws-sdk/client-s3: the share's key works and the root key is what the server
// sees; the root key, a wrong secret, writes on a read-only share, other buckets on a scoped share,
// bucket-policy changes, a body that does not match its signed hash and a closed share are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type Docker from 'dockerode';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  CopyObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  newS3ShareKey,
  S3ShareProxy,
  type S3Key,
  type S3ShareScope,
} from '../../electron/agent/shares/s3-share-proxy';
import { signerFor } from '../../electron/agent/shares/s3-sigv4';
import { FIXTURE_IMAGES, removeLabelled, requireFixtureImages, TEST_LABEL } from '../helpers/docker';
import { freePort, waitFor } from '../helpers/net';

const RUN_LABEL = `lattice.test.s3proxy=${randomBytes(4).toString('hex')}`;

const client = (port: number, key: S3Key) =>
  new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: key,
    maxAttempts: 1,
  });

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.name;
    throw err;
  }
  throw new Error('the request was not refused');
}

describe('S3 share front (SigV4 checked with the share key, re-signed with the root key)', () => {
  let docker: Docker;
  let s3Port: number;
  const root: S3Key = {
    accessKeyId: `root${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  const proxies: S3ShareProxy[] = [];
  const open = async (scope: S3ShareScope, key = newS3ShareKey()) => {
    const proxy = await S3ShareProxy.start({
      key,
      scope,
      upstream: { host: '127.0.0.1', port: s3Port, key: root },
    });
    proxies.push(proxy);
    return { proxy, key, s3: client(proxy.port, key) };
  };

  before(async () => {
    docker = await requireFixtureImages('minio');
    s3Port = await freePort();
    const [k, v] = RUN_LABEL.split('=');
    const c = await docker.createContainer({
      Image: FIXTURE_IMAGES.minio,
      Cmd: ['server', '/data', '--console-address', ':9001'],
      Env: [`MINIO_ROOT_USER=${root.accessKeyId}`, `MINIO_ROOT_PASSWORD=${root.secretAccessKey}`],
      Labels: { [TEST_LABEL]: '1', [k]: v },
      ExposedPorts: { '9000/tcp': {} },
      HostConfig: { PortBindings: { '9000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(s3Port) }] } },
    });
    await c.start();
    const direct = client(s3Port, root);
    await waitFor('the S3 server', () => direct.send(new ListBucketsCommand({})).then(() => true), 60_000);
    await direct.send(new CreateBucketCommand({ Bucket: 'other' }));
    await direct.send(new PutObjectCommand({ Bucket: 'other', Key: 'secret.txt', Body: 'not yours' }));
  });
  after(async () => {
    for (const p of proxies) await p.close().catch(() => undefined);
    await removeLabelled(RUN_LABEL);
  });

  test('read-write: create, put and get the same bytes with the share key; the root key is refused at the share', async () => {
    const { s3, proxy, key } = await open({ readOnly: false });
    assert.match(key.accessKeyId, /^[A-Z0-9]{20}$/);
    assert.ok(key.secretAccessKey.length >= 40);
    await s3.send(new CreateBucketCommand({ Bucket: 'shared' }));
    const bytes = randomBytes(300_000);
    await s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'dir/blob one.bin', Body: bytes }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'dir/blob one.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), bytes);
    // A streamed body of unknown length (the SDK sends it aws-chunked with a checksum trailer).
    const { Readable } = await import('node:stream');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'shared',
        Key: 'streamed',
        Body: Readable.from([Buffer.from('abc'), Buffer.from('def')]),
        ContentLength: 6,
      }),
    );
    const streamed = await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: 'streamed' }));
    assert.equal(await streamed.Body!.transformToString(), 'abcdef');

    assert.equal(
      await refusal(client(proxy.port, root).send(new ListBucketsCommand({}))),
      'InvalidAccessKeyId',
    );
    const wrongSecret = { ...key, secretAccessKey: randomBytes(30).toString('base64url') };
    assert.equal(
      await refusal(
        client(proxy.port, wrongSecret).send(new GetObjectCommand({ Bucket: 'shared', Key: 'streamed' })),
      ),
      'SignatureDoesNotMatch',
    );
    assert.equal(
      await refusal(
        s3.send(
          new PutBucketPolicyCommand({ Bucket: 'shared', Policy: '{"Version":"2012-10-17","Statement":[]}' }),
        ),
      ),
      'AccessDenied',
      'no bucket policy through a share',
    );
    assert.equal(
      await refusal(
        s3.send(new PutObjectCommand({ Bucket: 'shared', Key: 'public', Body: 'x', ACL: 'public-read' })),
      ),
      'AccessDenied',
      'no public-read object through a share',
    );
    assert.equal(
      await refusal(
        s3.send(
          new PutObjectCommand({
            Bucket: 'shared',
            Key: 'locked',
            Body: 'x',
            ObjectLockMode: 'COMPLIANCE',
            ObjectLockRetainUntilDate: new Date(Date.now() + 365 * 86_400_000),
          }),
        ),
      ),
      'AccessDenied',
      'no object lock through a share',
    );
  });

  test('read-only: reads work, every write is refused', async () => {
    const rw = await open({ readOnly: false });
    await rw.s3.send(new CreateBucketCommand({ Bucket: 'ro-bucket' }));
    await rw.s3.send(new PutObjectCommand({ Bucket: 'ro-bucket', Key: 'a', Body: 'hello' }));
    const { s3 } = await open({ readOnly: true });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'ro-bucket', Key: 'a' }));
    assert.equal(await got.Body!.transformToString(), 'hello');
    assert.equal(
      await refusal(s3.send(new PutObjectCommand({ Bucket: 'ro-bucket', Key: 'b', Body: 'x' }))),
      'AccessDenied',
    );
    assert.equal(await refusal(s3.send(new CreateBucketCommand({ Bucket: 'ro-new' }))), 'AccessDenied');
  });

  test('one bucket: other buckets, the bucket list and copies out of other buckets are refused', async () => {
    const { s3 } = await open({ readOnly: false, bucket: 'scoped' });
    await s3.send(new CreateBucketCommand({ Bucket: 'scoped' }));
    await s3.send(new PutObjectCommand({ Bucket: 'scoped', Key: 'k', Body: 'in scope' }));
    assert.equal(
      await (await s3.send(new GetObjectCommand({ Bucket: 'scoped', Key: 'k' }))).Body!.transformToString(),
      'in scope',
    );
    assert.equal(
      await refusal(s3.send(new GetObjectCommand({ Bucket: 'other', Key: 'secret.txt' }))),
      'AccessDenied',
    );
    assert.equal(await refusal(s3.send(new ListBucketsCommand({}))), 'AccessDenied');
    assert.equal(
      await refusal(
        s3.send(new CopyObjectCommand({ Bucket: 'scoped', Key: 'stolen', CopySource: 'other/secret.txt' })),
      ),
      'AccessDenied',
    );
  });

  test('presigned GET works with the share key; a body that does not match its signed hash never lands', async () => {
    const { proxy, key, s3 } = await open({ readOnly: false });
    await s3.send(new CreateBucketCommand({ Bucket: 'presigned' }));
    await s3.send(new PutObjectCommand({ Bucket: 'presigned', Key: 'p', Body: 'presigned body' }));
    const host = `127.0.0.1:${proxy.port}`;
    const signer = signerFor(key, 'us-east-1');
    const presigned = await signer.presign(
      // As @aws-sdk/s3-request-presigner does it: an unsigned payload, left out of the signed headers.
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: proxy.port,
        path: '/presigned/p',
        query: {},
        headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      {
        expiresIn: 60,
        unsignableHeaders: new Set(['x-amz-content-sha256']),
        unhoistableHeaders: new Set(['x-amz-content-sha256']),
      },
    );
    const url = `http://${host}/presigned/p?${new URLSearchParams(presigned.query as Record<string, string>)}`;
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'presigned body');
    const tampered = url.replace(/X-Amz-Expires=60/, 'X-Amz-Expires=600');
    assert.equal((await fetch(tampered)).status, 403);

    // Signed for "good", sent "evil": refused, and the object does not appear.
    const good = Buffer.from('good body');
    const evil = Buffer.from('evil body');
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: proxy.port,
      path: '/presigned/swapped',
      query: {},
      headers: {
        host,
        'content-length': String(good.length),
        'x-amz-content-sha256': createHash('sha256').update(good).digest('hex'),
      },
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: proxy.port,
          method: 'PUT',
          path: '/presigned/swapped',
          headers: signed.headers,
        },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(evil);
    });
    assert.equal(status, 400);
    assert.equal(
      await refusal(s3.send(new GetObjectCommand({ Bucket: 'presigned', Key: 'swapped' }))),
      'NoSuchKey',
    );
  });

  test('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: chunk signatures are checked and replaced; a forged chunk never lands', async () => {
    const { proxy, key, s3 } = await open({ readOnly: false });
    await s3.send(new CreateBucketCommand({ Bucket: 'chunked' }));
    const host = `127.0.0.1:${proxy.port}`;
    const signer = signerFor(key, 'us-east-1');
    const empty = createHash('sha256').update('').digest('hex');
    // What mc and the Java/Go SDKs send over plain HTTP: every chunk signed, chained from the request's signature.
    const upload = async (objectKey: string, chunks: Buffer[], forge?: number) => {
      const date = new Date();
      const sizes = [...chunks.map((c) => c.length), 0];
      const length = sizes.reduce((n, size) => n + size.toString(16).length + 17 + 64 + 2 + size + 2, 0);
      const signed = await signer.sign(
        {
          method: 'PUT',
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: proxy.port,
          path: `/chunked/${objectKey}`,
          query: {},
          headers: {
            host,
            'content-encoding': 'aws-chunked',
            'content-length': String(length),
            'x-amz-decoded-content-length': String(chunks.reduce((n, c) => n + c.length, 0)),
            'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          },
        },
        { signingDate: date },
      );
      const amzDate = String(signed.headers['x-amz-date']);
      const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
      let prev = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))![1];
      const parts: Buffer[] = [];
      for (const [i, chunk] of [...chunks, Buffer.alloc(0)].entries()) {
        const hash = createHash('sha256').update(chunk).digest('hex');
        let sig = await signer.sign(
          ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, empty, hash].join('\n'),
          { signingDate: date },
        );
        prev = sig;
        if (i === forge) sig = sig.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
        parts.push(
          Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        );
      }
      const body = Buffer.concat(parts);
      assert.equal(body.length, length);
      return new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: proxy.port,
            method: 'PUT',
            path: `/chunked/${objectKey}`,
            headers: signed.headers,
          },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    };
    const a = randomBytes(70_000);
    const b = randomBytes(1_000);
    assert.equal(await upload('good', [a, b]), 200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'chunked', Key: 'good' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), Buffer.concat([a, b]));
    assert.equal(await upload('forged', [a, b], 1), 403);
    assert.equal(
      await refusal(s3.send(new GetObjectCommand({ Bucket: 'chunked', Key: 'forged' }))),
      'NoSuchKey',
    );
  });

  test('closing the share cuts the key at once', async () => {
    const { proxy, s3, key } = await open({ readOnly: false });
    await s3.send(new ListBucketsCommand({}));
    await proxy.close();
    await assert.rejects(s3.send(new ListBucketsCommand({})), 'its open connection is cut');
    await assert.rejects(
      client(proxy.port, key).send(new ListBucketsCommand({})),
      (err: Error & { code?: string }) => err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(err.message),
    );
  });
});
