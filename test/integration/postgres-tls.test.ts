// The agent's TLS for Postgres on a real container of the fixture image: the certificate goes in
// before the first start (the server then refuses nothing and offers TLS), a renewal is picked up by
// a reload without a restart, and a server started without TLS (a workload from before) is switched
// on live. Clients we did not write check it: psql (libpq) and `openssl s_client -starttls postgres`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import type Docker from 'dockerode';
import pino from 'pino';
import { AgentCa, type SecretSlot } from '../../electron/agent/tls/agent-ca';
import { POSTGRES_TLS_FLAGS, PostgresTls, type PgSuperuser } from '../../electron/agent/tls/postgres-tls';
import { SecretBox } from '../../electron/agent/secrets';
import { FIXTURE_IMAGES, removeLabelled, requireFixtureImages, TEST_LABEL } from '../helpers/docker';
import { freePort, waitFor } from '../helpers/net';
import { run } from './share-support';

const RUN_LABEL = `lattice.test.pgtls=${randomBytes(4).toString('hex')}`;

function memorySlot(): SecretSlot & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return {
    values,
    get: (name) => values.get(name),
    set: (name, sealed) => (sealed === null ? values.delete(name) : values.set(name, sealed)),
  };
}

async function createPostgres(
  docker: Docker,
  name: string,
  flags: string[],
): Promise<{ container: Docker.Container; owner: PgSuperuser }> {
  const port = await freePort();
  const owner = {
    host: '127.0.0.1',
    port,
    user: 'u_owner',
    password: randomBytes(18).toString('base64url'),
    database: 'db_tls',
  };
  const [k, v] = RUN_LABEL.split('=');
  const container = await docker.createContainer({
    name: `lattice-test-pgtls-${name}-${randomBytes(3).toString('hex')}`,
    Image: FIXTURE_IMAGES.postgres,
    Cmd: ['postgres', ...flags],
    Env: [
      `POSTGRES_USER=${owner.user}`,
      `POSTGRES_PASSWORD=${owner.password}`,
      `POSTGRES_DB=${owner.database}`,
    ],
    Labels: { [TEST_LABEL]: '1', [k]: v },
    ExposedPorts: { '5432/tcp': {} },
    HostConfig: {
      PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      SecurityOpt: ['no-new-privileges:true'],
    },
  });
  return { container, owner };
}

const url = (o: PgSuperuser, sslmode: string) =>
  `postgres://${o.user}:${encodeURIComponent(o.password)}@${o.host}:${o.port}/${o.database}?sslmode=${sslmode}`;

async function psql(connectionString: string, sql: string): Promise<string> {
  const r = await run('/usr/bin/psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', connectionString, '-c', sql]);
  if (r.code !== 0) throw new Error(`psql failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

const norm = (serial: string) => serial.toLowerCase().replace(/^0+/, '');

/** The serial of the certificate the server presents, as OpenSSL sees it. */
async function presentedSerial(o: PgSuperuser): Promise<string> {
  const r = await run(
    '/usr/bin/openssl',
    ['s_client', '-starttls', 'postgres', '-connect', `${o.host}:${o.port}`, '-showcerts'],
    { input: '' },
  );
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout)?.[0];
  if (!pem) throw new Error(`no certificate from the server: ${r.stderr.slice(-400)}`);
  return norm(new X509Certificate(pem).serialNumber);
}

describe('Postgres TLS from the agent CA (fixture image)', () => {
  let docker: Docker;
  const slot = memorySlot();
  const box = new SecretBox(randomBytes(32));
  let caPromise: Promise<AgentCa> | undefined;
  const tls = new PostgresTls({
    ca: () => (caPromise ??= AgentCa.loadOrCreate(slot, box)),
    secrets: slot,
    box,
    logger: pino({ level: 'silent' }),
  });

  before(async () => {
    docker = await requireFixtureImages('postgres');
  });
  after(async () => {
    await removeLabelled(RUN_LABEL);
  });

  test('a new server starts with TLS from its first start; psql negotiates it; a renewal reloads without restart', async () => {
    const { container, owner } = await createPostgres(docker, 'new', POSTGRES_TLS_FLAGS);
    const workload = { id: 'w-new', name: 'tls-new' };
    const first = await tls.install(workload, container);
    await container.start();
    const startedAt = (await container.inspect()).State.StartedAt;
    await waitFor(
      'a TLS login',
      () => psql(url(owner, 'require'), 'select 1').then((s) => s === '1'),
      60_000,
    );

    assert.equal(
      await psql(url(owner, 'require'), 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'),
      't',
      'the session is encrypted',
    );
    // verify-full against the agent CA written out for the client: the server's certificate is the CA's.
    const caFile = `/tmp/lattice-test-ca-${randomBytes(4).toString('hex')}.crt`;
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(caFile, first.caPem);
    try {
      assert.equal(
        await psql(
          `${url(owner, 'verify-full')}&sslrootcert=${caFile}`,
          'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
        ),
        't',
      );
    } finally {
      rmSync(caFile, { force: true });
    }
    assert.equal(await presentedSerial(owner), norm(first.serial));
    assert.equal(tls.has(workload.id), true);
    for (const sealed of slot.values.values()) assert.ok(!sealed.includes('PRIVATE KEY'), 'keys sealed');

    const second = await tls.rotate(workload, container, owner);
    assert.notEqual(second.serial, first.serial);
    await waitFor(
      'the new certificate on the wire',
      async () => (await presentedSerial(owner)) === norm(second.serial),
      10_000,
    );
    assert.equal((await container.inspect()).State.StartedAt, startedAt, 'no restart');
    assert.equal(
      await psql(url(owner, 'require'), 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'),
      't',
    );
  });

  test('a server that was started without TLS (made before it existed) is switched on live', async () => {
    const { container, owner } = await createPostgres(docker, 'old', []);
    await container.start();
    await waitFor(
      'a plain login',
      () => psql(url(owner, 'disable'), 'select 1').then((s) => s === '1'),
      60_000,
    );
    await assert.rejects(psql(url(owner, 'require'), 'select 1'), /does not support SSL/);

    await tls.install({ id: 'w-old', name: 'tls-old' }, container);
    await tls.reload(owner);
    assert.equal(
      await psql(url(owner, 'require'), 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'),
      't',
    );
    // ALTER SYSTEM lives in the data volume: TLS stays on across a restart.
    await container.restart({ t: 5 });
    await waitFor(
      'TLS after a restart',
      () => psql(url(owner, 'require'), 'show ssl').then((s) => s === 'on'),
      60_000,
    );
  });
});
