// A real PostgreSQL 15 (Debian's postgresql-15) for the hub's tests: initdb into a temporary folder
// owned by the `postgres` user (tests run as root, and PostgreSQL refuses to), a free port on
// 127.0.0.1, its socket in the same folder. One server per test process, started on first use, with a
// fresh database per caller; stopped when the process exits, even after a failure.
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './net';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  port: number;
  dir: string;
  /** A URL for the superuser on database `name`. */
  url(name: string): string;
  /** Creates a database (once per name) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

function asPostgres(args: string[], what: string): void {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `${what} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').trim()}`,
    );
  }
}

function postgresUid(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('no postgres user: apt-get install -y postgresql-15 (see .ci/run)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-pg-'));
  const data = join(dir, 'data');
  const { uid, gid } = postgresUid();
  chownSync(dir, uid, gid);
  const port = await freePort();
  let running = false;
  const stop = () => {
    if (running) {
      running = false;
      spawnSync(
        'runuser',
        ['-u', 'postgres', '--', `${BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop'],
        {
          stdio: 'ignore',
        },
      );
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    asPostgres(
      [`${BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
      'initdb',
    );
    writeFileSync(
      join(data, 'postgresql.auto.conf'),
      'fsync = off\nsynchronous_commit = off\nmax_connections = 300\n',
    );
    asPostgres(
      [
        `${BIN}/pg_ctl`,
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
        'start',
      ],
      'pg_ctl start',
    );
    running = true;
  } catch (err) {
    stop();
    throw err;
  }
  process.once('exit', stop);
  const url = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const created = new Set<string>();
  return {
    port,
    dir,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      if (!created.has(name)) {
        const client = new pg.Client({ connectionString: url('postgres') });
        await client.connect();
        try {
          const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
          if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
        } finally {
          await client.end();
        }
        created.add(name);
      }
      return url(name);
    },
    stop() {
      process.removeListener('exit', stop);
      stop();
    },
  };
}

let shared: Promise<PostgresServer> | undefined;

/** The test process's one server, started on first use and stopped at exit. */
export function sharedPostgresServer(): Promise<PostgresServer> {
  shared ??= startPostgresServer();
  return shared;
}

/** Whether the hub tests of this run use PostgreSQL (`LATTICE_HUB_DATABASE=postgres`) instead of SQLite. */
export const hubDatabaseIsPostgres = (): boolean => {
  const v = process.env.LATTICE_HUB_DATABASE;
  if (v === undefined || v === '' || v === 'sqlite') return false;
  if (v === 'postgres') return true;
  throw new Error(`LATTICE_HUB_DATABASE must be "sqlite" or "postgres", not "${v}"`);
};

let databaseCount = 0;
/** A new, empty database on the shared server. */
export async function freshPostgresDatabase(): Promise<string> {
  const server = await sharedPostgresServer();
  return server.createDatabase(`hub_${process.pid}_${++databaseCount}`);
}
