// A fresh HubStore for store-level tests: SQLite in a temporary file, or — with
// LATTICE_HUB_DATABASE=postgres — a fresh database on the test process's PostgreSQL 15.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HubStore } from '../../server/store/hub-store';
import { openPostgresStore } from '../../server/store/pg-store';
import { openSqliteStore } from '../../server/store/sqlite-store';
import { freshPostgresDatabase, hubDatabaseIsPostgres } from './postgres-server';

let dir: string | undefined;
let n = 0;

export async function openTestStore(): Promise<HubStore> {
  if (hubDatabaseIsPostgres()) return openPostgresStore(await freshPostgresDatabase());
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'lattice-hub-store-'));
    const made = dir;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return openSqliteStore(join(dir, `hub-${++n}.db`));
}

export const testStoreKind = (): string => (hubDatabaseIsPostgres() ? 'PostgreSQL' : 'SQLite');
