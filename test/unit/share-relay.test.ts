// The hub relay and the agent's relay tunnel together, on real sockets and the hub's real SQLite store,
// with the control link replaced by an in-process channel (test/helpers/relay-rig.ts; the real hub and
// agent are in test/integration/share-*.test.ts).
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { BYTE_STREAM_PROTOCOL, type HubToAgent } from '../../shared';
import { parsePortRange } from '../../server/relay/port-range';
import { basicAuthMatches } from '../../server/relay/basic-auth';
import { waitFor } from '../helpers/net';
import { attachAgent, basePort, dial, echoServer, roundTrip, startHub } from '../helpers/relay-rig';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
const dir = mkdtempSync(join(tmpdir(), 'lattice-relay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('relay port range', () => {
  test('parses ranges and names the flag on bad input', () => {
    assert.deepEqual(parsePortRange('20000-20099'), { first: 20000, last: 20099 });
    assert.deepEqual(parsePortRange('21000'), { first: 21000, last: 21000 });
    assert.throws(() => parsePortRange('20099-20000'), /--relay-ports.*ends before it starts/);
    assert.throws(() => parsePortRange('abc'), /--relay-ports "abc" is not a port range/);
    assert.throws(() => parsePortRange('0-10'), /0 is not a port/);
  });
  test('basic auth compares user and password', () => {
    const h = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    const creds = { username: 'amy', password: 'pa:ss word' };
    assert.equal(basicAuthMatches(h('amy:pa:ss word'), creds), true);
    assert.equal(basicAuthMatches(h('amy:wrong'), creds), false);
    assert.equal(basicAuthMatches(h('bob:pa:ss word'), creds), false);
    assert.equal(basicAuthMatches(undefined, creds), false);
    assert.equal(basicAuthMatches('Bearer x', creds), false);
  });
});

describe('hub relay with the agent relay tunnel', () => {
  test('a TCP share carries bytes both ways, and closing it cuts open visitors and the listener', async () => {
    const first = await basePort(4);
    const hub = await startHub({ first, last: first + 3 });
    cleanups.push(() => hub.close());
    const echo = await echoServer();
    cleanups.push(() => new Promise((r) => echo.close(r)));
    const { provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    const endpoint = await provider.open({
      shareId: 'sh_tcp',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: (echo.address() as AddressInfo).port,
      expiresAt: null,
    });
    assert.equal(endpoint.publicHost, '127.0.0.1');
    assert.equal(endpoint.publicPort, first);
    assert.equal(endpoint.url, `tcp://127.0.0.1:${first}`);

    const payload = randomBytes(5 * 1024 * 1024);
    const visitors = await Promise.all([dial(first), dial(first)]);
    const echoed = await Promise.all(visitors.map((v) => roundTrip(v, payload)));
    for (const e of echoed) assert.ok(e.equals(payload), 'bytes come back unchanged');
    assert.equal(provider.openConnections('sh_tcp'), 2);

    const closed = visitors.map((v) => new Promise((r) => v.once('close', r)));
    await provider.close('sh_tcp');
    await Promise.all(closed);
    await waitFor('the workload side to be cut', () => echo.sockets.size === 0, 5_000);
    await waitFor('the listener to close', () => hub.relay.listening().length === 0, 5_000);
    await assert.rejects(dial(first), /ECONNREFUSED/);
  });

  test('an HTTP share checks basic auth at the hub and does not forward the credentials', async () => {
    const first = await basePort(2);
    const hub = await startHub({ first, last: first + 1 });
    cleanups.push(() => hub.close());
    const seen: (string | undefined)[] = [];
    const web = createHttpServer((req, res) => {
      seen.push(req.headers.authorization);
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.end(`hello ${req.method} ${req.url} ${body}`));
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => web.close(r)));
    const { provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    const endpoint = await provider.open({
      shareId: 'sh_http',
      kind: 'http',
      localHost: '127.0.0.1',
      localPort: (web.address() as AddressInfo).port,
      basicAuth: { username: 'visitor', password: 'correct-horse' },
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    assert.equal(endpoint.url, `http://127.0.0.1:${first}`);

    const anonymous = await fetch(`${endpoint.url}/page`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const wrong = await fetch(`${endpoint.url}/page`, {
      headers: { authorization: `Basic ${btoa('visitor:nope')}` },
    });
    assert.equal(wrong.status, 401);
    assert.equal(seen.length, 0, 'nothing reached the workload without credentials');

    const auth = { authorization: `Basic ${btoa('visitor:correct-horse')}` };
    const ok = await fetch(`${endpoint.url}/page?x=1`, { headers: auth });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'hello GET /page?x=1 ');
    const posted = await fetch(`${endpoint.url}/form`, { method: 'POST', headers: auth, body: 'a=b' });
    assert.equal(await posted.text(), 'hello POST /form a=b');
    assert.deepEqual(seen, [undefined, undefined]);
  });

  test('a WebSocket upgrade passes through an HTTP share, behind the same basic auth', async () => {
    const first = await basePort(1);
    const hub = await startHub({ first, last: first });
    cleanups.push(() => hub.close());
    const web = createHttpServer((_q, r) => r.end('plain'));
    const wss = new WebSocketServer({ server: web });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise((r) => {
          wss.close();
          web.closeAllConnections();
          web.close(r);
        }),
    );
    const { provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    await provider.open({
      shareId: 'sh_ws',
      kind: 'http',
      localHost: '127.0.0.1',
      localPort: (web.address() as AddressInfo).port,
      basicAuth: { username: 'v', password: 'password-1' },
      expiresAt: null,
    });
    const refused = new WebSocket(`ws://127.0.0.1:${first}/live`);
    const status = await new Promise<number>((resolve) => {
      refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      refused.on('error', () => resolve(-1));
    });
    assert.equal(status, 401);
    const ws = new WebSocket(`ws://127.0.0.1:${first}/live`, {
      headers: { authorization: `Basic ${btoa('v:password-1')}` },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hi');
    const reply = await new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
    assert.equal(reply, 'echo hi');
    ws.terminate();
  });

  test('a visitor whose stream nobody claims is dropped after the claim timeout', async () => {
    const first = await basePort(1);
    const hub = await startHub({ first, last: first, claimMs: 300 });
    cleanups.push(() => hub.close());
    const { link, provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    await provider.open({
      shareId: 'sh_idle',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: 9,
      expiresAt: null,
    });
    link.deliverStreams = false;
    const visitor = await dial(first);
    await new Promise((r) => visitor.once('close', r));
    await waitFor('the hub to forget the visitor', () => hub.relay.listening()[0].visitors === 0, 2_000);
  });

  test('only the owning device may re-open a share or claim its streams', async () => {
    const first = await basePort(2);
    const hub = await startHub({ first, last: first + 1 });
    cleanups.push(() => hub.close());
    const echo = await echoServer();
    cleanups.push(() => new Promise((r) => echo.close(r)));
    const a = await attachAgent(hub, 'dev1', 'device-token-1');
    const b = await attachAgent(hub, 'dev2', 'device-token-2');
    cleanups.push(
      () => a.provider.closeAll(),
      () => b.provider.closeAll(),
    );
    const port = (echo.address() as AddressInfo).port;
    await a.provider.open({
      shareId: 'sh_mine',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: port,
      expiresAt: null,
    });
    await assert.rejects(
      b.provider.open({
        shareId: 'sh_mine',
        kind: 'tcp',
        localHost: '127.0.0.1',
        localPort: port,
        expiresAt: null,
      }),
      /another device/,
    );
    // Device 2 closing device 1's share changes nothing.
    b.link.send({ type: 'relay.close', shareId: 'sh_mine' });
    const v = await dial(first);
    assert.ok((await roundTrip(v, Buffer.from('still mine'))).equals(Buffer.from('still mine')));
    v.destroy();

    // A stream of device 1's share, claimed with device 2's credential: refused, and still claimable.
    a.link.deliverStreams = false;
    const before = a.link.delivered.length;
    const waiting = await dial(first);
    const open = await waitFor('the stream.open to device 1', () =>
      a.link.delivered
        .slice(before)
        .find((m): m is Extract<HubToAgent, { type: 'stream.open' }> => m.type === 'stream.open'),
    );
    const claim = (token: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/agent/stream/${open.streamId}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          resolve(101);
          ws.terminate();
        });
        ws.on('error', () => undefined);
      });
    // The same as a byte stream (an HTTP upgrade to BYTE_STREAM_PROTOCOL).
    const claimBytes = (token: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${hub.url}/agent/stream/${open.streamId}`, {
          headers: { connection: 'Upgrade', upgrade: BYTE_STREAM_PROTOCOL, authorization: `Bearer ${token}` },
        });
        req.on('response', (res) => resolve(res.statusCode ?? 0));
        req.on('upgrade', (_res, socket) => {
          resolve(101);
          socket.destroy();
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await claim('device-token-2'), 403);
    assert.equal(await claimBytes('device-token-2'), 403);
    assert.equal(await claim('device-token-1'), 101);
    waiting.destroy();
  });

  test('after a hub restart the agent re-opens its share on the same port by itself', async () => {
    const first = await basePort(3);
    const dbPath = join(dir, 'relay-restart.db');
    let hub = await startHub({ dbPath, first, last: first + 2 });
    const echo = await echoServer();
    cleanups.push(() => new Promise((r) => echo.close(r)));
    const { link, provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    const updates: string[] = [];
    provider.onUpdate((u) => updates.push(u.state === 'open' ? u.endpoint.url : u.message));
    const port = (echo.address() as AddressInfo).port;
    // Another share first, so the one under test is not simply the first port of the range.
    await provider.open({
      shareId: 'sh_other',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: port,
      expiresAt: null,
    });
    const before = await provider.open({
      shareId: 'sh_keep',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: port,
      expiresAt: null,
    });
    await provider.close('sh_other');
    assert.equal(before.publicPort, first + 1);

    link.setConnected(false);
    await hub.close();
    await assert.rejects(dial(first + 1), /ECONNREFUSED/);
    // Same data file, same address: what `lattice hub` does when it starts again.
    hub = await startHub({ dbPath, first, last: first + 2, httpPort: Number(new URL(hub.url).port) });
    cleanups.push(() => hub.close());
    link.relay = hub.relay;
    hub.links.set('dev1', link);
    link.setConnected(true);
    await waitFor('the share to re-open', () => updates.length > 0, 5_000);
    assert.deepEqual(updates, [`tcp://127.0.0.1:${first + 1}`]);
    const v = await dial(first + 1);
    assert.ok((await roundTrip(v, Buffer.from('again'))).equals(Buffer.from('again')));
    v.destroy();
  });

  test('the hub closes a share at its expiry even if the agent does not', async () => {
    const first = await basePort(1);
    const hub = await startHub({ first, last: first });
    cleanups.push(() => hub.close());
    const { provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    await provider.open({
      shareId: 'sh_short',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: 9,
      expiresAt: new Date(Date.now() + 400).toISOString(),
    });
    assert.equal(hub.relay.listening().length, 1);
    await waitFor('the hub to close the expired share', () => hub.relay.listening().length === 0, 5_000);
    await assert.rejects(dial(first), /ECONNREFUSED/);
  });

  test('listeners of a device that went away close after the grace period, unless it came back', async () => {
    const first = await basePort(2);
    const hub = await startHub({ first, last: first + 1, graceMs: 300 });
    cleanups.push(() => hub.close());
    const { link, provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    await provider.open({
      shareId: 'sh_g',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: 9,
      expiresAt: null,
    });
    // An old socket's close reported after the device is already back: nothing closes.
    hub.relay.agentDisconnected('dev1');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(hub.relay.listening().length, 1);
    link.setConnected(false);
    await waitFor(
      'the listener to close after the grace period',
      () => hub.relay.listening().length === 0,
      5_000,
    );
  });

  test('a share closed while the hub link is down is closed on the hub at the next connect', async () => {
    const first = await basePort(2);
    const hub = await startHub({ first, last: first + 1, graceMs: 60_000 });
    cleanups.push(() => hub.close());
    const { link, provider } = await attachAgent(hub);
    cleanups.push(() => provider.closeAll());
    await provider.open({
      shareId: 'sh_lost',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: 9,
      expiresAt: null,
    });
    link.setConnected(false);
    await provider.close('sh_lost');
    assert.ok(await hub.store.relayAssignment('sh_lost'), 'the hub has not heard yet: still reserved');
    link.setConnected(true);
    await waitFor(
      'the reservation released',
      async () => !(await hub.store.relayAssignment('sh_lost')),
      5_000,
    );
    await waitFor('the listener closed', () => hub.relay.listening().length === 0, 5_000);
  });

  test('one account holds a bounded number of public ports, across its devices', async () => {
    const first = await basePort(5);
    const hub = await startHub({ first, last: first + 4 });
    cleanups.push(() => hub.close());
    const { provider } = await attachAgent(hub, 'dev1', 'device-token-1', 'amy');
    const second = await attachAgent(hub, 'dev2', 'device-token-2', 'amy');
    cleanups.push(
      () => provider.closeAll(),
      () => second.provider.closeAll(),
    );
    const req = (id: string) => ({
      shareId: id,
      kind: 'tcp' as const,
      localHost: '127.0.0.1',
      localPort: 9,
      expiresAt: null,
    });
    for (const id of ['a', 'b']) await provider.open(req(`sh_${id}`));
    await second.provider.open(req('sh_c'));
    await assert.rejects(
      second.provider.open(req('sh_d')),
      (err: Error & { code?: string }) =>
        err.code === 'quota_exceeded' && /already holds 3 relay shares/.test(err.message),
    );
    // Another account still has room in the same range.
    const other = await attachAgent(hub, 'dev3', 'device-token-3', 'bob');
    cleanups.push(() => other.provider.closeAll());
    assert.equal((await other.provider.open(req('sh_bob'))).publicPort, first + 3);
  });

  test('open fails clearly when the hub is not connected', async () => {
    const hub = await startHub({ first: 1, last: 1 });
    cleanups.push(() => hub.close());
    const { link, provider } = await attachAgent(hub);
    link.setConnected(false);
    await assert.rejects(
      provider.open({ shareId: 'sh_x', kind: 'tcp', localHost: '127.0.0.1', localPort: 9, expiresAt: null }),
      (err: Error & { code?: string }) =>
        err.code === 'share_failed' && /Not connected to the hub/.test(err.message),
    );
  });
});

// A reserved port belongs to its share's account until the share ends (closed by its device, expired,
// or its device revoked). Two accounts, a range of two ports: every interleaving of each account's
// open → offline → reconnect → close, with the other account asking for one more port after each step.
describe("relay ports are owned by their share's account", () => {
  type Step = 'open' | 'offline' | 'reconnect' | 'close';
  const STEPS: Step[] = ['open', 'offline', 'reconnect', 'close'];
  type Who = 'amy' | 'bob';

  /** Every order of merging amy's four steps with bob's (70 of them). */
  function interleavings(a = 4, b = 4): Who[][] {
    if (a === 0) return [Array<Who>(b).fill('bob')];
    if (b === 0) return [Array<Who>(a).fill('amy')];
    return [
      ...interleavings(a - 1, b).map((rest): Who[] => ['amy', ...rest]),
      ...interleavings(a, b - 1).map((rest): Who[] => ['bob', ...rest]),
    ];
  }
  /** waitFor, polling every 5 ms: the ordering test takes many small waits. */
  const soon = <T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false) =>
    waitFor(what, check, 5_000, 5);
  const req = (shareId: string) => ({
    shareId,
    kind: 'tcp' as const,
    localHost: '127.0.0.1',
    localPort: 9,
    expiresAt: null,
  });

  test('every ordering of open/offline/reconnect/close leaves each account its own port', async () => {
    const orders = interleavings();
    assert.equal(orders.length, 70);
    const first = await basePort(2);
    let exhaustedSeen = 0;
    for (const order of orders) {
      const hub = await startHub({ first, last: first + 1, graceMs: 20, maxSharesPerAccount: 5 });
      const agents = {
        amy: await attachAgent(hub, 'dev1', 'device-token-1', 'amy'),
        bob: await attachAgent(hub, 'dev2', 'device-token-2', 'bob'),
      };
      const state = {
        amy: { step: 0, port: undefined as number | undefined, holds: false, online: true },
        bob: { step: 0, port: undefined as number | undefined, holds: false, online: true },
      };
      const updates: Record<Who, number[]> = { amy: [], bob: [] };
      for (const who of ['amy', 'bob'] as const) {
        agents[who].provider.onUpdate((u) => {
          if (u.shareId === `sh_${who}` && u.state === 'open') updates[who].push(u.endpoint.publicPort ?? -1);
        });
      }
      const other = (who: Who): Who => (who === 'amy' ? 'bob' : 'amy');
      const where = (who: Who, step: string) => `${order.join(',')}: ${who} ${step}`;
      try {
        for (const who of order) {
          const me = state[who];
          const { link, provider } = agents[who];
          const step = STEPS[me.step++];
          if (step === 'open') {
            const endpoint = await provider.open(req(`sh_${who}`));
            me.port = endpoint.publicPort;
            me.holds = true;
          } else if (step === 'offline') {
            link.setConnected(false);
            me.online = false;
            await soon(where(who, 'listener closed after the grace period'), () =>
              hub.relay.listening().every((l) => l.deviceId !== link.deviceId),
            );
          } else if (step === 'reconnect') {
            const before = updates[who].length;
            link.setConnected(true);
            me.online = true;
            const port = await soon(where(who, 're-open'), () => updates[who][before]);
            assert.equal(port, me.port, `${where(who, step)}: the share gets its own port back`);
          } else {
            await provider.close(`sh_${who}`);
            me.holds = false;
            await soon(
              where(who, 'reservation released'),
              async () => !(await hub.store.relayAssignment(`sh_${who}`)),
            );
          }

          // What the store says matches what each account was given, and nothing else.
          const reservations = await hub.store.relayAssignments();
          for (const name of ['amy', 'bob'] as const) {
            const mine = reservations.filter((r) => r.userId === name);
            assert.deepEqual(
              mine.map((r) => [r.shareId, r.port]),
              state[name].holds ? [[`sh_${name}`, state[name].port]] : [],
              `${where(who, step)}: ${name}'s reservations`,
            );
          }
          for (const l of hub.relay.listening()) {
            const owner = l.deviceId === 'dev1' ? 'amy' : 'bob';
            assert.equal(l.shareId, `sh_${owner}`, `${where(who, step)}: listener ${l.port} is its owner's`);
          }

          // The other account, when online, asks for one more port: never one reserved by this one.
          const asker = other(who);
          if (!state[asker].online) continue;
          const taken = (['amy', 'bob'] as const).filter((n) => state[n].holds).length;
          const extra = agents[asker].provider;
          if (taken === 2) {
            await assert.rejects(
              extra.open(req(`sh_${asker}_extra`)),
              (err: Error & { code?: string }) =>
                err.code === 'relay_ports_exhausted' && /reserved by another share/.test(err.message),
              `${where(who, step)}: ${asker}'s extra share finds the range full`,
            );
            exhaustedSeen++;
          } else {
            const got = await extra.open(req(`sh_${asker}_extra`));
            if (state[who].holds) assert.notEqual(got.publicPort, state[who].port, where(who, step));
            await extra.close(`sh_${asker}_extra`);
            await soon(
              where(asker, 'extra reservation released'),
              async () => !(await hub.store.relayAssignment(`sh_${asker}_extra`)),
            );
          }
        }
      } finally {
        await agents.amy.provider.closeAll();
        await agents.bob.provider.closeAll();
        await hub.close();
      }
    }
    assert.ok(exhaustedSeen > 0, 'some orderings had both ports reserved when the other account asked');
  });

  test('a share that expired while its device was away frees its port; one that has not stays reserved', async () => {
    const first = await basePort(2);
    const hub = await startHub({ first, last: first + 1, graceMs: 20 });
    cleanups.push(() => hub.close());
    const amy = await attachAgent(hub, 'dev1', 'device-token-1', 'amy');
    const bob = await attachAgent(hub, 'dev2', 'device-token-2', 'bob');
    cleanups.push(
      () => amy.provider.closeAll(),
      () => bob.provider.closeAll(),
    );
    const short = await amy.provider.open({
      ...req('sh_short'),
      expiresAt: new Date(Date.now() + 400).toISOString(),
    });
    const lasting = await amy.provider.open(req('sh_lasting'));
    amy.link.setConnected(false);
    await soon('amy offline', () => hub.relay.listening().length === 0);
    // Past sh_short's expiry; nobody listens for it, so only the reservation says it existed.
    await new Promise((r) => setTimeout(r, 450));
    const got = await bob.provider.open(req('sh_bob'));
    assert.equal(got.publicPort, short.publicPort, "the ended share's port is free again");
    await assert.rejects(
      bob.provider.open(req('sh_bob2')),
      (err: Error & { code?: string }) => err.code === 'relay_ports_exhausted',
    );
    assert.equal((await hub.store.relayAssignment('sh_lasting'))?.port, lasting.publicPort);
  });

  test('revoking a device ends its shares and frees their ports', async () => {
    const first = await basePort(1);
    const hub = await startHub({ first, last: first });
    cleanups.push(() => hub.close());
    const amy = await attachAgent(hub, 'dev1', 'device-token-1', 'amy');
    const bob = await attachAgent(hub, 'dev2', 'device-token-2', 'bob');
    cleanups.push(
      () => amy.provider.closeAll(),
      () => bob.provider.closeAll(),
    );
    await amy.provider.open(req('sh_amy'));
    await assert.rejects(
      bob.provider.open(req('sh_bob')),
      (err: Error & { code?: string }) => err.code === 'relay_ports_exhausted',
    );
    await hub.relay.forgetDevice('dev1');
    assert.equal(hub.relay.listening().length, 0);
    assert.equal((await bob.provider.open(req('sh_bob'))).publicPort, first);
  });
});
