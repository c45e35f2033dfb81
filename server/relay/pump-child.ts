// The hub's side of its relay pump process (pump-process.ts): forks it on the first plain byte stream,
// hands it visitor/stream socket pairs, cuts pairs whose share closed, and keeps the relay's
// bookkeeping right through the pairs' lives. Only plain sockets can go (a TLS socket's state lives
// in this process); hub-relay.ts decides which.
//
// A pair's sockets leave only whole and in order: the visitor's socket has never been read (its
// listener pauses on connect), the stream's 101 is in the kernel before the relay sees the stream,
// and here the stream's reads stop and what it had read goes along in the message, to be put first.
// Each socket is sent with keepOpen and destroyed here once its message is written, so this process's
// copy closes as an ordinary socket (its 'close' listeners run) and no bytes are read by both.
//
// If the pump cannot start, pairs waiting for it are joined in-process, and so is every pair after;
// if it dies, its pairs' connections die with it (their visitors see a closed connection) and every
// pair after is joined in-process. Either way it is logged once.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { FromPump, ToPump } from './pump-process';

/** The pump's own bundle beside the hub's in the `lattice` CLI build (scripts/cli-bundle.mjs writes it). */
export const PUMP_BUNDLE_FILE = 'relay-pump.cjs';

/** A pump that has not said it is ready by then is given up on. */
const READY_TIMEOUT_MS = 15_000;
/** How long close() waits for the pump to exit after SIGTERM before SIGKILL. */
const EXIT_TIMEOUT_MS = 3_000;

export interface PumpedPairEvents {
  /** The pump could not take the pair (it did not start): the sockets are untouched, join them here. */
  inProcess(): void;
  /** The pair is over: both sockets closed, were cut, or died with the pump. */
  closed(): void;
}

interface Pair {
  id: number;
  visitor: Socket;
  stream: Socket;
  events: PumpedPairEvents;
  /** Its sockets are on their way to the pump or there. */
  sent: boolean;
}

type State = 'idle' | 'starting' | 'ready' | 'gone';

/**
 * The pump's entry and the Node flags to run it with. In the CLI bundle this module is CommonJS
 * inside dist/cli/<build>/ (`__dirname`), where the pump's own bundle sits; from source (tsx), the
 * TypeScript file beside this one, through tsx like the hub itself.
 */
function pumpEntry(): { file: string; execArgv: string[] } {
  // A debugger port would clash with the hub's.
  const inherited = process.execArgv.filter((a) => !a.startsWith('--inspect') && !a.startsWith('--debug'));
  if (typeof __dirname === 'string') {
    const bundled = join(__dirname, PUMP_BUNDLE_FILE);
    if (existsSync(bundled)) return { file: bundled, execArgv: inherited };
  }
  const file = fileURLToPath(new URL('./pump-process.ts', import.meta.url));
  // Tests run `node --import tsx`; `lattice` from source registers tsx through its API instead, which
  // a child does not inherit.
  if (inherited.some((a) => a.includes('tsx'))) return { file, execArgv: inherited };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { file, execArgv: [...inherited, '--import', tsx] };
}

/** Stops the kernel socket's reads into this process: a paused net.Socket still reads into its buffer. */
function stopReading(socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: { reading?: boolean; readStop?(): number } | null })
    ._handle;
  if (typeof handle?.readStop !== 'function') return false;
  handle.reading = false;
  return handle.readStop() === 0;
}

export class RelayPump {
  private child?: ChildProcess;
  private state: State = 'idle';
  private readonly pairs = new Map<number, Pair>();
  private nextId = 1;
  private readyTimer?: NodeJS.Timeout;
  private exited?: Promise<void>;

  /** `entry`: where the pump's code is, when not where pumpEntry() finds it (tests of a failed start). */
  constructor(
    private readonly logger?: Pick<Logger, 'info' | 'warn' | 'debug'>,
    private readonly entry: () => { file: string; execArgv: string[] } = pumpEntry,
  ) {}

  /** Whether pairs can go to the pump: false once it failed to start, died, or the relay closed. */
  get available(): boolean {
    return this.state !== 'gone';
  }

  /** Whether the pair is still the pump's (sent to it, or waiting for it to start). */
  holds(id: number): boolean {
    return this.pairs.has(id);
  }

  /** The pump's process id (once forked) and the pairs it holds or is being sent. */
  status(): { pid?: number; pairs: number; state: State } {
    return { pid: this.child?.pid, pairs: this.pairs.size, state: this.state };
  }

  /**
   * Takes a visitor and the agent's byte stream for it (both plain `net.Socket`s, neither read from
   * by anyone but the stream's own buffer) to be joined in the pump. Returns the pair's number for
   * cut(). `events.inProcess` runs instead of anything else when the pump turns out unable to start.
   */
  adopt(visitor: Socket, stream: Socket, events: PumpedPairEvents): number {
    const pair: Pair = { id: this.nextId++, visitor, stream, events, sent: false };
    // An end read before the sockets leave must not end the other direction (as in joinSockets).
    visitor.allowHalfOpen = true;
    stream.allowHalfOpen = true;
    this.pairs.set(pair.id, pair);
    if (this.state === 'idle') this.start();
    if (this.state === 'ready') this.send(pair);
    else if (this.state === 'gone') this.joinHere(pair);
    return pair.id;
  }

  /** Cuts these pairs (their share closed): visitors and the agent see their connections cut. */
  cut(ids: Iterable<number>): void {
    const inPump: number[] = [];
    for (const id of ids) {
      const pair = this.pairs.get(id);
      if (!pair) continue;
      if (pair.sent) {
        inPump.push(id);
        continue;
      }
      // Still here, waiting for the pump to start.
      this.end(pair);
    }
    if (inPump.length && this.child?.connected) this.message({ type: 'cut', pairs: inPump });
  }

  /** Stops the pump: what it still carries is cut. */
  async close(): Promise<void> {
    const child = this.child;
    this.gone();
    if (!child || !this.exited) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await this.exited;
    clearTimeout(force);
  }

  private start(): void {
    this.state = 'starting';
    let child: ChildProcess;
    try {
      const { file, execArgv } = this.entry();
      child = fork(file, [], {
        execArgv,
        // Buffers travel as bytes, not as JSON arrays of numbers.
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
    } catch (err) {
      this.failed(`could not start: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    // An idle pump never keeps the hub's process alive; the hub's own servers do.
    child.unref();
    child.channel?.unref();
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.readyTimer = setTimeout(() => {
      this.failed(`did not start in ${READY_TIMEOUT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, READY_TIMEOUT_MS);
    this.readyTimer.unref();
    child.on('message', (msg: FromPump) => {
      if (msg.type === 'ready' && this.state === 'starting') {
        clearTimeout(this.readyTimer);
        this.state = 'ready';
        this.logger?.debug({ pid: child.pid }, 'relay pump process ready');
        for (const pair of this.pairs.values()) if (!pair.sent) this.send(pair);
      } else if (msg.type === 'closed') {
        this.finished(msg.pair);
      }
    });
    child.on('error', (err) => {
      if (this.state === 'starting') this.failed(`could not start: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(this.readyTimer);
      if (this.state === 'starting') this.failed(`exited before it was ready (${signal ?? code})`);
      else if (this.state === 'ready') {
        this.logger?.warn(
          { code, signal, pairs: this.pairs.size },
          'relay pump process died: its streams are cut, new ones are pumped in the hub',
        );
        this.gone();
      }
    });
  }

  /** The pump never became ready: what waited for it is joined here, as is everything after. */
  private failed(why: string): void {
    if (this.state !== 'starting') return;
    this.logger?.warn({ why }, 'relay pump process unavailable: streams are pumped in the hub');
    this.state = 'gone';
    for (const pair of [...this.pairs.values()]) {
      if (!pair.sent) this.joinHere(pair);
    }
    this.child?.kill('SIGKILL');
  }

  /** No pump from now on; pairs that went to it are over (their connections went with it). */
  private gone(): void {
    clearTimeout(this.readyTimer);
    this.state = 'gone';
    for (const pair of [...this.pairs.values()]) this.end(pair);
  }

  /** The pair is over here: both its sockets closed, and the relay told. */
  private end(pair: Pair): void {
    this.pairs.delete(pair.id);
    pair.visitor.destroy();
    pair.stream.destroy();
    pair.events.closed();
  }

  private joinHere(pair: Pair): void {
    this.pairs.delete(pair.id);
    pair.events.inProcess();
  }

  private finished(id: number): void {
    const pair = this.pairs.get(id);
    if (!pair) return;
    this.pairs.delete(id);
    pair.events.closed();
  }

  /**
   * Sends both sockets in this one tick: nothing can be read between emptying the stream's buffer and
   * stopping its reads. Handles queue behind one another (Node sends the next after the pump
   * acknowledged the last), so until each message is written this process keeps its copy, unread.
   */
  private send(pair: Pair): void {
    const { visitor, stream } = pair;
    if (visitor.destroyed || stream.destroyed) return this.end(pair);
    const head: Buffer[] = [];
    for (let chunk: Buffer | null; (chunk = stream.read() as Buffer | null) !== null;) head.push(chunk);
    if (!stopReading(stream)) {
      // Not a socket whose reads can be stopped (never seen): keep it, bytes and all, in-process.
      for (let i = head.length - 1; i >= 0; i--) stream.unshift(head[i]);
      this.joinHere(pair);
      return;
    }
    pair.sent = true;
    // A socket its server accepted would be tracked as the server's connection in the pump (as for
    // cluster workers), and Node's server.close() then never finishes once the pump has exited. This
    // process keeps the relay's books itself (pumped pairs, the copies it destroys), so not that way.
    for (const socket of [visitor, stream]) (socket as unknown as { server: unknown }).server = null;
    const leave = (socket: Socket) => (err: Error | null) => {
      // Written (the pump holds the connection now) or not (the pump is gone): either way this copy goes.
      if (err) this.logger?.debug({ err: err.message }, 'relay pump: a socket could not be sent');
      socket.destroy();
    };
    this.message({ type: 'stream', pair: pair.id, head }, stream, leave(stream));
    this.message({ type: 'visitor', pair: pair.id }, visitor, leave(visitor));
  }

  private message(msg: ToPump, socket?: Socket, done?: (err: Error | null) => void): void {
    const child = this.child;
    if (!child?.connected) {
      done?.(new Error('the pump process is gone'));
      return;
    }
    child.send(msg, socket, { keepOpen: true }, (err) => done?.(err ?? null));
  }
}
