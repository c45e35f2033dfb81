// The thread that pumps the agent's relay byte streams (started by relay-stream-thread.ts). It dials
// the hub's `/agent/stream/<id>` with the byte-stream upgrade and, once the main thread confirms the
// share still wants the stream, joins the upgraded socket to the workload's loopback port with
// joinSockets. Why a thread: its isolate runs only this code, so V8's inline caches of Node's stream
// internals stay monomorphic — in the agent's main thread, which also runs HTTP, zlib, fs and
// WebSocket streams, the same two pipe()s cost 30–40% more CPU per MB — and the bytes keep flowing
// while the desktop app's main thread is busy.
//
// It imports only Node built-ins, shared/stream-pump.ts and byte-stream-request.ts, so its bundle
// (relay-stream-worker.cjs beside the CLI's and the Electron app's bundles) stays a few kilobytes.
// What the main thread keeps: which share each stream belongs to, the share's stillWanted(), cuts,
// logging, and the WebSocket streams it falls back to.
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { parentPort, threadId } from 'node:worker_threads';
import { joinSockets, prepareByteStream } from '../../../shared/stream-pump';
import { requestByteStream } from './byte-stream-request';

/** main thread → pump thread */
export type ToPumpThread =
  | {
      type: 'dial';
      /** The main thread's number for this stream (stream ids of two hubs could be equal). */
      id: number;
      /** `<hub>/agent/stream/<id>` as http: or https:. */
      url: string;
      /** The Upgrade token (BYTE_STREAM_PROTOCOL). */
      upgrade: string;
      deviceToken: string;
      /** Registered by a `ca` message first: a CA list is sent once, not with every stream. */
      caId?: number;
      localHost: string;
      localPort: number;
      timeoutMs: number;
    }
  | { type: 'ca'; caId: number; ca: string[] }
  /** The answer to `upgraded`: the share still wants the stream. */
  | { type: 'join'; id: number }
  | { type: 'cut'; id: number }
  | { type: 'stats'; requestId: number };

/** pump thread → main thread; every dial ends with exactly one `refused`, `not-switched` or `ended`. */
export type FromPumpThread =
  | { type: 'ready' }
  /** The hub switched protocols: the main thread answers `join` or `cut`. */
  | { type: 'upgraded'; id: number }
  /** 401 or 403. */
  | { type: 'refused'; id: number; status: number }
  /** Any other answer than 101: the main thread dials a WebSocket instead. */
  | { type: 'not-switched'; id: number }
  /** `joined`: it had been joined to the workload (else it ended while dialing). */
  | { type: 'ended'; id: number; err?: string; joined: boolean }
  | { type: 'stats'; requestId: number; threadId: number; dialing: number; joined: number };

interface Stream {
  cut(): void;
  join?(): void;
}

const port = parentPort;
if (!port) throw new Error('relay-stream-worker runs as a worker thread');
const post = (msg: FromPumpThread) => port.postMessage(msg);

const streams = new Map<number, Stream>();
const cas = new Map<number, string[]>();
let joined = 0;

function dial(d: Extract<ToPumpThread, { type: 'dial' }>): void {
  let done = false;
  const end = (msg: FromPumpThread) => {
    if (done) return;
    done = true;
    streams.delete(d.id);
    post(msg);
  };
  const target = new URL(d.url);
  const ca = d.caId === undefined ? undefined : cas.get(d.caId);
  const request = requestByteStream(target, {
    upgrade: d.upgrade,
    deviceToken: d.deviceToken,
    timeoutMs: d.timeoutMs,
    ca,
  });
  let upgraded = false;
  streams.set(d.id, { cut: () => request.destroy() });
  request.on('error', (err) => end({ type: 'ended', id: d.id, err: err.message, joined: false }));
  // A request destroyed before any answer does not always emit 'error'.
  request.on('close', () => {
    if (!upgraded) end({ type: 'ended', id: d.id, joined: false });
  });
  request.on('response', (res: IncomingMessage) => {
    res.resume();
    const status = res.statusCode ?? 0;
    if (status === 401 || status === 403) end({ type: 'refused', id: d.id, status });
    else end({ type: 'not-switched', id: d.id });
  });
  request.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
    upgraded = true;
    if ((res.headers.upgrade ?? '').toLowerCase() !== d.upgrade) {
      socket.destroy();
      end({ type: 'ended', id: d.id, joined: false });
      return;
    }
    // Until the main thread answers, the visitor's bytes wait in the socket (nothing reads it).
    let error: Error | undefined;
    const onError = (err: Error) => (error ??= err);
    const onClose = () => end({ type: 'ended', id: d.id, err: error?.message, joined: false });
    socket.on('error', onError);
    socket.once('close', onClose);
    streams.set(d.id, {
      cut: () => socket.destroy(),
      join: () => {
        socket.off('error', onError);
        socket.off('close', onClose);
        // The visitor's first bytes may have come in the same read as the 101.
        prepareByteStream(socket, head);
        // No Nagle, so a small reply (a Postgres ReadyForQuery) goes out now.
        const local = connect({ host: d.localHost, port: d.localPort, noDelay: true });
        joined++;
        streams.set(d.id, {
          cut: () => {
            local.destroy();
            socket.destroy();
          },
        });
        joinSockets(socket, local, (err) => {
          joined--;
          end({ type: 'ended', id: d.id, err: err?.message, joined: true });
        });
      },
    });
    post({ type: 'upgraded', id: d.id });
  });
  request.end();
}

port.on('message', (msg: ToPumpThread) => {
  switch (msg.type) {
    case 'dial':
      return dial(msg);
    case 'ca':
      cas.set(msg.caId, msg.ca);
      return;
    case 'join':
      return streams.get(msg.id)?.join?.();
    case 'cut':
      return streams.get(msg.id)?.cut();
    case 'stats':
      return post({
        type: 'stats',
        requestId: msg.requestId,
        threadId,
        dialing: streams.size - joined,
        joined,
      });
  }
});
post({ type: 'ready' });
