// The agent's relay byte streams are dialed and pumped in a worker thread (relay-stream-thread.ts,
// relay-stream-worker.ts), from the sources here as under tsx: the thread reports the streams it
// joined, the main thread keeps counting and cutting them per share, a share no longer wanted when
// the hub switches is cut before the workload hears of it, a hub on a private CA is trusted by every
// thread started, and where the thread cannot start (its file missing, or its code failing at load)
// the streams are pumped on the main thread after one warning. Hub relay and agent on real sockets
// (test/helpers/relay-rig.ts).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { threadId } from 'node:worker_threads';
import { BYTE_STREAM_PROTOCOL, type HubToAgent } from '../../shared';
import { RelayStreams } from '../../electron/agent/tunnels/relay-streams';
import { dialByHand } from '../helpers/pump-worker';
import { makeTestCertificates } from './relay-tls-support';
import {
  PUMP_WORKER_BUNDLE,
  PumpThread,
  locatePumpWorker,
  pumpThread,
  type PumpWorkerEntry,
} from '../../electron/agent/tunnels/relay-stream-thread';
import {
  attachAgent,
  basePort,
  dial,
  echoServer,
  roundTrip,
  startHub,
  TOKEN,
  type Hub,
} from '../helpers/relay-rig';
import { waitFor } from '../helpers/net';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function echoWorkload(): Promise<Server & { sockets: Set<Socket> }> {
  const echo = await echoServer();
  cleanups.push(() => new Promise((r) => echo.close(r)));
  return echo;
}

/** A hub with one agent attached and one TCP share of `workload` open; streams delivered or not. */
async function sharedWorkload(workload: Server, deliverStreams = true) {
  const first = await basePort(1);
  const hub = await startHub({ first, last: first });
  cleanups.push(() => hub.close());
  const { link, provider } = await attachAgent(hub);
  cleanups.push(() => provider.closeAll());
  const localPort = (workload.address() as AddressInfo).port;
  const endpoint = await provider.open({
    shareId: 'sh_thread',
    kind: 'tcp',
    localHost: '127.0.0.1',
    localPort,
    expiresAt: null,
  });
  link.deliverStreams = deliverStreams;
  return { hub, link, provider, localPort, port: endpoint.publicPort! };
}

/** The stream.open the hub sent for the latest visitor (streams not delivered to the agent). */
async function nextStreamOpen(link: { delivered: HubToAgent[] }, seen: Set<string>) {
  return waitFor('the hub to ask for a stream', () =>
    link.delivered.find(
      (m): m is Extract<HubToAgent, { type: 'stream.open' }> =>
        m.type === 'stream.open' && !seen.has(m.streamId),
    ),
  );
}

function capturingLogger() {
  const warnings: { msg: string; err?: string }[] = [];
  return {
    warnings,
    logger: {
      info: () => undefined,
      debug: () => undefined,
      warn: (obj: { err?: string }, msg: string) => warnings.push({ msg, err: obj.err }),
    } as never,
  };
}

/** `count` visitors one after another, their streams dialed by hand through `streams`, each echoing. */
async function visitorsThrough(
  streams: RelayStreams,
  hub: Hub,
  link: { delivered: HubToAgent[] },
  seen: Set<string>,
  port: number,
  localPort: number,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const visitor = await dial(port);
    const open = await nextStreamOpen(link, seen);
    seen.add(open.streamId);
    dialByHand(streams, hub.url, open, localPort);
    const data = randomBytes(512 * 1024);
    assert.ok((await roundTrip(visitor, data)).equals(data), `visitor ${i} got its bytes back`);
    assert.equal(streams.count(open.shareId), 1);
    visitor.destroy();
    await waitFor('the stream to end', () => streams.count(open.shareId) === 0, 5_000, 20);
  }
}

describe('relay byte streams in a worker thread', () => {
  test('are joined and pumped by the thread; it stops when the relay closes', async () => {
    const workload = await echoWorkload();
    const { hub, provider, port } = await sharedWorkload(workload);

    const visitor = await dial(port);
    const data = randomBytes(2 * 1024 * 1024);
    assert.ok((await roundTrip(visitor, data)).equals(data));
    const stats = await pumpThread.stats();
    assert.ok(stats, 'the thread runs');
    assert.notEqual(stats.threadId, threadId, 'not the main thread');
    assert.deepEqual({ joined: stats.joined, dialing: stats.dialing }, { joined: 1, dialing: 0 });
    assert.equal(provider.openConnections('sh_thread'), 1);
    assert.deepEqual(hub.upgrades, [BYTE_STREAM_PROTOCOL]);

    // A second visitor is the same thread's.
    const second = await dial(port);
    assert.ok((await roundTrip(second, data.subarray(0, 1000))).equals(data.subarray(0, 1000)));
    assert.equal((await pumpThread.stats())?.joined, 2);
    assert.equal((await pumpThread.stats())?.threadId, stats.threadId);

    // Closing the share cuts its streams in the thread; the visitors see their connections close.
    const closed = Promise.all([visitor, second].map((v) => new Promise((r) => v.once('close', r))));
    visitor.on('error', () => undefined);
    second.on('error', () => undefined);
    await provider.close('sh_thread');
    await closed;
    assert.equal(provider.openConnections('sh_thread'), 0);
    await waitFor('the thread to drop them', async () => (await pumpThread.stats())?.joined === 0, 5_000, 20);

    await provider.closeAll();
    assert.equal(await pumpThread.stats(), undefined, 'the last relay closed: the thread stopped');
  });

  test('a share no longer wanted when the hub switches is cut before the workload is dialed', async () => {
    const workload = await echoWorkload();
    const { hub, link, port, localPort } = await sharedWorkload(workload, false);
    let connections = 0;
    workload.on('connection', () => connections++);
    const streams = new RelayStreams({ deviceToken: TOKEN });
    cleanups.push(() => streams.close());

    const visitor = await dial(port);
    visitor.on('error', () => undefined);
    const closed = new Promise((r) => visitor.once('close', r));
    const open = await nextStreamOpen(link, new Set());
    let asked = 0;
    dialByHand(streams, hub.url, open, localPort, () => (asked++, false));
    visitor.write('hello');
    await closed;
    assert.equal(asked, 1);
    assert.equal(streams.count(open.shareId), 0);
    assert.equal(connections, 0, 'the workload never heard of the visitor');
  });

  test('where the thread cannot start, streams are pumped on the main thread after one warning', async () => {
    const workload = await echoWorkload();
    const { hub, link, port, localPort } = await sharedWorkload(workload, false);
    const dir = mkdtempSync(join(tmpdir(), 'lattice-no-worker-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const missing = join(dir, PUMP_WORKER_BUNDLE);
    const cases: [string, PumpWorkerEntry, RegExp][] = [
      // Known before starting: the file is not there (a stale CLI build removed under the agent).
      ['missing file', { file: missing, script: missing, evaluate: false }, /is missing/],
      // Known only once the thread ran: its code failed at load, with streams already posted to it.
      [
        'failing code',
        { file: import.meta.filename, script: 'throw new Error("no pump here")', evaluate: true },
        /no pump here/,
      ],
    ];
    const seen = new Set<string>();
    for (const [name, entry, why] of cases) {
      const { warnings, logger } = capturingLogger();
      const thread = new PumpThread(() => entry);
      const streams = new RelayStreams({ deviceToken: TOKEN, logger, thread });
      cleanups.push(() => streams.close());
      await visitorsThrough(streams, hub, link, seen, port, localPort, 2);
      assert.match(thread.failed ?? '', why, name);
      assert.equal(await thread.stats(), undefined, name);
      assert.equal(warnings.length, 1, `${name}: one warning (${JSON.stringify(warnings)})`);
      assert.match(warnings[0].msg, /on the main thread/);
      assert.match(warnings[0].err ?? '', why);
    }
    assert.deepEqual(hub.upgrades, Array(4).fill(BYTE_STREAM_PROTOCOL), 'byte streams all the same');
  });

  test('to a hub on a private CA: the CA list reaches the thread, and a thread started again', async () => {
    const workload = await echoWorkload();
    const { hub, link, port, localPort } = await sharedWorkload(workload, false);
    const dir = mkdtempSync(join(tmpdir(), 'lattice-pump-ca-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    makeTestCertificates(dir);
    const ca = [readFileSync(join(dir, 'ca.pem'), 'utf8')];
    // The hub behind TLS with a certificate from that CA (what `lattice hub --tls-ca` serves).
    const front = createTlsServer(
      { key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) },
      (visitor) => {
        const upstream = connect(Number(new URL(hub.url).port), '127.0.0.1');
        visitor.on('error', () => upstream.destroy());
        upstream.on('error', () => visitor.destroy());
        visitor.pipe(upstream).pipe(visitor);
      },
    );
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => front.close(r)));
    const hubUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
    const thread = new PumpThread();
    const seen = new Set<string>();
    const threads: number[] = [];
    // The second RelayStreams (a new hub link) has the same CA array: its new thread must get it too.
    for (let round = 0; round < 2; round++) {
      const { warnings, logger } = capturingLogger();
      const streams = new RelayStreams({ deviceToken: TOKEN, ca, logger, thread });
      const visitor = await dial(port);
      const open = await nextStreamOpen(link, seen);
      seen.add(open.streamId);
      dialByHand(streams, hubUrl, open, localPort);
      const data = randomBytes(64 * 1024);
      assert.ok((await roundTrip(visitor, data)).equals(data), `round ${round}: bytes back`);
      threads.push((await thread.stats())!.threadId);
      assert.deepEqual(warnings, []);
      visitor.destroy();
      streams.close();
      assert.equal(await thread.stats(), undefined, 'its only user closed: the thread stopped');
    }
    assert.notEqual(threads[0], threads[1], 'a new thread the second time');
  });

  test('from the sources the thread is the TypeScript file, loaded through tsx', () => {
    const entry = locatePumpWorker();
    assert.ok(entry.file.endsWith('/electron/agent/tunnels/relay-stream-worker.ts'), entry.file);
    assert.equal(entry.evaluate, true);
    assert.match(entry.script, /tsx/);
  });
});
