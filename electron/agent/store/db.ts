// Opening the agent's SQLite database: WAL (readers never block the writer, crash-safe), foreign
// keys on, a busy timeout for the rare second process (the CLI reading while the agent writes).
import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { loadMigrations, migrate, type Migration } from './migrate';

export type Db = Database.Database;

export function openDatabase(path: string, migrations: Migration[] = loadMigrations()): Db {
  // Owner-only: the file holds sealed secrets and workload metadata. SQLite gives the -wal and -shm
  // files the same permissions as the main file.
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
