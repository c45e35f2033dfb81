// Which public port belongs to which (device, share), kept across hub restarts: when an agent re-opens
// its shares after the hub came back, each gets the address its visitors already have. A small SQLite
// file of the relay's own (relay.db in the hub's data directory), so the relay owns its schema.
import Database from 'better-sqlite3';

export interface RelayAssignment {
  deviceId: string;
  shareId: string;
  port: number;
  kind: 'tcp' | 'http';
  updatedAt: string;
}

export interface RelayAssignments {
  byShare(shareId: string): RelayAssignment | undefined;
  byPort(port: number): RelayAssignment | undefined;
  /** Oldest first: when the range is full, the longest-unused reservation is the one given up. */
  all(): RelayAssignment[];
  save(a: Omit<RelayAssignment, 'updatedAt'>): void;
  remove(shareId: string): void;
  close(): void;
}

const MIGRATIONS = [
  `CREATE TABLE relay_assignments (
     share_id   TEXT PRIMARY KEY,
     device_id  TEXT NOT NULL,
     port       INTEGER NOT NULL UNIQUE,
     kind       TEXT NOT NULL CHECK (kind IN ('tcp', 'http')),
     updated_at TEXT NOT NULL
   );`,
];

interface Row {
  share_id: string;
  device_id: string;
  port: number;
  kind: 'tcp' | 'http';
  updated_at: string;
}

const fromRow = (r: Row | undefined): RelayAssignment | undefined =>
  r && { shareId: r.share_id, deviceId: r.device_id, port: r.port, kind: r.kind, updatedAt: r.updated_at };

export class SqliteRelayAssignments implements RelayAssignments {
  private readonly db: Database.Database;

  /** `path` is a file, or `:memory:` for tests that do not restart the hub. */
  constructor(path: string) {
    this.db = new Database(path);
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('busy_timeout = 5000');
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > MIGRATIONS.length) {
        throw new Error(`${path} is at schema version ${version}, newer than this hub knows; update Lattice`);
      }
      MIGRATIONS.forEach((sql, i) => {
        if (i < version) return;
        this.db.transaction(() => {
          this.db.exec(sql);
          this.db.pragma(`user_version = ${i + 1}`);
        })();
      });
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  byShare(shareId: string): RelayAssignment | undefined {
    return fromRow(this.db.prepare('SELECT * FROM relay_assignments WHERE share_id = ?').get(shareId) as Row);
  }

  byPort(port: number): RelayAssignment | undefined {
    return fromRow(this.db.prepare('SELECT * FROM relay_assignments WHERE port = ?').get(port) as Row);
  }

  all(): RelayAssignment[] {
    return (this.db.prepare('SELECT * FROM relay_assignments ORDER BY updated_at').all() as Row[]).map((r) =>
      fromRow(r)!,
    );
  }

  save(a: Omit<RelayAssignment, 'updatedAt'>): void {
    this.db.transaction(() => {
      // A port moves to this share only once its old holder is gone (the caller checked ownership).
      this.db
        .prepare('DELETE FROM relay_assignments WHERE port = ? AND share_id <> ?')
        .run(a.port, a.shareId);
      this.db
        .prepare(
          `INSERT INTO relay_assignments (share_id, device_id, port, kind, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(share_id) DO UPDATE SET device_id = excluded.device_id, port = excluded.port,
             kind = excluded.kind, updated_at = excluded.updated_at`,
        )
        .run(a.shareId, a.deviceId, a.port, a.kind, new Date().toISOString());
    })();
  }

  remove(shareId: string): void {
    this.db.prepare('DELETE FROM relay_assignments WHERE share_id = ?').run(shareId);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
