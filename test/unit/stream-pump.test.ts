// The relay's byte pump (shared/stream-pump.ts, run by the hub and the agent): bytes both ways in
// order, a bound on what each direction queues when its reader stalls, and ends and cuts carried across;
// and the socket join of byte streams (bound and half-close).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { joinSockets, pumpStream } from '../../shared/stream-pump';

const LIMIT = 256 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Rig {
  /** The pumped socket's peer (a visitor, or the workload). */
  peer: Socket;
  /** The pumped socket. */
  pumped: Socket;
  /** The pumped WebSocket. */
  ws: WebSocket;
  /** The WebSocket's other end, not pumped: the test reads and writes frames there. */
  far: WebSocket;
  closed: Promise<Error | undefined>;
  stop(): Promise<void>;
}

async function rig(pump: typeof pumpStream, opts: { pausePeer?: boolean } = {}): Promise<Rig> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const farP = new Promise<WebSocket>((r) => wss.once('connection', r));
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, {
    perMessageDeflate: false,
  });
  await new Promise((r) => ws.once('open', r));
  const far = await farP;
  const server: Server = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pumpedP = new Promise<Socket>((r) => server.once('connection', r));
  const peer = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  if (opts.pausePeer) peer.pause();
  peer.on('error', () => undefined);
  const pumped = await pumpedP;
  let done!: (err?: Error) => void;
  const closed = new Promise<Error | undefined>((r) => (done = r));
  pump(ws, pumped, { bufferBytes: LIMIT, onClosed: done });
  return {
    peer,
    pumped,
    ws,
    far,
    closed,
    async stop() {
      peer.destroy();
      far.terminate();
      ws.terminate();
      await new Promise((r) => server.close(r));
      await new Promise((r) => wss.close(r));
    },
  };
}

const collect = (onChunk: (fn: (d: Buffer) => void) => void) => {
  const chunks: Buffer[] = [];
  let bytes = 0;
  onChunk((d) => {
    chunks.push(Buffer.from(d));
    bytes += d.length;
  });
  return { all: () => Buffer.concat(chunks), bytes: () => bytes };
};

const pump = pumpStream;
describe('stream pump', () => {
  test('carries bytes both ways, in order', async () => {
    const r = await rig(pump);
    try {
      const up = randomBytes(3 * 1024 * 1024 + 17);
      const down = randomBytes(2 * 1024 * 1024 + 5);
      const atFar = collect((fn) => r.far.on('message', (d) => fn(d as Buffer)));
      const atPeer = collect((fn) => r.peer.on('data', fn));
      for (let i = 0; i < up.length; i += 50_000) r.peer.write(up.subarray(i, i + 50_000));
      for (let i = 0; i < down.length; i += 70_000) r.far.send(down.subarray(i, i + 70_000));
      await until('all bytes', () => atFar.bytes() === up.length && atPeer.bytes() === down.length);
      assert.ok(atFar.all().equals(up));
      assert.ok(atPeer.all().equals(down));
    } finally {
      await r.stop();
    }
  });

  test('socket → WebSocket: a reader that stalls holds the socket back within the bound', async () => {
    const r = await rig(pump);
    try {
      r.far.pause(); // the far end stops reading: its kernel buffers fill, then the pump's queue
      const chunk = Buffer.alloc(64 * 1024, 1);
      let offered = 0;
      const feed = () => {
        while (offered < 64 * 1024 * 1024 && r.peer.write(chunk)) offered += chunk.length;
        if (offered < 64 * 1024 * 1024) r.peer.once('drain', () => ((offered += chunk.length), feed()));
      };
      feed();
      // Wait until the pump has paused the socket: the WebSocket queue stops growing.
      let last = -1;
      await until(
        'the pump to pause the socket',
        () => {
          const now = r.ws.bufferedAmount;
          const still = now === last && now > 0;
          last = now;
          return still;
        },
        15_000,
      );
      await sleep(200);
      assert.ok(r.ws.bufferedAmount <= LIMIT + chunk.length, `queued ${r.ws.bufferedAmount}`);
      assert.ok(r.pumped.isPaused(), 'the pumped socket is paused');
      assert.ok(offered < 64 * 1024 * 1024, 'the writer was held back');
      // The reader comes back: everything arrives.
      const atFar = collect((fn) => r.far.on('message', (d) => fn(d as Buffer)));
      r.far.resume();
      await until('the held bytes', () => atFar.bytes() > 4 * LIMIT, 15_000);
    } finally {
      await r.stop();
    }
  });

  test('WebSocket → socket: a peer that stalls pauses the WebSocket within the bound', async () => {
    const r = await rig(pump, { pausePeer: true });
    try {
      const chunk = Buffer.alloc(64 * 1024, 2);
      let sent = 0;
      // The far end sends as long as its own queue is short; the pump must stop reading at the bound.
      const timer = setInterval(() => {
        while (r.far.bufferedAmount < 1024 * 1024 && sent < 256 * 1024 * 1024) {
          r.far.send(chunk);
          sent += chunk.length;
        }
      }, 5);
      try {
        await until('the pump to pause the WebSocket', () => r.ws.isPaused, 15_000);
        await sleep(300);
        assert.ok(r.ws.isPaused);
        assert.ok(r.pumped.writableLength <= LIMIT + 2 * chunk.length, `queued ${r.pumped.writableLength}`);
        const atPeer = collect((fn) => r.peer.on('data', fn));
        r.peer.resume();
        await until('the WebSocket to read again', () => atPeer.bytes() > 4 * LIMIT, 15_000);
      } finally {
        clearInterval(timer);
      }
    } finally {
      await r.stop();
    }
  });

  test("the socket's end closes the WebSocket cleanly, after what it sent", async () => {
    const r = await rig(pump);
    try {
      const atFar = collect((fn) => r.far.on('message', (d) => fn(d as Buffer)));
      const farClosed = new Promise<number>((res) => r.far.once('close', (code) => res(code)));
      const data = randomBytes(512 * 1024);
      r.peer.end(data);
      assert.equal(await farClosed, 1000);
      assert.ok(atFar.all().equals(data));
      assert.equal(await r.closed, undefined);
    } finally {
      await r.stop();
    }
  });

  test("the WebSocket's close ends the socket after the queued bytes", async () => {
    const r = await rig(pump);
    try {
      const atPeer = collect((fn) => r.peer.on('data', fn));
      const peerEnded = new Promise((res) => r.peer.once('end', res));
      const data = randomBytes(700 * 1024);
      r.far.send(data);
      r.far.close(1000);
      await peerEnded;
      assert.ok(atPeer.all().equals(data));
      r.peer.end();
      await r.closed;
    } finally {
      await r.stop();
    }
  });

  test('a cut socket cuts the WebSocket, and a cut WebSocket ends the socket', async () => {
    const a = await rig(pump);
    try {
      const code = new Promise<number>((res) => a.far.once('close', (c) => res(c)));
      a.peer.resetAndDestroy();
      assert.equal(await code, 1006);
      await a.closed;
    } finally {
      await a.stop();
    }
    const b = await rig(pump);
    try {
      const peerEnded = new Promise((res) => b.peer.once('end', res));
      b.far.terminate();
      await peerEnded;
    } finally {
      await b.stop();
    }
  });
});

/** Two accepted sockets joined (what the hub and the agent do with byte streams) and their peers. */
async function joinedPair(): Promise<{
  peerA: Socket;
  peerB: Socket;
  b: Socket;
  closed: Promise<Error | undefined>;
  stop(): Promise<void>;
}> {
  const server: Server = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const accepted: Socket[] = [];
  server.on('connection', (s) => accepted.push(s));
  // Peers that may half-close, like the visitor and the workload of a relayed connection.
  const peerA = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await until('the first socket', () => accepted.length === 1);
  const peerB = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  peerB.pause();
  await until('the second socket', () => accepted.length === 2);
  const [a, b] = accepted;
  let done!: (err?: Error) => void;
  const closed = new Promise<Error | undefined>((r) => (done = r));
  joinSockets(a, b, done);
  return {
    peerA,
    peerB,
    b,
    closed,
    async stop() {
      for (const s of [peerA, peerB, ...accepted]) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('socket join', () => {
  test('a reader that stalls holds the writer back within the high-water mark', async () => {
    const r = await joinedPair();
    try {
      const chunk = Buffer.alloc(64 * 1024, 3);
      const total = 128 * 1024 * 1024;
      let offered = 0;
      const feed = () => {
        while (offered < total && r.peerA.write(chunk)) offered += chunk.length;
        if (offered < total) r.peerA.once('drain', () => ((offered += chunk.length), feed()));
      };
      feed();
      let last = -1;
      await until(
        'the join to stop reading',
        () => {
          const still = offered === last;
          last = offered;
          return still;
        },
        15_000,
      );
      await sleep(300);
      assert.ok(offered < total, 'the writer was held back');
      assert.ok(
        r.b.writableLength <= r.b.writableHighWaterMark + 2 * chunk.length,
        `queued ${r.b.writableLength}`,
      );
      const atB = collect((fn) => r.peerB.on('data', fn));
      r.peerB.resume();
      await until('the held bytes', () => atB.bytes() > 16 * 1024 * 1024, 15_000);
    } finally {
      await r.stop();
    }
  });

  test('ends travel one way at a time, and both closing runs onClosed without an error', async () => {
    const r = await joinedPair();
    try {
      r.peerB.resume();
      const atB = collect((fn) => r.peerB.on('data', fn));
      const bEnded = new Promise((res) => r.peerB.once('end', res));
      r.peerA.end('last words');
      await bEnded;
      assert.equal(atB.all().toString(), 'last words');
      // B may still answer after A's end: the join is half-open, not closed.
      const atA = collect((fn) => r.peerA.on('data', fn));
      const aEnded = new Promise((res) => r.peerA.once('end', res));
      r.peerB.end('answer');
      await aEnded;
      assert.equal(atA.all().toString(), 'answer');
      assert.equal(await r.closed, undefined);
    } finally {
      await r.stop();
    }
  });
});
