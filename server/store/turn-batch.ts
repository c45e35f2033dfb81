// Group commit for the rows every relayed command writes (its result, its audit entry), shared by
// both stores: what is written within one turn of the event loop is committed together (one SQLite
// transaction, one PostgreSQL statement), and each write resolves only once its batch is committed.
// If the batch fails, its rows are tried one by one, in order, so a bad row fails alone.

export interface TurnBatch<T> {
  /** Queues a row for this turn's batch; resolves once it is committed. */
  add(row: T): Promise<void>;
  /**
   * Commits what is queued now. The batch's commit is started in this call, so a store whose commit
   * is synchronous (SQLite) has it done on return; drain() waits for the rest.
   */
  flush(): void;
  /** Resolves once every row added so far is committed (or has failed). */
  drain(): Promise<void>;
}

export function turnBatch<T>(commit: {
  /** Commits these rows together, or throws (rejects) without committing any. */
  all(rows: T[]): void | Promise<void>;
  /** Commits one row on its own. */
  one(row: T): void | Promise<void>;
}): TurnBatch<T> {
  let queued: { row: T; done(err?: unknown): void }[] = [];
  const inFlight = new Set<Promise<void>>();

  const settle = async (items: typeof queued) => {
    try {
      await commit.all(items.map((item) => item.row));
    } catch {
      for (const item of items) {
        try {
          await commit.one(item.row);
          item.done();
        } catch (err) {
          item.done(err);
        }
      }
      return;
    }
    for (const item of items) item.done();
  };

  const flush = () => {
    if (queued.length === 0) return;
    const items = queued;
    queued = [];
    const settled = settle(items);
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };

  return {
    add(row) {
      return new Promise<void>((resolve, reject) => {
        queued.push({ row, done: (err) => (err ? reject(err) : resolve()) });
        if (queued.length === 1) setImmediate(flush);
      });
    },
    flush,
    async drain() {
      flush();
      await Promise.all(inFlight);
    },
  };
}
