// The main thread's side of the relay byte streams' worker thread (relay-stream-worker.ts): starts
// it, posts it each stream to dial and join, and hands its answers back to RelayStreams.
//
// One thread per process, shared by every RelayStreams that uses it (the agent has one per hub
// link). It starts with the first byte stream and stops when the last RelayStreams that used it
// closes (RelayTunnelProvider.closeAll: the agent stopping, or its hub link replaced), so in the
// agent it lives as long as the relay does. It is ref'd only while it carries streams: live visitor
// streams keep the process up as their sockets on the main thread used to, an idle thread never does.
//
// Where its code is, in each way the agent runs:
// - a CommonJS bundle (the `lattice` CLI's dist/cli/<id>/, the Electron app's dist/electron/): the
//   bundle scripts emit relay-stream-worker.cjs beside the bundle, found next to __filename (in the
//   packaged app that is inside app.asar, which Electron lets a worker thread read since v18,
//   electron/electron#33216);
// - the sources under tsx (tests, benches, LATTICE_CLI_FROM_SOURCE=1): relay-stream-worker.ts. On
//   Node 20 a worker thread does not get the tsx hooks the process was started with (tsx installs
//   them on the main thread only), so the thread registers tsx's CommonJS hook itself first.
// If the thread cannot start (its file missing, a stale CLI build removed under a running agent),
// RelayStreams is told once and pumps its streams on the main thread as before.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromPumpThread, ToPumpThread } from './relay-stream-worker';

/** The worker's bundle: scripts/cli-bundle.mjs and scripts/build.mjs write it beside theirs. */
export const PUMP_WORKER_BUNDLE = 'relay-stream-worker.cjs';

/** How to start the thread: `script` and `evaluate` are Worker's first argument and `eval` option. */
export interface PumpWorkerEntry {
  /** The file that holds the thread's code (what must exist). */
  file: string;
  script: string;
  evaluate: boolean;
}

/** The bundled worker beside this bundle, else the TypeScript source through tsx. */
export function locatePumpWorker(): PumpWorkerEntry {
  // Only a CommonJS bundle has __filename; from the ES-module sources it is undefined.
  if (typeof __filename === 'string') {
    const bundled = join(dirname(__filename), PUMP_WORKER_BUNDLE);
    if (existsSync(bundled)) return { file: bundled, script: bundled, evaluate: false };
  }
  const file = fileURLToPath(new URL('./relay-stream-worker.ts', import.meta.url));
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  return {
    file,
    script: `require(${JSON.stringify(tsx)}).register();\nrequire(${JSON.stringify(file)});`,
    evaluate: true,
  };
}

/** One byte stream, as the thread is asked to dial it. */
export interface PumpDial {
  /** `<hub>/agent/stream/<id>`, http: or https:. */
  url: string;
  upgrade: string;
  deviceToken: string;
  ca?: string[];
  localHost: string;
  localPort: number;
  timeoutMs: number;
}

/** What the thread reports of one stream; exactly one of the last four ends it. */
export interface PumpEvents {
  /** The hub switched protocols; true joins the stream to the workload, false cuts it. */
  upgraded(): boolean;
  refused(status: number): void;
  notSwitched(): void;
  ended(err: string | undefined, joined: boolean): void;
  /** The thread failed to start before it saw this stream: pump it some other way. */
  notTaken(): void;
}

export interface PumpStats {
  threadId: number;
  dialing: number;
  joined: number;
}

interface Live {
  events: PumpEvents;
  cut: boolean;
}

type Log = (msg: string, err: string) => void;

export class PumpThread {
  private worker?: Worker;
  private ready = false;
  private failure?: string;
  private nextId = 1;
  private readonly live = new Map<number, Live>();
  private readonly users = new Set<object>();
  /** The CA lists the running thread has been sent. */
  private caIds = new WeakMap<string[], number>();
  private nextCaId = 1;
  private nextStatsId = 1;
  private readonly statsWaiting = new Map<number, (s: PumpStats | undefined) => void>();

  /** `locate` is for tests (a missing file); the agent's thread finds its own. */
  constructor(private readonly locate: () => PumpWorkerEntry = locatePumpWorker) {}

  /** Why the thread could not start, once it could not (then it is never tried again). */
  get failed(): string | undefined {
    return this.failure;
  }

  /**
   * Posts a stream to the thread, starting it first if needed, on behalf of `user` (which must
   * release() it when it closes). Undefined when there is no thread (see `failed`); `log` hears of a
   * start failure once.
   */
  dial(user: object, d: PumpDial, events: PumpEvents, log: Log): { cut(): void } | undefined {
    const worker = this.start(log);
    if (!worker) return undefined;
    this.users.add(user);
    const id = this.nextId++;
    const live: Live = { events, cut: false };
    this.live.set(id, live);
    if (this.live.size === 1) worker.ref();
    const { ca, ...rest } = d;
    this.post({ type: 'dial', id, ...rest, ...(ca ? { caId: this.caId(ca) } : {}) });
    return {
      cut: () => {
        if (live.cut || this.live.get(id) !== live) return;
        live.cut = true;
        this.post({ type: 'cut', id });
      },
    };
  }

  /** `user` closed: the last one stops the thread (its streams were cut already). */
  release(user: object): void {
    if (!this.users.delete(user) || this.users.size > 0 || !this.worker) return;
    const worker = this.worker;
    this.forget();
    void worker.terminate();
  }

  /** What the thread counts (for tests): undefined when it is not running. */
  stats(): Promise<PumpStats | undefined> {
    if (!this.worker) return Promise.resolve(undefined);
    const requestId = this.nextStatsId++;
    return new Promise((resolve) => {
      this.statsWaiting.set(requestId, resolve);
      this.post({ type: 'stats', requestId });
    });
  }

  private post(msg: ToPumpThread): void {
    this.worker?.postMessage(msg);
  }

  /** A CA list goes to the thread once (the agent's is the same array for every stream). */
  private caId(ca: string[]): number {
    let id = this.caIds.get(ca);
    if (id === undefined) {
      id = this.nextCaId++;
      this.caIds.set(ca, id);
      this.post({ type: 'ca', caId: id, ca });
    }
    return id;
  }

  private start(log: Log): Worker | undefined {
    if (this.worker || this.failure) return this.worker;
    let worker: Worker;
    try {
      const entry = this.locate();
      if (!existsSync(entry.file)) throw new Error(`${entry.file} is missing`);
      worker = new Worker(entry.script, { eval: entry.evaluate });
    } catch (err) {
      this.fail(log, (err as Error).message);
      return undefined;
    }
    this.worker = worker;
    this.ready = false;
    worker.unref();
    worker.on('message', (msg: FromPumpThread) => {
      if (this.worker === worker) this.onMessage(msg);
    });
    let error: string | undefined;
    worker.on('error', (err) => {
      error ??= err.message;
      if (this.worker !== worker) return;
      // Before its first message nothing was dialed there: every stream posted so far is pumped on
      // the main thread instead, and so is every later one.
      if (!this.ready) {
        const waiting = [...this.live.values()];
        this.forget();
        this.fail(log, err.message);
        for (const l of waiting) l.events.notTaken();
      }
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      // It stopped on its own (an uncaught error): its streams are gone; the next one starts a new thread.
      const why = error ?? `exit code ${code}`;
      log("the relay byte streams' worker thread stopped; its streams were cut", why);
      const gone = [...this.live.values()];
      this.forget();
      for (const l of gone) l.events.ended(`the relay stream thread stopped: ${why}`, true);
    });
    return worker;
  }

  private fail(log: Log, err: string): void {
    this.failure = err;
    log('relay byte streams cannot run in their worker thread: pumping them on the main thread', err);
  }

  /** Drops the thread and every record of its streams (without telling their owners). */
  private forget(): void {
    this.worker = undefined;
    this.ready = false;
    this.live.clear();
    this.caIds = new WeakMap();
    for (const resolve of this.statsWaiting.values()) resolve(undefined);
    this.statsWaiting.clear();
  }

  private onMessage(msg: FromPumpThread): void {
    if (msg.type === 'ready') {
      this.ready = true;
      return;
    }
    if (msg.type === 'stats') {
      const { requestId, ...stats } = msg;
      this.statsWaiting.get(requestId)?.(stats);
      this.statsWaiting.delete(requestId);
      return;
    }
    const live = this.live.get(msg.id);
    if (!live) return;
    if (msg.type === 'upgraded') {
      const join = !live.cut && live.events.upgraded();
      if (!join) live.cut = true;
      this.post({ type: join ? 'join' : 'cut', id: msg.id });
      return;
    }
    this.live.delete(msg.id);
    if (this.live.size === 0) this.worker?.unref();
    if (msg.type === 'refused') live.events.refused(msg.status);
    else if (msg.type === 'not-switched') live.events.notSwitched();
    else live.events.ended(msg.err, msg.joined);
  }
}

/** The agent's thread. */
export const pumpThread = new PumpThread();
