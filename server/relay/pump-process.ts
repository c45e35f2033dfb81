// The hub relay's pump process: a child of the hub (forked by pump-child.ts) that pumps the bytes of
// plain byte streams — a visitor's TCP socket joined to the agent's upgraded stream socket — so bulk
// share traffic runs neither on the hub's main thread (which serves the API and agents' commands)
// nor through the hub's Node stream code. That code has served http, ws and TLS streams in the hub,
// its inline caches have gone polymorphic, and it costs 30–40% more CPU per MB than the same pipe()s
// in a process that only ever pumps sockets. So this file imports node builtins and
// shared/stream-pump.ts and nothing else.
//
// The hub sends each socket in a message of its own (Node passes one handle per message): the
// agent's stream first, with the bytes the hub had already read from it, then the visitor, still
// unread. Once both are here they are joined exactly as the hub joins them in-process. The hub is
// told when a pair has closed, and may cut pairs (their share closed). If the hub goes away, so does
// this process, and every socket with it.
import { Socket } from 'node:net';
import { joinSockets, prepareByteStream } from '../../shared/stream-pump';

/** Hub → pump. `pair` is the hub's number for one visitor and its stream. */
export type ToPump =
  /** Comes with the agent's stream socket; `head`: bytes the hub read from it, to go first. */
  | { type: 'stream'; pair: number; head: Uint8Array[] }
  /** Comes with the visitor's socket. */
  | { type: 'visitor'; pair: number }
  | { type: 'cut'; pairs: number[] };

/** Pump → hub. */
export type FromPump = { type: 'ready' } | { type: 'closed'; pair: number };

interface Pair {
  /** null: the message came without its socket (closed in the hub before it could go). */
  stream?: Socket | null;
  head: Uint8Array[];
  visitor?: Socket | null;
  cut: boolean;
  joined: boolean;
}

const pairs = new Map<number, Pair>();

const tell = (msg: FromPump) => {
  // The hub may be gone already; then this process is about to exit anyway.
  if (process.connected) process.send!(msg, undefined, {}, () => undefined);
};

const closed = (id: number) => {
  pairs.delete(id);
  tell({ type: 'closed', pair: id });
};

const pairFor = (id: number): Pair => {
  let pair = pairs.get(id);
  if (!pair) {
    pair = { head: [], cut: false, joined: false };
    pairs.set(id, pair);
  }
  return pair;
};

/** Joins the pair once both halves are here; a pair that lost a half, or was cut, closes instead. */
const settle = (id: number, pair: Pair) => {
  if (pair.stream === undefined || pair.visitor === undefined) return;
  const { stream, visitor } = pair;
  if (!stream || !visitor || pair.cut) {
    stream?.destroy();
    visitor?.destroy();
    return closed(id);
  }
  pair.joined = true;
  // The same options as the hub's in-process join: no timeout, no Nagle and keepalive on the stream,
  // the bytes the hub had read first in line; no Nagle toward the visitor.
  prepareByteStream(stream, Buffer.concat(pair.head));
  visitor.setNoDelay(true);
  joinSockets(visitor, stream, () => closed(id));
};

process.on('message', (msg: ToPump, handle?: unknown) => {
  const socket = handle instanceof Socket ? handle : null;
  // Until the pair is joined (joinSockets listens then), an error must not take the process down.
  socket?.on('error', () => undefined);
  if (msg.type === 'stream') {
    const pair = pairFor(msg.pair);
    pair.stream = socket;
    pair.head = msg.head;
    settle(msg.pair, pair);
  } else if (msg.type === 'visitor') {
    const pair = pairFor(msg.pair);
    pair.visitor = socket;
    settle(msg.pair, pair);
  } else if (msg.type === 'cut') {
    for (const id of msg.pairs) {
      const pair = pairs.get(id);
      if (!pair) continue;
      pair.cut = true;
      // A joined pair reports its close through joinSockets; half of one closes when it is whole.
      if (pair.joined) {
        pair.visitor?.destroy();
        pair.stream?.destroy();
      }
    }
  }
});

// The hub exited or closed the channel: its visitors' connections end with this process.
process.on('disconnect', () => process.exit(0));

tell({ type: 'ready' });
