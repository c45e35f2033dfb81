// Typed access to the workloads table. Secrets stay sealed here; the service opens them.
import type { PublishedPort, RestartPolicy, TemplateId, WorkloadStatus } from '../../../shared';
import type { Db } from './db';

export interface StoredVolume {
  source: string;
  target: string;
  kind: 'volume' | 'bind';
  readOnly?: boolean;
}

/** The parts of the deploy spec the agent needs again to (re)create the container; env is sealed apart. */
export interface StoredSpec {
  cpus?: number;
  memory?: number;
  command?: string[];
}

export interface WorkloadRow {
  id: string;
  name: string;
  template: TemplateId;
  image: string;
  status: WorkloadStatus;
  message: string | null;
  origin: 'local' | 'remote';
  opId: string;
  spec: StoredSpec;
  ports: PublishedPort[];
  volumes: StoredVolume[];
  restart: RestartPolicy;
  sealed: string | null;
  containerId: string | null;
  /** The Docker daemon's ID (`docker info` → ID) of the engine the workload belongs to; null until known. */
  engineId: string | null;
  /** That engine for people: the context and host it was reached through. */
  engineLabel: string | null;
  createdAt: string;
  updatedAt: string;
}

interface RawRow {
  id: string;
  name: string;
  template: string;
  image: string;
  status: string;
  message: string | null;
  origin: string;
  op_id: string;
  spec: string;
  ports: string;
  volumes: string;
  restart: string;
  sealed: string | null;
  container_id: string | null;
  engine_id: string | null;
  engine_label: string | null;
  created_at: string;
  updated_at: string;
}

const fromRaw = (r: RawRow): WorkloadRow => ({
  id: r.id,
  name: r.name,
  template: r.template as TemplateId,
  image: r.image,
  status: r.status as WorkloadStatus,
  message: r.message,
  origin: r.origin as 'local' | 'remote',
  opId: r.op_id,
  spec: JSON.parse(r.spec) as StoredSpec,
  ports: JSON.parse(r.ports) as PublishedPort[],
  volumes: JSON.parse(r.volumes) as StoredVolume[],
  restart: r.restart as RestartPolicy,
  sealed: r.sealed,
  containerId: r.container_id,
  engineId: r.engine_id,
  engineLabel: r.engine_label,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class WorkloadsRepo {
  constructor(private readonly db: Db) {}

  insert(row: WorkloadRow): void {
    this.db
      .prepare(
        `INSERT INTO workloads (id, name, template, image, status, message, origin, op_id, spec, ports, volumes,
           restart, sealed, container_id, engine_id, engine_label, created_at, updated_at)
         VALUES (@id, @name, @template, @image, @status, @message, @origin, @opId, @spec, @ports, @volumes,
           @restart, @sealed, @containerId, @engineId, @engineLabel, @createdAt, @updatedAt)`,
      )
      .run({
        ...row,
        spec: JSON.stringify(row.spec),
        ports: JSON.stringify(row.ports),
        volumes: JSON.stringify(row.volumes),
      });
  }

  all(): WorkloadRow[] {
    return (this.db.prepare('SELECT * FROM workloads ORDER BY created_at, name').all() as RawRow[]).map(
      fromRaw,
    );
  }

  byId(id: string): WorkloadRow | undefined {
    const r = this.db.prepare('SELECT * FROM workloads WHERE id = ?').get(id) as RawRow | undefined;
    return r && fromRaw(r);
  }

  byName(name: string): WorkloadRow | undefined {
    const r = this.db.prepare('SELECT * FROM workloads WHERE name = ?').get(name) as RawRow | undefined;
    return r && fromRaw(r);
  }

  /** By id first (ids are unguessable), then by name. */
  byRef(ref: string): WorkloadRow | undefined {
    return this.byId(ref) ?? this.byName(ref);
  }

  update(
    id: string,
    patch: Partial<
      Pick<WorkloadRow, 'status' | 'message' | 'containerId' | 'opId' | 'image' | 'engineId' | 'engineLabel'>
    >,
  ): WorkloadRow | undefined {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id, updatedAt: new Date().toISOString() };
    const columns: Record<string, string> = {
      status: 'status',
      message: 'message',
      containerId: 'container_id',
      opId: 'op_id',
      image: 'image',
      engineId: 'engine_id',
      engineLabel: 'engine_label',
    };
    for (const [key, column] of Object.entries(columns)) {
      if (key in patch) {
        sets.push(`${column} = @${key}`);
        params[key] = (patch as Record<string, unknown>)[key] ?? null;
      }
    }
    sets.push('updated_at = @updatedAt');
    this.db.prepare(`UPDATE workloads SET ${sets.join(', ')} WHERE id = @id`).run(params);
    return this.byId(id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM workloads WHERE id = ?').run(id);
  }
}
