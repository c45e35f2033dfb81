// Checkpoints hub.db's write-ahead log from a worker thread, so the hub's event loop never waits on
// one. SQLite's automatic checkpoint runs inside the commit that crosses the threshold: it copies the
// pages changed since the last one into hub.db and syncs both files, and under load (every relayed
// command adds about two WAL pages) that commit held the event loop for 120–190 ms twice in five
// seconds — the hub's p99. Here a second connection, on its own thread, runs a PASSIVE checkpoint
// every second: it copies what it can without waiting for or blocking the hub's connection, and the
// next write after a complete one starts the WAL from its beginning again.
//
// The thread's code is a few lines run with `eval`, so no bundle has to ship a file for it; it loads
// the same better-sqlite3 as the hub (its path resolved here). If the thread cannot start, or stops,
// the hub's connection checkpoints itself again (`fallback`), as SQLite does by default.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the thread checkpoints. */
export const CHECKPOINT_INTERVAL_MS = 1_000;

const THREAD_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
// A checkpoint that finds a lock held skips this round instead of waiting.
db.pragma('busy_timeout = 0');
let checkpoints = 0;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    checkpoints++;
  } catch (err) {
    if (err.code !== 'SQLITE_BUSY') throw err;
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'count') parentPort.postMessage({ checkpoints });
  else if (m === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;

/** better-sqlite3's entry as the hub loads it: from a CommonJS bundle (where it stays external) or the sources. */
function betterSqlite3Path(): string {
  const req = typeof require === 'function' ? require : createRequire(import.meta.url);
  return req.resolve('better-sqlite3');
}

export interface CheckpointerOptions {
  intervalMs?: number;
  /** Where better-sqlite3 is (tests point it at nothing to see the fallback). */
  module?: string;
  /** Told why, when SQLite's own checkpoint takes over (the hub logs it). */
  onFallback?: (err: Error) => void;
}

export interface Checkpointer {
  /** Checkpoints the thread has run (for tests); 0 once it is gone. */
  count(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts the thread for `file` (already in WAL mode). `fallback` runs once if the thread fails to
 * start or dies: the caller turns SQLite's own automatic checkpoint back on.
 */
export function startCheckpointer(
  file: string,
  fallback: (err: Error) => void,
  opts: CheckpointerOptions = {},
): Checkpointer {
  let failed = false;
  let stopping = false;
  const fail = (err: Error) => {
    if (failed || stopping) return;
    failed = true;
    fallback(err);
  };
  let worker: Worker;
  try {
    worker = new Worker(THREAD_CODE, {
      eval: true,
      workerData: {
        file,
        module: opts.module ?? betterSqlite3Path(),
        intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      },
    });
  } catch (err) {
    fail(err as Error);
    return { count: async () => 0, stop: async () => undefined };
  }
  // The hub's servers keep the process alive; this thread never does.
  worker.unref();
  worker.on('error', fail);
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      if (code !== 0) fail(new Error(`the checkpoint thread exited with code ${code}`));
      resolve();
    }),
  );
  return {
    async count() {
      if (failed) return 0;
      // Ref'd while this waits, so the answer (or the thread's exit) is waited for.
      worker.ref();
      try {
        return await Promise.race([
          new Promise<number>((resolve) => {
            worker.once('message', (m: { checkpoints?: number }) => resolve(m.checkpoints ?? 0));
            worker.postMessage('count');
          }),
          // A thread that failed while starting never answers.
          exited.then(() => 0),
        ]);
      } finally {
        worker.unref();
      }
    },
    async stop() {
      stopping = true;
      if (failed) return;
      worker.ref();
      worker.postMessage('stop');
      // A thread stuck in a checkpoint's sync is not waited for forever.
      const force = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(force);
    },
  };
}
