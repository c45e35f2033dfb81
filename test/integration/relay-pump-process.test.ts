// The hub relay's pump process (server/relay/pump-child.ts, pump-process.ts): plain byte streams
// leave the hub's process with their visitor and are joined there; TLS stays in the hub. A hub relay
// on real sockets and a real SQLite store, with an agent written out by hand over a raw socket, so
// the test decides exactly which bytes travel with the upgrade and when. Which process holds a
// connection is read from /proc: the socket's inode among the process's file descriptors.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { BYTE_STREAM_PROTOCOL, type HubToAgent } from '../../shared';
import { joinSockets } from '../../shared/stream-pump';
import { HubRelay } from '../../server/relay/hub-relay';
import { PUMP_BUNDLE_FILE, RelayPump } from '../../server/relay/pump-child';
import type { FromPump, ToPump } from '../../server/relay/pump-process';
import { HubCertificate } from '../../server/tls/hub-certificate';
import { openSqliteStore } from '../../server/store/sqlite-store';
import { buildCliBundle } from '../../scripts/cli-bundle.mjs';
import { FakeLink, basePort, ensureDevice } from '../helpers/relay-rig';
import { waitFor } from '../helpers/net';
import { makeTestCertificates } from './relay-tls-support';

const dir = mkdtempSync(join(tmpdir(), 'lattice-pump-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Everything a socket receives, and whether it ended or closed. */
class Received {
  chunks: Buffer[] = [];
  ended = false;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => this.chunks.push(c));
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }
  /** Ended or closed: how a cut shows on a half-open socket too. */
  get over(): boolean {
    return this.ended || this.closed;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
  async atLeast(n: number, what: string): Promise<Buffer> {
    await waitFor(what, () => this.bytes.length >= n, 10_000);
    return this.bytes;
  }
}

interface AgentStream {
  socket: Socket;
  /** What came after the 101, from the visitor. */
  received: Received;
}

/**
 * A hub relay with an upgrade route, and an agent that answers `stream.open` by dialing the upgrade
 * with `head` in the same write as its request (bytes right behind the upgrade), then `more` at once,
 * before the 101 has come back.
 */
async function rig(opts: { tls?: boolean } = {}) {
  const first = await basePort(2);
  const store = openSqliteStore(join(dir, `hub-${first}.db`));
  let certificate: HubCertificate | undefined;
  let caPem: string | undefined;
  if (opts.tls) {
    const certs = mkdtempSync(join(dir, 'certs-'));
    makeTestCertificates(certs);
    caPem = readFileSync(join(certs, 'ca.pem'), 'utf8');
    certificate = HubCertificate.fromFiles({
      certFile: join(certs, 'leaf.pem'),
      keyFile: join(certs, 'leaf.key'),
      caFile: join(certs, 'ca.pem'),
    });
  }
  const link = new FakeLink('dev1', 'user1');
  const relay = new HubRelay({
    publicHost: '127.0.0.1',
    ports: { first, last: first + 1 },
    bindHost: '127.0.0.1',
    assignments: store,
    sendToDevice: (_d, msg) => link.deliver(msg),
    requestStream: (_d, stream) => link.deliver({ type: 'stream.open', ...stream }),
    isDeviceOnline: () => link.connected,
    tls: certificate ? { certificate, caUrl: 'http://127.0.0.1/ca.pem' } : undefined,
  });
  link.relay = relay;
  await ensureDevice(store, 'dev1', 'user1');
  link.setConnected(true);
  const http = createHttpServer((_q, s) => s.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => {
    const id = /^\/agent\/stream\/([^/?]+)$/.exec(req.url ?? '')?.[1] ?? '';
    relay.handleStreamUpgrade('dev1', decodeURIComponent(id), req, socket, head);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const hubPort = (http.address() as AddressInfo).port;
  cleanups.push(async () => {
    await relay.close();
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    await store.close();
  });

  const agent = { head: Buffer.from('agent-head:'), more: Buffer.alloc(0) };
  const streams: AgentStream[] = [];
  link.onMessage((msg: HubToAgent) => {
    if (msg.type !== 'stream.open') return;
    const socket = connect({ port: hubPort, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    const request =
      `GET /agent/stream/${msg.streamId} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Connection: Upgrade\r\nUpgrade: ${BYTE_STREAM_PROTOCOL}\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(request), agent.head]));
    if (agent.more.length) socket.write(agent.more);
    let header = Buffer.alloc(0);
    const onHeader = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHeader);
      assert.match(header.subarray(0, end).toString(), /^HTTP\/1\.1 101 /);
      const received = new Received(socket);
      if (header.length > end + 4) received.chunks.push(header.subarray(end + 4));
      streams.push({ socket, received });
    };
    socket.on('data', onHeader);
  });

  const openShare = async (protection: 'plain' | 'tls' = 'plain') => {
    const before = link.delivered.length;
    await relay.handleAgentMessage(
      { deviceId: 'dev1', userId: 'user1' },
      { type: 'relay.open', requestId: 'r1', shareId: 'sh_pump', kind: 'tcp', expiresAt: null, protection },
    );
    const reply = link.delivered.slice(before).find((m) => m.type === 'relay.opened');
    assert.ok(reply && reply.type === 'relay.opened' && reply.publicPort, JSON.stringify(link.delivered));
    return reply.publicPort;
  };

  /** A visitor that sends `first` as soon as it is connected; resolves with its stream at the agent. */
  const visit = async (port: number, first: Buffer) => {
    const had = streams.length;
    const visitor = await new Promise<Socket>((resolve, reject) => {
      const s = caPem
        ? tlsConnect({ port, host: '127.0.0.1', ca: caPem, servername: 'localhost' }, () => resolve(s))
        : connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    cleanups.push(() => visitor.destroy());
    const received = new Received(visitor);
    visitor.allowHalfOpen = true;
    visitor.write(first);
    await waitFor('the agent to get its stream', () => streams.length > had, 10_000);
    const stream = streams[had];
    cleanups.push(() => stream.socket.destroy());
    return { visitor, received, stream };
  };

  return { relay, agent, openShare, visit, hubPort };
}

/** The inode of the IPv4 TCP socket from `local` port to `remote` port (this machine's /proc). */
function socketInode(localPort: number, remotePort: number): string {
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (f[1].endsWith(`:${hex(localPort)}`) && f[2].endsWith(`:${hex(remotePort)}`)) return f[9];
  }
  throw new Error(`no socket ${localPort} → ${remotePort}`);
}

/** Bytes received on that socket that its process has not read yet. */
function receiveQueue(localPort: number, remotePort: number): number {
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (f[1].endsWith(`:${hex(localPort)}`) && f[2].endsWith(`:${hex(remotePort)}`))
      return parseInt(f[4].split(':')[1], 16);
  }
  throw new Error(`no socket ${localPort} → ${remotePort}`);
}

/** Whether process `pid` has that socket open. */
function holds(pid: number, inode: string): boolean {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** Which process holds the hub's ends of a visitor's connection and of its agent stream. */
function holders(port: number, hubPort: number, visitor: Socket, stream: Socket, pumpPid?: number) {
  const inodes = [socketInode(port, visitor.localPort!), socketInode(hubPort, stream.localPort!)];
  return {
    hub: inodes.map((i) => holds(process.pid, i)),
    pump: pumpPid === undefined ? [false, false] : inodes.map((i) => holds(pumpPid, i)),
  };
}

describe('the relay pump process', () => {
  test('pumps a plain byte stream: bytes behind the upgrade first and intact, a half-close carried', async () => {
    const { relay, agent, openShare, visit, hubPort } = await rig();
    const port = await openShare();
    // Bytes behind the upgrade, and 2 MB more sent before the 101 came back: the hub has read some of
    // them before the socket leaves it.
    agent.more = randomBytes(2 * 1024 * 1024);
    const fromVisitor = randomBytes(64 * 1024);
    const { visitor, received, stream } = await visit(port, fromVisitor);
    const expected = Buffer.concat([agent.head, agent.more]);
    assert.ok((await received.atLeast(expected.length, 'the agent’s bytes')).equals(expected));
    assert.ok((await stream.received.atLeast(fromVisitor.length, 'the visitor’s bytes')).equals(fromVisitor));

    const pump = relay.pumpStatus();
    assert.equal(pump.state, 'ready');
    assert.equal(pump.pairs, 1);
    assert.deepEqual(holders(port, hubPort, visitor, stream.socket, pump.pid), {
      hub: [false, false],
      pump: [true, true],
    });
    assert.equal(relay.listening()[0].visitors, 1, 'the share counts its pumped visitor');

    // More both ways, then the visitor half-closes and still gets the answer, then the end.
    const up = randomBytes(3 * 1024 * 1024);
    visitor.end(up);
    await waitFor('the end to reach the agent', () => stream.received.ended, 10_000);
    assert.ok(stream.received.bytes.equals(Buffer.concat([fromVisitor, up])));
    const answer = randomBytes(1024 * 1024);
    stream.socket.end(answer);
    await waitFor('the visitor to see the end', () => received.ended && received.closed, 10_000);
    assert.ok(received.bytes.equals(Buffer.concat([expected, answer])));
    await waitFor('the pump to report the pair closed', () => relay.pumpStatus().pairs === 0, 5_000);
    assert.equal(relay.listening()[0].visitors, 0);
  });

  test('pumps while the hub’s main thread is blocked', async () => {
    const { relay, openShare, visit } = await rig();
    const port = await openShare();
    const { visitor, received, stream } = await visit(port, Buffer.from('x'));
    await stream.received.atLeast(1, 'the first byte');
    // The agent's bytes leave this process into the kernel; while this thread spins, nothing here can
    // move them on: whatever reaches the visitor's socket meanwhile was moved by the pump process.
    const payload = randomBytes(128 * 1024);
    stream.socket.write(payload);
    const inKernel = payload.length - stream.socket.writableLength;
    const before = received.bytes.length;
    const spinUntil = Date.now() + 1000;
    while (Date.now() < spinUntil) {
      // busy: no I/O callbacks run in this process
    }
    const waiting = receiveQueue(visitor.localPort!, port);
    assert.ok(inKernel > 0 && waiting >= Math.min(inKernel, 32 * 1024), `${waiting} of ${inKernel} bytes`);
    const got = await received.atLeast(before + payload.length, 'the payload');
    assert.ok(got.subarray(before).equals(payload));
    assert.equal(relay.pumpStatus().pairs, 1);
    visitor.destroy();
    await waitFor('the cut to reach the agent', () => stream.received.over, 5_000);
  });

  test('closing the share cuts its streams in the pump', async () => {
    const { relay, openShare, visit } = await rig();
    const port = await openShare();
    const a = await visit(port, Buffer.from('a'));
    const b = await visit(port, Buffer.from('b'));
    await a.stream.received.atLeast(1, 'a');
    await b.stream.received.atLeast(1, 'b');
    await waitFor('both pairs in the pump', () => relay.pumpStatus().pairs === 2, 5_000);
    await relay.handleAgentMessage(
      { deviceId: 'dev1', userId: 'user1' },
      { type: 'relay.close', shareId: 'sh_pump' },
    );
    await waitFor(
      'visitors and streams cut',
      () => a.received.over && b.received.over && a.stream.received.over && b.stream.received.over,
      5_000,
    );
    assert.equal(relay.pumpStatus().pairs, 0);
    assert.deepEqual(relay.listening(), []);
  });

  test('a pump that dies: its streams are cut, later streams are joined in the hub', async () => {
    const { relay, openShare, visit, hubPort } = await rig();
    const port = await openShare();
    const old = await visit(port, Buffer.from('old'));
    await old.stream.received.atLeast(3, 'old');
    const { pid } = relay.pumpStatus();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor('the old stream cut both ways', () => old.received.over && old.stream.received.over, 5_000);
    await waitFor('the relay to notice', () => relay.pumpStatus().state === 'gone', 5_000);
    assert.equal(relay.pumpStatus().pairs, 0);
    assert.equal(relay.listening()[0].visitors, 0);

    const fresh = await visit(port, Buffer.from('fresh'));
    assert.ok((await fresh.stream.received.atLeast(5, 'fresh')).equals(Buffer.from('fresh')));
    const back = randomBytes(512 * 1024);
    fresh.stream.socket.write(back);
    const head = Buffer.from('agent-head:');
    assert.ok(
      (await fresh.received.atLeast(head.length + back.length, 'back')).equals(Buffer.concat([head, back])),
    );
    assert.deepEqual(holders(port, hubPort, fresh.visitor, fresh.stream.socket), {
      hub: [true, true],
      pump: [false, false],
    });
    assert.equal(relay.listening()[0].visitors, 1);
  });

  test('a TLS share is joined in the hub; no pump is started for it', async () => {
    const { relay, openShare, visit } = await rig({ tls: true });
    const port = await openShare('tls');
    const { received, stream, visitor } = await visit(port, Buffer.from('over tls'));
    assert.ok((await stream.received.atLeast(8, 'the visitor’s bytes')).equals(Buffer.from('over tls')));
    stream.socket.write('answer');
    assert.equal((await received.atLeast(17, 'the answer')).toString(), 'agent-head:answer');
    assert.deepEqual(relay.pumpStatus(), { pid: undefined, pairs: 0, state: 'idle' });
    visitor.destroy();
  });

  test('a pump that cannot start: pairs waiting for it and later ones are joined in the hub, warned once', async () => {
    const exits = join(dir, 'exits.cjs');
    writeFileSync(exits, 'process.exit(3);\n');
    const warnings: string[] = [];
    const logger = {
      info: () => undefined,
      debug: () => undefined,
      warn: (...args: unknown[]) => void warnings.push(String(args[1])),
    };
    const pump = new RelayPump(logger, () => ({ file: exits, execArgv: [] }));
    cleanups.push(() => pump.close());
    const accepted: Socket[] = [];
    const server = createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as AddressInfo).port;

    /** A visitor and an agent, both connected to `server`, whose accepted ends are given to the pump. */
    const pair = async (label: string) => {
      const visitor = connect(port, '127.0.0.1');
      const agent = connect(port, '127.0.0.1');
      cleanups.push(
        () => visitor.destroy(),
        () => agent.destroy(),
      );
      await waitFor('both accepted', () => accepted.some((s) => s.remotePort === agent.localPort), 5_000);
      const visitorEnd = accepted.find((s) => s.remotePort === visitor.localPort)!;
      const agentEnd = accepted.find((s) => s.remotePort === agent.localPort)!;
      let joinedHere = false;
      pump.adopt(visitorEnd, agentEnd, {
        inProcess: () => {
          joinedHere = true;
          joinSockets(visitorEnd, agentEnd);
        },
        closed: () => undefined,
      });
      const atVisitor = new Received(visitor);
      agent.write(`to ${label}`);
      assert.equal((await atVisitor.atLeast(label.length + 3, label)).toString(), `to ${label}`);
      assert.ok(joinedHere, `${label} was joined in the hub`);
    };
    await pair('first');
    assert.equal(pump.status().state, 'gone');
    await pair('second');
    assert.deepEqual(warnings, ['relay pump process unavailable: streams are pumped in the hub']);
  });

  test('the CLI bundle has the pump beside the hub’s bundle, built from builtins only, and it pumps', async () => {
    const entry = await buildCliBundle();
    const out = dirname(entry);
    const pumpFile = join(out, PUMP_BUNDLE_FILE);
    assert.ok(existsSync(pumpFile), `${pumpFile} exists`);
    // The hub's bundle looks beside itself for that name.
    const hub = readFileSync(join(out, 'server-hub.cjs'), 'utf8');
    assert.ok(hub.includes(JSON.stringify(PUMP_BUNDLE_FILE)), 'the hub bundle names the pump file');
    const required = [...readFileSync(pumpFile, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.ok(required.length > 0 && required.every((name) => name.startsWith('node:')), required.join());

    // The bundled pump joins two sockets handed to it, the stream's bytes from the hub first.
    const child = fork(pumpFile, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    const messages: FromPump[] = [];
    child.on('message', (m: FromPump) => messages.push(m));
    await waitFor('the pump to be ready', () => messages.some((m) => m.type === 'ready'), 10_000);
    const accepted: Socket[] = [];
    const server = createServer({ pauseOnConnect: true }, (s) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const visitor = connect(port, '127.0.0.1');
    const agent = connect(port, '127.0.0.1');
    await waitFor('both accepted', () => accepted.length === 2, 5_000);
    const visitorEnd = accepted.find((s) => s.remotePort === visitor.localPort)!;
    const agentEnd = accepted.find((s) => s.remotePort === agent.localPort)!;
    const atVisitor = new Received(visitor);
    const atAgent = new Received(agent);
    const send = (msg: ToPump, socket: Socket) =>
      new Promise<void>((resolve, reject) =>
        child.send(msg, socket, { keepOpen: true }, (err) => (err ? reject(err) : resolve())),
      );
    await send({ type: 'stream', pair: 1, head: [Buffer.from('from-hub:')] }, agentEnd);
    await send({ type: 'visitor', pair: 1 }, visitorEnd);
    agentEnd.destroy();
    visitorEnd.destroy();
    agent.write('hello');
    visitor.write('world');
    assert.equal((await atVisitor.atLeast(14, 'to the visitor')).toString(), 'from-hub:hello');
    assert.equal((await atAgent.atLeast(5, 'to the agent')).toString(), 'world');
    visitor.destroy();
    await waitFor('the pair reported closed', () => messages.some((m) => m.type === 'closed'), 5_000);
    agent.destroy();
  });
});
