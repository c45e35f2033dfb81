// The two rows every relayed command writes in PostgreSQL (its result, its audit entry), as the
// SQLite store does it (sqlite-store.ts): what is written within one turn of the event loop goes to
// the server as one statement, and each write resolves only once that statement has succeeded.
// One round trip per turn instead of one per row: under load a hub relays several commands a turn,
// and each statement costs the hub a socket write and the server a parse of its own.
import type pg from 'pg';

export type CommandWriteKind = 'result' | 'audit';

const INSERT_RESULTS = `INSERT INTO command_results (device_id, command_id, user_id, name, result_json, created_at)`;
const INSERT_AUDIT = `INSERT INTO audit_log (user_id, device_id, command_id, command_name, ok, error_code, at)`;

/** Both tables in one statement, each fed by arrays (one per column) so its text never changes. */
const BATCH_SQL = `WITH results AS (
  ${INSERT_RESULTS}
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
  ON CONFLICT (device_id, command_id) DO NOTHING
)
${INSERT_AUDIT}
SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::int[], $12::text[], $13::text[])`;

/** One row on its own, for a batch that failed: a bad row fails only its own write. */
const SINGLE_SQL: Record<CommandWriteKind, string> = {
  // The first result of an id stays: a second hub answering the same id cannot replace it.
  result: `${INSERT_RESULTS} VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id, command_id) DO NOTHING`,
  audit: `${INSERT_AUDIT} VALUES ($1, $2, $3, $4, $5, $6, $7)`,
};
const COLUMNS: Record<CommandWriteKind, number> = { result: 6, audit: 7 };

interface Write {
  kind: CommandWriteKind;
  values: unknown[];
  done(err?: unknown): void;
}

export interface CommandWrites {
  add(kind: CommandWriteKind, values: unknown[]): Promise<void>;
  /** Resolves once every write added so far has been sent and answered. */
  drain(): Promise<void>;
}

export function commandWrites(pool: pg.Pool): CommandWrites {
  let batch: Write[] = [];
  const inFlight = new Set<Promise<void>>();

  const single = async (w: Write) => {
    try {
      await pool.query({ name: `command_write_${w.kind}`, text: SINGLE_SQL[w.kind], values: w.values });
      w.done();
    } catch (err) {
      w.done(err);
    }
  };

  const send = async (items: Write[]) => {
    if (items.length === 1) return single(items[0]);
    const columns = [
      ...Array.from({ length: COLUMNS.result }, () => [] as unknown[]),
      ...Array.from({ length: COLUMNS.audit }, () => [] as unknown[]),
    ];
    for (const w of items) {
      const offset = w.kind === 'result' ? 0 : COLUMNS.result;
      w.values.forEach((v, i) => columns[offset + i].push(v));
    }
    try {
      await pool.query({ name: 'command_writes', text: BATCH_SQL, values: columns });
      for (const w of items) w.done();
    } catch {
      // Each on its own, in order (the audit log's order), so one bad row does not fail the others.
      for (const w of items) await single(w);
    }
  };

  const flush = () => {
    const items = batch;
    batch = [];
    const sent = send(items);
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };

  return {
    add(kind, values) {
      return new Promise<void>((resolve, reject) => {
        batch.push({ kind, values, done: (err) => (err ? reject(err) : resolve()) });
        if (batch.length === 1) setImmediate(flush);
      });
    },
    async drain() {
      if (batch.length) flush();
      await Promise.all(inFlight);
    },
  };
}
