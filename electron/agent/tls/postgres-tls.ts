// TLS for the Postgres template: the server certificate the agent's CA issues goes into the
// container's own filesystem (not the data volume) with Docker's archive API, before the container
// first starts — and again, into the running container, when it is renewed, followed by
// pg_reload_conf(): no restart, open sessions keep going.
//
// Why the archive API and not a wrapper entrypoint: the image keeps its own entrypoint untouched
// (upstream's root-then-gosu dance, initdb, init scripts), nothing secret goes through the
// container's environment or command line (both readable in `docker inspect`), and the same call
// works on a created, a stopped and a running container. The files are owned by the image's own
// `postgres` user, read from the image's /etc/passwd (999 upstream, another uid in Debian-built
// images), because the server refuses a key that is not 0600 and its own.
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import pg from 'pg';
import * as tar from 'tar-stream';
import type { Logger } from 'pino';
import { POSTGRES_TLS_FILES, TEMPLATES } from '../../../shared';
import type { SecretBox } from '../secrets';
import { needsRenewal, type AgentCa, type IssuedCert, type SecretSlot } from './agent-ca';

export const PG_TLS_DIR = POSTGRES_TLS_FILES.dir;
export const PG_CERT_FILE = POSTGRES_TLS_FILES.cert;
export const PG_KEY_FILE = POSTGRES_TLS_FILES.key;

/** Server flags of the Postgres template (after `postgres`): TLS on, with the files install() puts in. */
export const POSTGRES_TLS_FLAGS = TEMPLATES.postgres.command!.slice(1);

/** The user the official image (and images honouring its contract) runs the server as. */
const UPSTREAM_POSTGRES_ID = { uid: 999, gid: 999 };

export interface ServerUser {
  uid: number;
  gid: number;
}

/** The sealed record of a workload's server certificate, in the store's `secrets` table. */
export const workloadCertSecret = (workloadId: string) => `tls.workload.${workloadId}`;

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** The one file out of a `docker cp`-style tar stream. */
async function firstFileOf(archive: NodeJS.ReadableStream): Promise<Buffer | undefined> {
  const extract = tar.extract();
  let found: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      readAll(stream as unknown as AsyncIterable<Uint8Array>).then((body) => {
        if (found === undefined && header.type === 'file') found = body;
        next();
      }, reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  (archive as Readable).pipe(extract);
  await done;
  return found;
}

/** `postgres`'s uid and gid in the container's image, or upstream's 999:999 when it has none. */
export async function serverUserOf(container: Docker.Container): Promise<ServerUser> {
  let passwd: Buffer | undefined;
  try {
    passwd = await firstFileOf(await container.getArchive({ path: '/etc/passwd' }));
  } catch {
    return UPSTREAM_POSTGRES_ID;
  }
  for (const line of (passwd ?? Buffer.alloc(0)).toString('utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'postgres' && /^\d+$/.test(uid ?? '') && /^\d+$/.test(gid ?? '')) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  return UPSTREAM_POSTGRES_ID;
}

/** A tar of the TLS directory: certificate and CA readable, key 0600 and the server user's. */
export async function tlsArchive(cert: IssuedCert, user: ServerUser): Promise<Buffer> {
  const pack = tar.pack();
  const mtime = new Date();
  const dir = PG_TLS_DIR.replace(/^\//, '');
  const parts = dir.split('/');
  // From /etc/lattice down: an entry for /etc itself could reset the image's own directory's mode.
  for (let i = 2; i <= parts.length; i++) {
    pack.entry({
      name: `${parts.slice(0, i).join('/')}/`,
      type: 'directory',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime,
    });
  }
  const file = (name: string, body: string, mode: number) =>
    pack.entry({ name: `${dir}/${name}`, mode, uid: user.uid, gid: user.gid, mtime }, body);
  file('server.crt', cert.certPem + cert.caPem, 0o644);
  file('ca.crt', cert.caPem, 0o644);
  file('server.key', cert.keyPem, 0o600);
  pack.finalize();
  return readAll(pack as unknown as AsyncIterable<Uint8Array>);
}

export interface PostgresTlsDeps {
  /** The agent CA, made on first use. */
  ca: () => Promise<AgentCa>;
  secrets: SecretSlot;
  box: SecretBox;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/** The owner's login on the workload's published port, for the reload. */
export interface PgSuperuser {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * The certificates of the agent's Postgres workloads: issued once per workload, kept sealed in the
 * store, put into each (re)created container, renewed a month before they end.
 */
export class PostgresTls {
  constructor(private readonly deps: PostgresTlsDeps) {}

  /** The workload's current certificate, issued (or renewed) when there is none still good. */
  async certificateFor(workload: { id: string; name: string }): Promise<IssuedCert> {
    const name = workloadCertSecret(workload.id);
    const sealed = this.deps.secrets.get(name);
    if (sealed) {
      const stored = this.deps.box.openJson<IssuedCert>(sealed, name);
      if (!needsRenewal(stored.certPem)) return stored;
    }
    const ca = await this.deps.ca();
    const issued = await ca.issueServerCert({
      commonName: `lattice-${workload.name}`,
      dnsNames: ['localhost', `lattice-${workload.name}`],
      ips: ['127.0.0.1', '::1'],
    });
    this.deps.secrets.set(name, this.deps.box.sealJson(issued, name));
    this.deps.logger.info(
      { workload: workload.name, serial: issued.serial, notAfter: issued.notAfter },
      'issued the database server certificate',
    );
    return issued;
  }

  /** Puts the workload's certificate and key into its container (created, stopped or running). */
  async install(workload: { id: string; name: string }, container: Docker.Container): Promise<IssuedCert> {
    const cert = await this.certificateFor(workload);
    const user = await serverUserOf(container);
    await container.putArchive(await tlsArchive(cert, user), { path: '/' });
    return cert;
  }

  /**
   * Makes the running server use the files now in place. A server started without the TLS flags (a
   * workload made before TLS existed) is switched on through ALTER SYSTEM, which lives in the data
   * volume and so survives restarts. Resolves once `SHOW ssl` says on; rejects with the reason
   * otherwise (the server keeps its previous settings if the new ones are unusable).
   */
  async reload(owner: PgSuperuser, timeoutMs = 5_000): Promise<void> {
    const client = new pg.Client({
      ...owner,
      connectionTimeoutMillis: 10_000,
      application_name: 'lattice-agent',
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<{ source: string; setting: string }>(
        "SELECT source, setting FROM pg_settings WHERE name = 'ssl'",
      );
      if (rows[0]?.source !== 'command line') {
        await client.query(`ALTER SYSTEM SET ssl_cert_file = '${PG_CERT_FILE}'`);
        await client.query(`ALTER SYSTEM SET ssl_key_file = '${PG_KEY_FILE}'`);
        await client.query('ALTER SYSTEM SET ssl = on');
      }
      await client.query('SELECT pg_reload_conf()');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Each SHOW in a fresh session would be exact; the reload reaches this backend too, at its next command.
        const { rows: now } = await client.query<{ ssl: string }>('SHOW ssl');
        if (now[0]?.ssl === 'on') return;
        if (Date.now() > deadline) {
          throw new Error(
            'the database server did not turn TLS on after a reload (see its log for the certificate error)',
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Issues a fresh certificate now (key compromise, or a test), installs it and reloads. */
  async rotate(
    workload: { id: string; name: string },
    container: Docker.Container,
    owner: PgSuperuser,
  ): Promise<IssuedCert> {
    this.deps.secrets.set(workloadCertSecret(workload.id), null);
    const cert = await this.install(workload, container);
    await this.reload(owner);
    return cert;
  }

  /** Whether the workload has been given a certificate (its connection strings then ask for TLS). */
  has(workloadId: string): boolean {
    return this.deps.secrets.get(workloadCertSecret(workloadId)) !== undefined;
  }

  /** The CA that signed the workload's certificate, for `sslmode=verify-ca`. */
  caOf(workloadId: string): string | undefined {
    const name = workloadCertSecret(workloadId);
    const sealed = this.deps.secrets.get(name);
    return sealed ? this.deps.box.openJson<IssuedCert>(sealed, name).caPem : undefined;
  }

  /** The workload is deleted: its key goes with it. */
  forget(workloadId: string): void {
    this.deps.secrets.set(workloadCertSecret(workloadId), null);
  }
}
