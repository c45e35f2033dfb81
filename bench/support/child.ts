// Both sides of the benches' child processes: servers, proxies and clients each run in their own
// Node process (as the hub, the agent and a visitor do in real life, and so a 10,000-socket client
// does not share the server's open-file limit), driven over Node's IPC channel.
// BENCH_PROFILE=DIR runs every child (and `lattice hub`, `lattice agent`) with --cpu-prof, profiles
// written at exit.
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const SUPPORT_DIR = new URL('.', import.meta.url).pathname;

interface Reply {
  replyTo: number;
  value?: unknown;
  error?: string;
}

export interface BenchChild {
  name: string;
  pid: number;
  /** What the child reported when it became ready (ports, tokens…). */
  ready: Record<string, unknown>;
  request<T = unknown>(type: string, args?: Record<string, unknown>): Promise<T>;
  /** Asks the child to close its servers and exit (so a --cpu-prof profile gets written). */
  stop(): Promise<void>;
}

/** `--cpu-prof` flags when BENCH_PROFILE is set (Node names the files CPU.<date>.<pid>.<thread>…). */
export function profileArgs(): string[] {
  // BENCH_NODE_FLAGS: more flags for the same processes (`--trace-gc`, which NODE_OPTIONS refuses).
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return extra;
  mkdirSync(resolve(dir), { recursive: true });
  return [...extra, '--cpu-prof', `--cpu-prof-dir=${resolve(dir)}`];
}

/** Which process a profile's pid was: BENCH_PROFILE/processes.txt, one `pid name` a line. */
export function recordProfiled(pid: number | undefined, name: string): void {
  const dir = process.env.BENCH_PROFILE;
  if (dir && pid) appendFileSync(join(resolve(dir), 'processes.txt'), `${pid} ${name}\n`);
}

/** Forks `bench/support/<file>` with `args`; resolves when it sends `{ ready }`. */
export function startChild(
  file: string,
  args: Record<string, unknown>,
  opts: { name?: string; exposeGc?: boolean; env?: Record<string, string> } = {},
): Promise<BenchChild> {
  const name = opts.name ?? file.replace(/\.ts$/, '');
  const child: ChildProcess = fork(SUPPORT_DIR + file, [JSON.stringify(args)], {
    execArgv: ['--import', 'tsx', ...(opts.exposeGc ? ['--expose-gc'] : []), ...profileArgs()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...opts.env },
  });
  recordProfiled(child.pid, name);
  let next = 1;
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
    waiting.clear();
  });
  child.on('message', (msg: Reply) => {
    const w = waiting.get(msg.replyTo);
    if (!w) return;
    waiting.delete(msg.replyTo);
    if (msg.error) w.reject(new Error(`${name}: ${msg.error}`));
    else w.resolve(msg.value);
  });
  const request = <T>(type: string, rargs: Record<string, unknown> = {}) =>
    new Promise<T>((res, rej) => {
      const id = next++;
      waiting.set(id, { resolve: res as (v: unknown) => void, reject: rej });
      child.send({ id, type, args: rargs });
    });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name} not ready in 60 s`)), 60_000);
    waiting.set(0, {
      resolve: (ready) => {
        clearTimeout(timer);
        res({
          name,
          pid: child.pid!,
          ready: ready as Record<string, unknown>,
          request,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.send({ id: -1, type: 'stop', args: {} }, () => undefined);
            await exited;
            clearTimeout(kill);
          },
        });
      },
      reject: (err) => {
        clearTimeout(timer);
        rej(err);
      },
    });
  });
}

type Handler = (args: Record<string, unknown>) => unknown;

/**
 * The child's side: `ready` is sent once `init` resolves; requests go to `handlers` by type;
 * `stop` runs `close` and exits 0.
 */
export function childMain<A>(
  init: (args: A) => Promise<{
    ready: Record<string, unknown>;
    handlers?: Record<string, Handler>;
    close?(): Promise<void> | void;
  }>,
): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as A;
  const send = (m: Reply) => process.send!(m);
  init(args).then(
    ({ ready, handlers = {}, close }) => {
      process.on('message', (msg: { id: number; type: string; args: Record<string, unknown> }) => {
        if (msg.type === 'stop') {
          void Promise.resolve(close?.()).finally(() => process.exit(0));
          return;
        }
        const h = handlers[msg.type];
        if (!h) return send({ replyTo: msg.id, error: `no handler for ${msg.type}` });
        Promise.resolve()
          .then(() => h(msg.args))
          .then(
            (value) => send({ replyTo: msg.id, value }),
            (err: Error) => send({ replyTo: msg.id, error: err.stack ?? err.message }),
          );
      });
      // The parent died without a stop: do not linger.
      process.on('disconnect', () => process.exit(0));
      send({ replyTo: 0, value: ready });
    },
    (err: Error) => {
      send({ replyTo: 0, error: err.stack ?? err.message });
      setTimeout(() => process.exit(1), 100);
    },
  );
}
