// TLS for every Postgres workload the agent runs, whenever it was made. New containers get their
// certificate before their first start (the template starts the server with ssl=on); a workload
// made before TLS existed gets it live — files in, ALTER SYSTEM, reload — the first time the agent
// sees it running (agent start, its next start, or a share of it). Certificates are renewed a month
// before they end, checked at start and once a day, and reloaded without a restart.
import type Docker from 'dockerode';
import pg from 'pg';
import type { Logger } from 'pino';
import { LatticeError, type Credentials } from '../../../shared';
import type { SecretBox } from '../secrets';
import { AgentCa, needsRenewal, type SecretSlot } from './agent-ca';
import { PostgresTls, workloadCertSecret, type PgSuperuser } from './postgres-tls';
import type { IssuedCert } from './agent-ca';
import type { WorkloadTlsHooks } from '../deploy-pipeline';

/** What DatabaseTls needs to know of a workload (the workloads service resolves it). */
export interface DatabaseWorkload {
  id: string;
  name: string;
  template: string;
  status: string;
  credentials: Credentials;
  /** Host ports by port name. */
  hostPorts: Record<string, number>;
}

export interface DatabaseTlsDeps {
  secrets: SecretSlot;
  box: SecretBox;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The workload by id, with its decrypted credentials. */
  workload(id: string): DatabaseWorkload;
  /** Every workload (for the start-up and daily pass). */
  workloadIds(): string[];
  /** The workload's container, if it exists and carries our labels. */
  container(id: string): Promise<Docker.Container | undefined>;
}

const DAY_MS = 86_400_000;

async function serverSsl(owner: PgSuperuser): Promise<boolean> {
  const client = new pg.Client({
    ...owner,
    connectionTimeoutMillis: 5_000,
    application_name: 'lattice-agent',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ ssl: string }>('SHOW ssl');
    return rows[0]?.ssl === 'on';
  } finally {
    await client.end().catch(() => undefined);
  }
}

export class DatabaseTls implements WorkloadTlsHooks {
  private readonly pgTls: PostgresTls;
  private caPromise: Promise<AgentCa> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: DatabaseTlsDeps) {
    this.pgTls = new PostgresTls({
      ca: () => (this.caPromise ??= AgentCa.loadOrCreate(deps.secrets, deps.box)),
      secrets: deps.secrets,
      box: deps.box,
      logger: deps.logger,
    });
  }

  /** Deploy pipeline: the certificate goes into a created (or stopped) container before it starts. */
  async beforeStart(workload: { id: string; name: string; template: string }, container: Docker.Container) {
    if (workload.template !== 'postgres') return;
    await this.pgTls.install(workload, container);
  }

  /**
   * The running server of a Postgres workload serves TLS with a current certificate of the agent CA:
   * installed and reloaded (no restart) when it does not yet, or when the certificate is due.
   */
  async ensure(workloadId: string): Promise<void> {
    const w = this.deps.workload(workloadId);
    if (w.template !== 'postgres') return;
    const owner = this.ownerOf(w);
    const stored = this.deps.secrets.get(workloadCertSecret(w.id));
    const current = stored ? this.deps.box.openJson<IssuedCert>(stored, workloadCertSecret(w.id)) : undefined;
    if (current && !needsRenewal(current.certPem) && (await serverSsl(owner))) return;
    const container = await this.deps.container(w.id);
    if (!container) {
      throw new LatticeError(
        'not_found',
        `The container of ${w.name} does not exist, so it cannot be given TLS`,
      );
    }
    await this.pgTls.install(w, container);
    await this.pgTls.reload(owner);
    this.deps.logger.info({ workload: w.name }, 'the database serves TLS with the agent CA certificate');
  }

  /**
   * ensure(), retried until the server answers (a start that does not wait for its health check):
   * at most a minute, then a warning in the log.
   */
  ensureSoon(workloadId: string, timeoutMs = 60_000): void {
    const deadline = Date.now() + timeoutMs;
    const attempt = (): void => {
      this.ensure(workloadId).catch((err: Error) => {
        if (this.closed) return;
        if (Date.now() < deadline) {
          setTimeout(attempt, 1_000).unref();
          return;
        }
        this.deps.logger.warn({ workloadId, err: err.message }, 'could not give the database TLS');
      });
    };
    attempt();
  }

  /** Every running Postgres workload, now and once a day: TLS on, certificates renewed. */
  start(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), DAY_MS);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** The workload is deleted: its key goes too. */
  forget(workloadId: string): void {
    this.pgTls.forget(workloadId);
  }

  /** The agent CA's certificate, for clients that verify (`sslrootcert=…`, verify-ca). */
  async caCertificate(): Promise<string> {
    return (await (this.caPromise ??= AgentCa.loadOrCreate(this.deps.secrets, this.deps.box))).certPem;
  }

  private async sweep(): Promise<void> {
    for (const id of this.deps.workloadIds()) {
      if (this.closed) return;
      let w: DatabaseWorkload;
      try {
        w = this.deps.workload(id);
      } catch {
        continue;
      }
      if (w.template !== 'postgres' || w.status !== 'running') continue;
      await this.ensure(id).catch((err) =>
        this.deps.logger.warn(
          { workload: w.name, err: (err as Error).message },
          'could not give the database TLS',
        ),
      );
    }
  }

  private ownerOf(w: DatabaseWorkload): PgSuperuser {
    const { username, password, database } = w.credentials;
    const port = w.hostPorts.postgres;
    if (!username || !password || !database || !port) {
      throw new LatticeError('internal', `${w.name} has no stored owner login or published port`);
    }
    return { host: '127.0.0.1', port, user: username, password, database };
  }
}
