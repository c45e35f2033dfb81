// The hub's numbered migrations: `migrations/NNNN-name.sql`, applied in order, each together with its
// `PRAGMA user_version` bump in one transaction, so a failed step leaves neither half behind. A
// database newer than this code is refused rather than half-understood.
//
// The agent has a runner with the same rules (electron/agent/store/migrate.ts). They are kept apart on
// purpose: server/ may not import electron/, shared/ is the platform-free contract (no node:, no
// SQLite), and this one is the hub's seam for PostgreSQL, whose runner will differ (async, a version
// table under an advisory lock instead of user_version). test/unit/hub-store.test.ts runs both
// runners through the same cases so their rules cannot drift apart.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Thrown when the database was written by a newer hub; `lattice hub` prints its message and exits 1. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `${file} is at schema version ${found}, newer than this hub knows (${known}); ` +
        'run the Lattice version that wrote it, or point --data-dir elsewhere',
    );
    this.name = 'SchemaTooNewError';
  }
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, m: /^(\d{4})-([\w.-]+)\.sql$/.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), name: m[2], sql: readFileSync(join(dir, file), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(
        `Migrations in ${dir} must be numbered 0001, 0002, … without gaps; found ${m.version} at ${i + 1}`,
      );
    }
  });
  return migrations;
}

/**
 * Applies every migration above the database's user_version; returns the versions applied.
 * `file` only names the database in the error for one that is newer than the code.
 */
export function migrate(db: Database.Database, migrations: Migration[], file = 'hub.db'): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) throw new SchemaTooNewError(file, current, latest);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      // PRAGMA takes no bound parameter; the version is a parsed integer.
      db.pragma(`user_version = ${m.version}`);
    })();
    applied.push(m.version);
  }
  return applied;
}
