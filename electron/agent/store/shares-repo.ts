// The shares table (migration 0002-shares.sql). Secrets go in `sealed`, sealed by the caller with the
// share id as associated data; this module never sees them in clear.
import type { Db } from './db';
import type { Share, ShareVia } from '../../../shared';

export type ShareKind = Share['kind'];
export type ShareRowStatus = Share['status'];

export interface ShareRow {
  id: string;
  workloadId: string;
  workloadName: string;
  via: ShareVia;
  kind: ShareKind;
  status: ShareRowStatus;
  portName: string | null;
  containerPort: number;
  url: string | null;
  publicHost: string | null;
  publicPort: number | null;
  readOnly: boolean;
  basicAuth: boolean;
  /** TCP shares: stay plain TCP even where the hub could add TLS (0003-share-options.sql). */
  plain: boolean;
  /** S3 shares: the one bucket the share's key reaches, or null for all. */
  bucket: string | null;
  roleName: string | null;
  sealed: string | null;
  message: string | null;
  createdAt: string;
  expiresAt: string | null;
}

interface RawRow {
  id: string;
  workload_id: string;
  workload_name: string;
  via: ShareVia;
  kind: ShareKind;
  status: ShareRowStatus;
  port_name: string | null;
  container_port: number;
  url: string | null;
  public_host: string | null;
  public_port: number | null;
  read_only: number;
  basic_auth: number;
  plain: number;
  bucket: string | null;
  role_name: string | null;
  sealed: string | null;
  message: string | null;
  created_at: string;
  expires_at: string | null;
}

const fromRaw = (r: RawRow): ShareRow => ({
  id: r.id,
  workloadId: r.workload_id,
  workloadName: r.workload_name,
  via: r.via,
  kind: r.kind,
  status: r.status,
  portName: r.port_name,
  containerPort: r.container_port,
  url: r.url,
  publicHost: r.public_host,
  publicPort: r.public_port,
  readOnly: r.read_only === 1,
  basicAuth: r.basic_auth === 1,
  plain: r.plain === 1,
  bucket: r.bucket,
  roleName: r.role_name,
  sealed: r.sealed,
  message: r.message,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

const COLUMNS: Record<keyof ShareRow, string> = {
  id: 'id',
  workloadId: 'workload_id',
  workloadName: 'workload_name',
  via: 'via',
  kind: 'kind',
  status: 'status',
  portName: 'port_name',
  containerPort: 'container_port',
  url: 'url',
  publicHost: 'public_host',
  publicPort: 'public_port',
  readOnly: 'read_only',
  basicAuth: 'basic_auth',
  plain: 'plain',
  bucket: 'bucket',
  roleName: 'role_name',
  sealed: 'sealed',
  message: 'message',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
};

const toDb = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

export class SharesRepo {
  constructor(private readonly db: Db) {}

  insert(row: ShareRow): void {
    const keys = Object.keys(COLUMNS) as (keyof ShareRow)[];
    this.db
      .prepare(
        `INSERT INTO shares (${keys.map((k) => COLUMNS[k]).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`,
      )
      .run(...keys.map((k) => toDb(row[k])));
  }

  update(id: string, patch: Partial<Omit<ShareRow, 'id'>>): ShareRow | undefined {
    const keys = Object.keys(patch) as (keyof typeof patch)[];
    if (keys.length) {
      this.db
        .prepare(`UPDATE shares SET ${keys.map((k) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`)
        .run(...keys.map((k) => toDb(patch[k])), id);
    }
    return this.byId(id);
  }

  byId(id: string): ShareRow | undefined {
    const r = this.db.prepare('SELECT * FROM shares WHERE id = ?').get(id) as RawRow | undefined;
    return r && fromRaw(r);
  }

  /** Shares of a workload, by its id or its name (the workload itself may be gone). */
  ofWorkload(ref: string): ShareRow[] {
    return (
      this.db
        .prepare('SELECT * FROM shares WHERE workload_id = ? OR workload_name = ? ORDER BY created_at')
        .all(ref, ref) as RawRow[]
    ).map(fromRaw);
  }

  all(): ShareRow[] {
    return (this.db.prepare('SELECT * FROM shares ORDER BY created_at').all() as RawRow[]).map(fromRaw);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM shares WHERE id = ?').run(id);
  }
}
