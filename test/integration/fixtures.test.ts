// The fixture images that stand in for postgres, MinIO and nginx (built by `npm run fixtures`) keep
// the upstream images' contracts, checked here with clients we did not write: pg, the AWS SDK, fetch.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import pg from 'pg';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { FIXTURE_IMAGES, TEST_LABEL, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';

const created: Docker.Container[] = [];

interface Started {
  container: Docker.Container;
  /** Host port on 127.0.0.1 for each container port given. */
  ports: Record<number, number>;
}

/** Runs `image` with the test label, each of `containerPorts` published on a port Docker picks on 127.0.0.1. */
async function startContainer(
  docker: Docker,
  image: string,
  containerPorts: number[],
  options: { env?: Record<string, string>; cmd?: string[] } = {},
): Promise<Started> {
  const container = await docker.createContainer({
    Image: image,
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Cmd: options.cmd,
    Labels: { [TEST_LABEL]: '1' },
    ExposedPorts: Object.fromEntries(containerPorts.map((p) => [`${p}/tcp`, {}])),
    HostConfig: {
      PortBindings: Object.fromEntries(
        containerPorts.map((p) => [`${p}/tcp`, [{ HostIp: '127.0.0.1', HostPort: '' }]]),
      ),
    },
  });
  created.push(container);
  await container.start();
  return { container, ports: await publishedPorts(container, containerPorts) };
}

async function publishedPorts(
  container: Docker.Container,
  containerPorts: number[],
): Promise<Record<number, number>> {
  const info = await container.inspect();
  return Object.fromEntries(
    containerPorts.map((p) => {
      const binding = info.NetworkSettings.Ports[`${p}/tcp`]?.[0];
      assert.ok(binding, `port ${p} of ${info.Name} is not published`);
      return [p, Number(binding.HostPort)];
    }),
  );
}

async function logsOf(container: Docker.Container): Promise<string> {
  const buf = await container.logs({ stdout: true, stderr: true, follow: false });
  return buf.toString('utf8');
}

/** `docker stop`, then the exit code: 0 only if the main process handled the stop signal itself. */
async function stopAndGetExitCode(container: Docker.Container): Promise<number> {
  await container.stop({ t: 10 });
  return (await container.inspect()).State.ExitCode;
}

/** Runs a command inside the container; no TTY, so psql prints plainly instead of starting a pager. */
async function execIn(
  docker: Docker,
  container: Docker.Container,
  cmd: string[],
): Promise<{ exitCode: number; output: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, output: Buffer.concat(chunks).toString('utf8') };
}

after(async () => {
  await Promise.all(created.map((c) => c.remove({ force: true, v: true }).catch(() => undefined)));
});

describe('fixture images', () => {
  let docker: Docker;

  before(async () => {
    docker = await requireFixtureImages('postgres', 'minio', 'nginx');
  });

  it('carry the lattice.fixture label', async () => {
    for (const image of Object.values(FIXTURE_IMAGES)) {
      const info = await docker.getImage(image).inspect();
      assert.equal(info.Config.Labels?.['lattice.fixture'], '1', `${image} lacks lattice.fixture=1`);
    }
  });

  describe('lattice-fixture/postgres:15', () => {
    const password = randomBytes(12).toString('hex');
    const user = 'lattice_app';
    const database = 'appdb';
    let pgContainer: Started;

    const connect = async (port: number, pass: string) => {
      const client = new pg.Client({ host: '127.0.0.1', port, user, password: pass, database });
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      return client;
    };

    before(async () => {
      pgContainer = await startContainer(docker, FIXTURE_IMAGES.postgres, [5432], {
        env: {
          POSTGRES_USER: user,
          POSTGRES_PASSWORD: password,
          POSTGRES_DB: database,
          POSTGRES_INITDB_ARGS: '--auth-host=scram-sha-256',
        },
      });
    });

    it('accepts a password login over TCP and answers a query', async () => {
      const client = await waitFor(
        'postgres to accept a login',
        () => connect(pgContainer.ports[5432], password),
        60_000,
      );
      try {
        const { rows } = await client.query<{ who: string; db: string; version: string; sum: number }>(
          'SELECT current_user AS who, current_database() AS db, version() AS version, 20 + 22 AS sum',
        );
        assert.deepEqual(
          { who: rows[0].who, db: rows[0].db, sum: rows[0].sum },
          { who: user, db: database, sum: 42 },
        );
        assert.match(rows[0].version, /^PostgreSQL 15\./);
        await client.query('CREATE TABLE kept (note text)');
        await client.query("INSERT INTO kept VALUES ('survives a restart')");
      } finally {
        await client.end();
      }
    });

    it('refuses a wrong password with scram-sha-256', async () => {
      await assert.rejects(
        connect(pgContainer.ports[5432], `${password}-wrong`),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, '28P01', `expected invalid_password, got ${err.code}: ${err.message}`);
          return true;
        },
      );
    });

    it('lets `docker exec psql` in through the local socket', async () => {
      const { exitCode, output } = await execIn(docker, pgContainer.container, [
        'psql',
        '-U',
        user,
        '-d',
        database,
        '-Atc',
        'SELECT note FROM kept',
      ]);
      assert.equal(exitCode, 0, output);
      assert.match(output, /survives a restart/);
    });

    it('stops cleanly and restarts on its data without initialising again', async () => {
      assert.equal(await stopAndGetExitCode(pgContainer.container), 0, await logsOf(pgContainer.container));
      await pgContainer.container.start();
      const port = (await publishedPorts(pgContainer.container, [5432]))[5432];
      const client = await waitFor('postgres to come back', () => connect(port, password), 60_000);
      try {
        const { rows } = await client.query<{ note: string }>('SELECT note FROM kept');
        assert.deepEqual(
          rows.map((r) => r.note),
          ['survives a restart'],
        );
      } finally {
        await client.end();
      }
      const initRuns = (await logsOf(pgContainer.container)).match(/init process complete/g) ?? [];
      assert.equal(initRuns.length, 1, 'initdb ran again on an existing data directory');
    });

    it('refuses to initialise without POSTGRES_PASSWORD', async () => {
      const { container } = await startContainer(docker, FIXTURE_IMAGES.postgres, [], {
        env: { POSTGRES_USER: user },
      });
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      assert.notEqual(StatusCode, 0);
      assert.match(await logsOf(container), /POSTGRES_PASSWORD/);
    });
  });

  describe('lattice-fixture/minio:latest', () => {
    const accessKeyId = `lattice-${randomBytes(4).toString('hex')}`;
    const secretAccessKey = randomBytes(16).toString('hex');
    let minio: Started;

    const client = (id: string, secret: string) =>
      new S3Client({
        endpoint: `http://127.0.0.1:${minio.ports[9000]}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: id, secretAccessKey: secret },
      });

    const refusal = async (s3: S3Client): Promise<{ status?: number; name: string }> => {
      try {
        await s3.send(new ListBucketsCommand({}));
      } catch (err) {
        assert.ok(err instanceof S3ServiceException, `not an S3 error: ${String(err)}`);
        return { status: err.$metadata.httpStatusCode, name: err.name };
      } finally {
        s3.destroy();
      }
      assert.fail('the request was accepted');
    };

    before(async () => {
      minio = await startContainer(docker, FIXTURE_IMAGES.minio, [9000, 9001], {
        env: { MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey },
        cmd: ['server', '/data', '--console-address', ':9001'],
      });
      await waitFor('minio health', async () => {
        const res = await fetch(`http://127.0.0.1:${minio.ports[9000]}/minio/health/live`);
        return res.status === 200;
      });
    });

    it('stores and returns 10 MiB unchanged through the AWS SDK', async () => {
      const s3 = client(accessKeyId, secretAccessKey);
      try {
        const bucket = 'lattice-fixture-test';
        const body = randomBytes(10 * 1024 * 1024);
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'blobs/ten mib.bin', Body: body }));
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'blobs/ten mib.bin' }));
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        assert.equal(bytes.length, body.length);
        assert.ok(bytes.equals(body), 'object bytes differ from what was put');
        const { Buckets } = await s3.send(new ListBucketsCommand({}));
        assert.deepEqual(
          Buckets?.map((b) => b.Name),
          [bucket],
        );
      } finally {
        s3.destroy();
      }
    });

    it('refuses an unknown access key, the built-in S3RVER key and a wrong secret', async () => {
      assert.deepEqual(await refusal(client('not-the-key', secretAccessKey)), {
        status: 403,
        name: 'InvalidAccessKeyId',
      });
      assert.deepEqual(await refusal(client('S3RVER', 'S3RVER')), {
        status: 403,
        name: 'InvalidAccessKeyId',
      });
      assert.deepEqual(await refusal(client(accessKeyId, `${secretAccessKey}x`)), {
        status: 403,
        name: 'SignatureDoesNotMatch',
      });
    });

    it('refuses anonymous requests but answers health and console without credentials', async () => {
      const anonymous = await fetch(`http://127.0.0.1:${minio.ports[9000]}/`);
      assert.equal(anonymous.status, 403);
      assert.match(await anonymous.text(), /AccessDenied/);
      const consolePage = await fetch(`http://127.0.0.1:${minio.ports[9001]}/`);
      assert.equal(consolePage.status, 200);
      assert.match(await consolePage.text(), /MinIO Console/);
    });

    it('shuts down on docker stop', async () => {
      assert.equal(await stopAndGetExitCode(minio.container), 0, await logsOf(minio.container));
    });
  });

  describe('lattice-fixture/nginx:latest', () => {
    it('serves its welcome page on port 80 and stops cleanly', async () => {
      const { container, ports } = await startContainer(docker, FIXTURE_IMAGES.nginx, [80]);
      const res = await waitFor('nginx to answer', async () => {
        const r = await fetch(`http://127.0.0.1:${ports[80]}/`);
        return r.status === 200 ? r : undefined;
      });
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await res.text(), /Welcome to nginx!/);
      assert.equal(await stopAndGetExitCode(container), 0, await logsOf(container));
    });
  });
});
