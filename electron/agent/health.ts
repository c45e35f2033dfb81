// Readiness checks per template: a real login for Postgres, any HTTP answer for web services,
// a TCP connect, or just "the container runs". Bounded; the caller marks the workload failed on timeout.
import { connect } from 'node:net';
import { request } from 'node:http';
import pg from 'pg';
import type Docker from 'dockerode';
import { TEMPLATES, type Credentials, type HealthCheck } from '../../shared';
import type { SecretBox } from './secrets';
import type { WorkloadRow } from './store';
import { hostPortsOf, openWorkloadSecrets } from './workload-view';

export interface HealthTarget {
  check: HealthCheck;
  host: string;
  ports: Record<string, number>;
  credentials: Credentials;
  /** Whether the container still runs; a container that exited fails the check at once. */
  isRunning: () => Promise<boolean>;
}

/** A workload's readiness check on its host ports, with its own credentials (deploy, start, restart). */
export function workloadHealthTarget(
  row: WorkloadRow,
  box: SecretBox,
  container: Pick<Docker.Container, 'inspect'>,
): HealthTarget {
  return {
    check: TEMPLATES[row.template].health,
    host: '127.0.0.1',
    ports: hostPortsOf(row),
    credentials: openWorkloadSecrets(box, row).credentials,
    isRunning: async () => (await container.inspect()).State.Running,
  };
}

const FAST_POLL_MS = 100;
const FAST_PHASE_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function attempt(t: HealthTarget): Promise<void> {
  const { check } = t;
  switch (check.kind) {
    case 'postgres-login': {
      const client = new pg.Client({
        host: t.host,
        port: t.ports.postgres,
        user: t.credentials.username,
        password: t.credentials.password,
        database: t.credentials.database,
        connectionTimeoutMillis: 3000,
      });
      // pg emits 'error' on the client for late socket failures; swallow them, the query result decides.
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => undefined);
      }
      return;
    }
    case 'http':
      await new Promise<void>((resolve, reject) => {
        const req = request(
          { host: t.host, port: t.ports[check.port], path: check.path, method: 'GET', timeout: 3000 },
          (res) => {
            res.resume();
            // Any HTTP answer means the server is up (401/403 from an authenticated endpoint included).
            if ((res.statusCode ?? 0) < 500) resolve();
            else reject(new Error(`HTTP ${res.statusCode}`));
          },
        );
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end();
      });
      return;
    case 'tcp':
      await new Promise<void>((resolve, reject) => {
        const socket = connect({ host: t.host, port: t.ports[check.port] });
        socket.setTimeout(3000, () => socket.destroy(new Error('timed out')));
        socket.once('connect', () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      });
      return;
    case 'running':
      if (!(await t.isRunning())) throw new Error('the container is not running');
      return;
  }
}

/** Retries until the check passes; throws with the last reason after `timeoutMs` or when the container exits. */
export async function waitHealthy(t: HealthTarget, timeoutMs = 60_000, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  let last = 'no answer yet';
  let delay = FAST_POLL_MS;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new Error('the agent is shutting down');
    try {
      await attempt(t);
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (!(await t.isRunning().catch(() => false))) {
      throw new Error(`the container stopped while starting (last check: ${last})`);
    }
    await sleep(delay);
    // Most services are ready within seconds: poll fast then, so a ready database is noticed within
    // ~100 ms (this is the deploy-to-login time users feel); back off only for slow starters.
    if (Date.now() - started > FAST_PHASE_MS) delay = Math.min(delay * 1.5, 1000);
  }
  throw new Error(`not ready after ${Math.round(timeoutMs / 1000)} s (last check: ${last})`);
}
