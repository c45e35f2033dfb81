// The two rows every relayed command writes in PostgreSQL (its result, its audit entry), batched per
// turn of the event loop (turn-batch.ts, as the SQLite store does): a turn's rows go to the server as
// one statement. One round trip per turn instead of one per row: under load a hub relays several
// commands a turn, and each statement costs the hub a socket write and the server a parse of its own.
import type pg from 'pg';
import { turnBatch, type TurnBatch } from './turn-batch';

export type CommandWriteKind = 'result' | 'audit';
export interface CommandWrite {
  kind: CommandWriteKind;
  values: unknown[];
}

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

/** One row on its own, for a batch that failed. */
const SINGLE_SQL: Record<CommandWriteKind, string> = {
  // The first result of an id stays: a second hub answering the same id cannot replace it.
  result: `${INSERT_RESULTS} VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id, command_id) DO NOTHING`,
  audit: `${INSERT_AUDIT} VALUES ($1, $2, $3, $4, $5, $6, $7)`,
};
const COLUMNS: Record<CommandWriteKind, number> = { result: 6, audit: 7 };

export function commandWrites(pool: pg.Pool): TurnBatch<CommandWrite> {
  return turnBatch<CommandWrite>({
    async all(writes) {
      const columns = Array.from({ length: COLUMNS.result + COLUMNS.audit }, () => [] as unknown[]);
      for (const w of writes) {
        const offset = w.kind === 'result' ? 0 : COLUMNS.result;
        w.values.forEach((v, i) => columns[offset + i].push(v));
      }
      await pool.query({ name: 'command_writes', text: BATCH_SQL, values: columns });
    },
    async one(w) {
      await pool.query({ name: `command_write_${w.kind}`, text: SINGLE_SQL[w.kind], values: w.values });
    },
  });
}
