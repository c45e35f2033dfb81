// Idempotency of remote command ids: the first result, sealed (deploy results carry credentials).
import type { Db } from './db';

export interface CommandRecord {
  command: string;
  state: 'running' | 'done';
  sealed: string | null;
}

export class CommandResultsRepo {
  constructor(private readonly db: Db) {}

  get(commandId: string): CommandRecord | undefined {
    return this.db
      .prepare('SELECT command, state, sealed FROM command_results WHERE command_id = ?')
      .get(commandId) as CommandRecord | undefined;
  }

  /** Claims the id; false when it was already claimed. */
  begin(commandId: string, command: string): boolean {
    const info = this.db
      .prepare(
        `INSERT OR IGNORE INTO command_results (command_id, command, state, sealed, created_at)
         VALUES (?, ?, 'running', NULL, ?)`,
      )
      .run(commandId, command, new Date().toISOString());
    return info.changes === 1;
  }

  finish(commandId: string, sealed: string): void {
    this.db
      .prepare(`UPDATE command_results SET state = 'done', sealed = ? WHERE command_id = ?`)
      .run(sealed, commandId);
  }

  /** Drops records older than `days`; ids are only repeated by retries within minutes. */
  prune(days = 7): void {
    const cutoff = new Date(Date.now() - days * 86_400_000).toISOString();
    this.db.prepare('DELETE FROM command_results WHERE created_at < ?').run(cutoff);
  }
}
