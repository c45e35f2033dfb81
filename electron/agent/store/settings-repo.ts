// Settings (JSON values by key) and named sealed secrets.
import type { Db } from './db';

export class SettingsRepo {
  constructor(private readonly db: Db) {}

  get<T>(key: string): T | undefined {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as
      { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  set(key: string, value: unknown): void {
    if (value === undefined || value === null) {
      this.db.prepare('DELETE FROM settings WHERE key = ?').run(key);
      return;
    }
    this.db
      .prepare(
        'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value));
  }
}

/** Sealed values by name. The repository never sees plaintext: callers seal and open. */
export class SecretsRepo {
  constructor(private readonly db: Db) {}

  get(name: string): string | undefined {
    const row = this.db.prepare('SELECT sealed FROM secrets WHERE name = ?').get(name) as
      { sealed: string } | undefined;
    return row?.sealed;
  }

  set(name: string, sealed: string | null): void {
    if (sealed === null) {
      this.db.prepare('DELETE FROM secrets WHERE name = ?').run(name);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO secrets (name, sealed, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
      )
      .run(name, sealed, new Date().toISOString());
  }
}
