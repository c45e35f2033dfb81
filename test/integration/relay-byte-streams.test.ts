// Relay streams as byte streams — an HTTP upgrade to BYTE_STREAM_PROTOCOL, after which the connection
// carries the visitor's bytes as they are — through nothing and through a real HAProxy in HTTP mode,
// and the WebSocket streams the agent falls back to behind a proxy that passes only WebSocket
// upgrades, or with a hub that offers no byte stream. Hub relay and agent tunnel on real sockets
// (test/helpers/relay-rig.ts).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BYTE_STREAM_PROTOCOL } from '../../shared';
import { attachAgent, basePort, dial, echoServer, roundTrip, startHub } from '../helpers/relay-rig';
import { freePort, waitFor } from '../helpers/net';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A workload that answers only once the client has finished sending: everything it got, reversed. */
async function answerAfterEndServer(): Promise<Server & { sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    s.on('end', () => s.end(Buffer.concat(got).reverse()));
  }) as Server & { sockets: Set<Socket> };
  srv.sockets = sockets;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return srv;
}

/** An echo workload, closed after the test. */
async function echoWorkload(): Promise<Server> {
  const echo = await echoServer();
  cleanups.push(() => new Promise((r) => echo.close(r)));
  return echo;
}

/** `count` visitors one after another, each sending `bytes` random bytes through the share and reading them back. */
async function echoVisitors(port: number, count: number, bytes: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const visitor = await dial(port);
    const data = randomBytes(bytes);
    assert.ok((await roundTrip(visitor, data)).equals(data), `visitor ${i} got its bytes back`);
    visitor.destroy();
  }
}

/** Everything a socket receives until the other side ends it. */
function readToEnd(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/** HAProxy (Debian's) in HTTP mode in front of `target`, as docs/running-a-cluster.md describes it. */
async function httpModeHaproxy(target: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-haproxy-'));
  const port = await freePort();
  const { hostname, port: targetPort } = new URL(target);
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    [
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout tunnel 1h',
      'frontend api',
      `  bind 127.0.0.1:${port}`,
      '  default_backend hub',
      'backend hub',
      `  server hub ${hostname}:${targetPort}`,
      '',
    ].join('\n'),
  );
  const haproxy = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  haproxy.stderr.on('data', (d: Buffer) => (err += d.toString()));
  cleanups.push(() => {
    haproxy.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(
    'HAProxy to listen',
    () => {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${err}`);
      return new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1', () => resolve(true));
        s.on('error', () => resolve(false));
        s.on('connect', () => s.destroy());
      });
    },
    10_000,
  );
  return `http://127.0.0.1:${port}`;
}

async function shareOf(
  streams: 'as-built' | 'older-hub' | 'websocket-only-proxy',
  workload: Server,
  opts: { behindHaproxy?: boolean } = {},
): Promise<{ port: number; upgrades: string[] }> {
  const first = await basePort(2);
  const hub = await startHub({ first, last: first + 1, streams });
  cleanups.push(() => hub.close());
  if (opts.behindHaproxy) hub.agentUrl = await httpModeHaproxy(hub.url);
  const { provider } = await attachAgent(hub);
  cleanups.push(() => provider.closeAll());
  const endpoint = await provider.open({
    shareId: 'sh_bytes',
    kind: 'tcp',
    localHost: '127.0.0.1',
    localPort: (workload.address() as AddressInfo).port,
    expiresAt: null,
  });
  return { port: endpoint.publicPort!, upgrades: hub.upgrades };
}

describe('relay streams', () => {
  test('are byte streams: bytes unchanged, a half-close carried both ways, a cut carried', async () => {
    const workload = await answerAfterEndServer();
    const { port, upgrades } = await shareOf('as-built', workload);

    // The visitor sends everything, then half-closes; the answer still comes back, then the end.
    const payload = randomBytes(3 * 1024 * 1024);
    const visitor = await dial(port);
    const answer = readToEnd(visitor);
    visitor.end(payload);
    assert.ok((await answer).equals(Buffer.from(payload).reverse()), 'the whole answer after the half-close');
    await waitFor('the visitor to close', () => visitor.closed, 5_000);
    assert.deepEqual(upgrades, [BYTE_STREAM_PROTOCOL]);

    // A workload connection cut (reset) cuts the visitor too.
    const second = await dial(port);
    second.write('x');
    const [workloadSide] = await waitFor('the workload connection', () =>
      workload.sockets.size ? [...workload.sockets] : undefined,
    );
    const closed = new Promise((r) => second.once('close', r));
    second.on('error', () => undefined);
    workloadSide.resetAndDestroy();
    await closed;
    assert.deepEqual(upgrades, [BYTE_STREAM_PROTOCOL, BYTE_STREAM_PROTOCOL]);
  });

  test('through HAProxy in HTTP mode they stay byte streams', async () => {
    const { port, upgrades } = await shareOf('as-built', await echoWorkload(), { behindHaproxy: true });
    await echoVisitors(port, 2, 1024 * 1024);
    assert.deepEqual(upgrades, [BYTE_STREAM_PROTOCOL, BYTE_STREAM_PROTOCOL]);
  });

  test('behind a proxy that passes only WebSocket upgrades, the first stream falls back and the rest go straight to WebSocket', async () => {
    const { port, upgrades } = await shareOf('websocket-only-proxy', await echoWorkload());
    await echoVisitors(port, 3, 200_000);
    assert.deepEqual(upgrades, [BYTE_STREAM_PROTOCOL, 'websocket', 'websocket', 'websocket']);
  });

  test('a hub that offers no byte stream gets WebSocket streams', async () => {
    const { port, upgrades } = await shareOf('older-hub', await echoWorkload());
    await echoVisitors(port, 2, 100_000);
    assert.deepEqual(upgrades, ['websocket', 'websocket']);
  });
});
