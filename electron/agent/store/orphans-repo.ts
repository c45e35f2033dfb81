// Containers that carry our owner label but have no workload row. Reported, never deleted.
import type { Db } from './db';

export interface OrphanRow {
  containerId: string;
  name: string;
  workload: string | null;
  image: string;
  firstSeen: string;
  lastSeen: string;
}

export class OrphansRepo {
  constructor(private readonly db: Db) {}

  /** Records the orphans seen now and forgets the ones that are gone. Returns the ones new this time. */
  replaceAll(seen: Omit<OrphanRow, 'firstSeen' | 'lastSeen'>[]): OrphanRow[] {
    const now = new Date().toISOString();
    const fresh: OrphanRow[] = [];
    this.db.transaction(() => {
      const existing = new Set(
        (this.db.prepare('SELECT container_id FROM orphans').all() as { container_id: string }[]).map(
          (r) => r.container_id,
        ),
      );
      const upsert = this.db.prepare(
        `INSERT INTO orphans (container_id, name, workload, image, first_seen, last_seen)
         VALUES (@containerId, @name, @workload, @image, @now, @now)
         ON CONFLICT(container_id) DO UPDATE SET last_seen = excluded.last_seen`,
      );
      for (const o of seen) {
        upsert.run({ ...o, now });
        if (!existing.has(o.containerId)) fresh.push({ ...o, firstSeen: now, lastSeen: now });
      }
      const keep = new Set(seen.map((o) => o.containerId));
      const del = this.db.prepare('DELETE FROM orphans WHERE container_id = ?');
      for (const id of existing) if (!keep.has(id)) del.run(id);
    })();
    return fresh;
  }

  all(): OrphanRow[] {
    return (
      this.db.prepare('SELECT * FROM orphans ORDER BY first_seen').all() as {
        container_id: string;
        name: string;
        workload: string | null;
        image: string;
        first_seen: string;
        last_seen: string;
      }[]
    ).map((r) => ({
      containerId: r.container_id,
      name: r.name,
      workload: r.workload,
      image: r.image,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
    }));
  }
}
