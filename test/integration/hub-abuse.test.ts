// The hub on the open internet: bounded password hashing, login limits per account, per address and
// hub-wide, idle sockets and connection caps, JSON-only state changes, registration that does not
// tell which emails exist, and a device that floods the hub with garbage. Real hubs on loopback (in
// this process, or as their own process where memory or descriptors are measured), bounded in count.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { CLOSE_PROTOCOL_VIOLATIONS, type AuthResponse, type Result } from '../../shared';
import { waitFor } from '../helpers/net';
import { sampleWorkload } from '../helpers/samples';
import { call, getOnSocket, loopback, openRaw, startHubProcess, type RawSocket } from './hub-abuse-support';
import {
  api,
  closed,
  connectFakeAgent,
  opened,
  pairDevice,
  registerUser,
  startTestHub,
  wsUrl,
  type TestHub,
} from './hub-fixtures';

const PASSWORD = 'a long enough password';
/**
 * Hub RSS ceiling under a login storm: baseline (70–110 MiB measured) + 2 hashes × 128 MiB + headroom.
 * One more concurrent hash would pass it; the unbounded hub reached 600 MiB.
 */
const RSS_CEILING_MIB = 448;

describe('password hashing is bounded: a login storm', () => {
  test('40 concurrent logins with unknown emails keep the hub under the ceiling; a real login answers in 2 s or gets 503 + Retry-After', async (t) => {
    const hub = await startHubProcess();
    try {
      const email = 'owner@example.com';
      assert.equal(
        (await call(hub.url, 'POST', '/api/auth/register', { body: { email, password: PASSWORD } })).status,
        201,
      );
      const baseline = hub.rssMiB();
      hub.resetPeakRss();
      // Each guess from its own address: the per-address limit is not what stops them.
      const storm = Array.from({ length: 40 }, (_, i) =>
        call(hub.url, 'POST', '/api/auth/login', {
          body: { email: `nobody-${i}@example.com`, password: 'wrong password!' },
          from: loopback(2 + i),
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      const real = await call<AuthResponse>(hub.url, 'POST', '/api/auth/login', {
        body: { email, password: PASSWORD },
        from: loopback(100),
      });
      const answers = await Promise.all(storm);
      const peak = hub.peakRssMiB();
      const counts = answers.reduce<Record<number, number>>(
        (m, a) => ({ ...m, [a.status]: (m[a.status] ?? 0) + 1 }),
        {},
      );
      t.diagnostic(
        `baseline ${baseline.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB (ceiling ${RSS_CEILING_MIB}); ` +
          `storm answers ${JSON.stringify(counts)}; real login ${real.status} in ${real.ms} ms`,
      );
      assert.ok(peak < RSS_CEILING_MIB, `peak RSS ${peak.toFixed(0)} MiB is under ${RSS_CEILING_MIB} MiB`);
      for (const a of answers) {
        assert.ok([401, 503].includes(a.status), `storm answer ${a.status}`);
        if (a.status === 503)
          assert.ok(Number(a.headers['retry-after']) > 0, 'a busy answer says when to retry');
      }
      assert.ok((counts[503] ?? 0) > 0, 'the pool turned part of the storm away instead of queueing it all');
      if (real.status === 200) {
        assert.ok(real.ms <= 2000, `the real login answered in ${real.ms} ms`);
        assert.equal(real.body.user.email, email);
      } else {
        assert.ok([429, 503].includes(real.status), `real login: ${real.status}`);
        assert.ok(Number(real.headers['retry-after']) > 0);
      }
      // The storm is over: the owner signs in.
      await waitFor(
        'the owner to sign in after the storm',
        async () => {
          const again = await call(hub.url, 'POST', '/api/auth/login', {
            body: { email, password: PASSWORD },
            from: loopback(101),
          });
          return again.status === 200;
        },
        20_000,
        500,
      );
    } finally {
      await hub.stop();
    }
  });
});

describe('login limits', () => {
  test('guesses at one account from 20 addresses are limited as one account; the owner gets in after the delay', async () => {
    const hub = await startTestHub({
      authLimits: { account: { free: 5, baseMs: 1000, maxDelayMs: 4000, windowMs: 15 * 60_000 } },
    });
    try {
      const victim = await registerUser(hub);
      const statuses: number[] = [];
      for (let round = 0; round < 6; round++) {
        for (let a = 0; a < 20; a++) {
          const r = await call(hub.url, 'POST', '/api/auth/login', {
            body: { email: victim.user.email, password: `guess ${round}-${a}` },
            from: loopback(2 + a),
          });
          statuses.push(r.status);
          if (r.status === 429) assert.ok(Number(r.headers['retry-after']) > 0);
        }
      }
      const evaluated = statuses.filter((s) => s === 401).length;
      const refused = statuses.filter((s) => s === 429).length;
      assert.equal(evaluated + refused, 120, `only 401 and 429: ${JSON.stringify(statuses)}`);
      // 5 free guesses, then one per (growing, capped) delay while the loop runs.
      assert.ok(evaluated >= 5 && evaluated <= 10, `${evaluated} of 120 guesses were evaluated`);
      // Slowed, not locked out: after the delay the right password works, from yet another address.
      const owner = await waitFor(
        'the owner to get in',
        async () => {
          const r = await call<AuthResponse>(hub.url, 'POST', '/api/auth/login', {
            body: { email: victim.user.email, password: PASSWORD },
            from: loopback(60),
          });
          return r.status === 200 ? r : undefined;
        },
        10_000,
        500,
      );
      assert.equal(owner.body.user.id, victim.user.id);
    } finally {
      await hub.stop();
    }
  });

  test('30 emails from one address are limited as one address; another address is not', async () => {
    const hub = await startTestHub({ authLimits: { addressLogins: { max: 5, windowMs: 15 * 60_000 } } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await call(hub.url, 'POST', '/api/auth/login', {
          body: { email: `spray-${i}@example.com`, password: 'wrong password!' },
          from: loopback(30),
        });
        statuses.push(r.status);
        if (r.status === 429) assert.ok(Number(r.headers['retry-after']) > 0);
      }
      assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(25).fill(429)]);
      const elsewhere = await call(hub.url, 'POST', '/api/auth/login', {
        body: { email: 'spray-0@example.com', password: 'wrong password!' },
        from: loopback(31),
      });
      assert.equal(elsewhere.status, 401, 'another address is still evaluated');
    } finally {
      await hub.stop();
    }
  });

  test('a spray from many addresses meets the hub-wide ceiling: 503 with Retry-After', async () => {
    const hub = await startTestHub({ authLimits: { globalLogins: { max: 3, windowMs: 15 * 60_000 } } });
    try {
      const statuses: number[] = [];
      const retry: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await call(hub.url, 'POST', '/api/auth/login', {
          body: { email: `wide-${i}@example.com`, password: 'wrong password!' },
          from: loopback(40 + i),
        });
        statuses.push(r.status);
        retry.push(String(r.headers['retry-after']));
      }
      assert.deepEqual(statuses, [401, 401, 401, 503, 503]);
      assert.ok(Number(retry[3]) > 0 && Number(retry[4]) > 0);
    } finally {
      await hub.stop();
    }
  });

  test('a hub restarted on the same data directory still refuses a locked-out account and address', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lattice-hub-restart-'));
    const authLimits = {
      account: { free: 2, baseMs: 60_000, maxDelayMs: 120_000, windowMs: 15 * 60_000 },
      addressLogins: { max: 3, windowMs: 15 * 60_000 },
    };
    let hub = await startTestHub({ dataDir, authLimits });
    try {
      const victim = await registerUser(hub);
      const email = victim.user.email;
      const attempt = (password: string, from: number, who = email) =>
        call(hub.url, 'POST', '/api/auth/login', { body: { email: who, password }, from: loopback(from) });
      assert.equal((await attempt('wrong password!', 70)).status, 401);
      assert.equal((await attempt('wrong password!', 71)).status, 401);
      assert.equal((await attempt(PASSWORD, 72)).status, 429, 'locked out for a minute');
      // Address 73 spends its three tries on other accounts.
      for (let i = 0; i < 3; i++)
        assert.equal((await attempt('wrong password!', 73, `other-${i}@example.com`)).status, 401);
      assert.equal((await attempt('wrong password!', 73, 'other-3@example.com')).status, 429);

      await hub.stop();
      hub = await startTestHub({ dataDir, authLimits });
      const again = await attempt(PASSWORD, 74);
      assert.equal(again.status, 429, 'the restarted hub remembers the account');
      assert.ok(Number(again.headers['retry-after']) >= 50, `Retry-After ${again.headers['retry-after']}`);
      const address = await attempt('wrong password!', 73, 'other-4@example.com');
      assert.equal(address.status, 429, 'and the address');
      assert.ok(Number(address.headers['retry-after']) > 0);
    } finally {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('X-Forwarded-For is ignored without --trust-proxy, and believed (one hop) with it', async () => {
    const limits = { addressLogins: { max: 2, windowMs: 15 * 60_000 } };
    const plain = await startTestHub({ authLimits: limits });
    const proxied = await startTestHub({ authLimits: limits, trustProxy: 1 });
    try {
      const attempt = (hub: TestHub, n: number, forwarded: string) =>
        call(hub.url, 'POST', '/api/auth/login', {
          body: { email: `xff-${n}@example.com`, password: 'wrong password!' },
          headers: { 'x-forwarded-for': forwarded },
        }).then((r) => r.status);
      // Without trust, a new forwarded address per request does not buy new tries.
      const spoofed = [];
      for (let i = 0; i < 3; i++) spoofed.push(await attempt(plain, i, `198.51.100.${i + 1}`));
      assert.deepEqual(spoofed, [401, 401, 429]);
      // Behind one trusted proxy, each forwarded client has its own budget…
      const viaProxy = [];
      for (let i = 0; i < 3; i++) viaProxy.push(await attempt(proxied, i, '203.0.113.5'));
      assert.deepEqual(viaProxy, [401, 401, 429]);
      assert.equal(await attempt(proxied, 9, '203.0.113.6'), 401);
      // …and what a client writes in front of the proxy's entry is not believed.
      assert.equal(await attempt(proxied, 10, '198.51.100.77, 203.0.113.5'), 429);
    } finally {
      await plain.stop();
      await proxied.stop();
    }
  });
});

describe('registration', () => {
  test('a new and a taken email are indistinguishable by status, body and time', async (t) => {
    const hub = await startTestHub();
    try {
      const taken = await registerUser(hub);
      const timings = { fresh: [] as number[], taken: [] as number[] };
      const bodies = new Set<string>();
      for (let i = 0; i < 3; i++) {
        for (const kind of ['fresh', 'taken'] as const) {
          const email = kind === 'fresh' ? `fresh-${i}-${process.pid}@example.com` : taken.user.email;
          const r = await call(hub.url, 'POST', '/api/auth/register', {
            body: { email, password: 'another long password' },
          });
          assert.equal(r.status, 201, kind);
          bodies.add(JSON.stringify(r.body));
          timings[kind].push(r.ms);
        }
      }
      assert.equal(bodies.size, 1, `one answer for both: ${[...bodies].join(' | ')}`);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
      const [fresh, takenMs] = [median(timings.fresh), median(timings.taken)];
      t.diagnostic(`median register: new email ${fresh} ms, taken email ${takenMs} ms`);
      // Both pay for one password hash; skipping it for a taken email would show as a factor of 100.
      assert.ok(takenMs > fresh / 2 && takenMs < fresh * 2, `new ${fresh} ms vs taken ${takenMs} ms`);
      // The taken account is untouched: its own password still works, the new one does not.
      assert.equal(
        (await api(hub, 'POST', '/api/auth/login', { body: { email: taken.user.email, password: PASSWORD } }))
          .status,
        200,
      );
      assert.equal(
        (
          await api(hub, 'POST', '/api/auth/login', {
            body: { email: taken.user.email, password: 'another long password' },
          })
        ).status,
        401,
      );
    } finally {
      await hub.stop();
    }
  });
});

describe('state-changing routes take only JSON', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(async () => {
    await hub?.stop();
  });

  test('text/plain (and form types) to every state-changing route → 415, and nothing changes', async () => {
    const user = await registerUser(hub);
    const device = await pairDevice(hub, user.accessToken);
    const agent = await connectFakeAgent(hub, device.deviceToken);
    const { code } = (
      await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', { token: user.accessToken })
    ).body;
    const auditBefore = (await api<unknown[]>(hub, 'GET', '/api/audit', { token: user.accessToken })).body
      .length;
    const newEmail = `form-${process.pid}@example.com`;
    const routes: { method: string; path: string; body: object; auth?: boolean }[] = [
      { method: 'POST', path: '/api/auth/register', body: { email: newEmail, password: PASSWORD } },
      { method: 'POST', path: '/api/auth/login', body: { email: user.user.email, password: PASSWORD } },
      { method: 'POST', path: '/api/auth/refresh', body: { refreshToken: user.refreshToken } },
      { method: 'POST', path: '/api/auth/logout', body: { refreshToken: user.refreshToken }, auth: true },
      {
        method: 'POST',
        path: '/api/auth/password',
        body: { currentPassword: PASSWORD, newPassword: 'a changed long password' },
        auth: true,
      },
      { method: 'POST', path: '/api/devices/pairing', body: {}, auth: true },
      { method: 'POST', path: '/api/devices/pair', body: { code, name: 'intruder' } },
      { method: 'DELETE', path: `/api/devices/${device.deviceId}`, body: {}, auth: true },
      {
        method: 'POST',
        path: `/api/devices/${device.deviceId}/commands`,
        body: { id: 'form-1', name: 'workload.list', args: {} },
        auth: true,
      },
    ];
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      for (const r of routes) {
        const res = await call<{ ok: false; error: { code: string; message: string } }>(
          hub.url,
          r.method,
          r.path,
          {
            body: JSON.stringify(r.body),
            contentType: type,
            headers: {
              origin: 'https://evil.example',
              ...(r.auth ? { authorization: `Bearer ${user.accessToken}` } : {}),
            },
          },
        );
        assert.equal(res.status, 415, `${type} ${r.method} ${r.path}`);
        assert.match(res.body.error.message, /application\/json/);
      }
    }
    // Nothing happened: no account, session change, pairing, revocation or relayed command.
    assert.equal(
      (await api(hub, 'GET', '/api/me', { token: user.accessToken })).status,
      200,
      'not logged out',
    );
    assert.equal(
      (await api(hub, 'POST', '/api/auth/login', { body: { email: user.user.email, password: PASSWORD } }))
        .status,
      200,
      'password unchanged',
    );
    assert.equal(
      (await api(hub, 'POST', '/api/auth/login', { body: { email: newEmail, password: PASSWORD } })).status,
      401,
      'no account was registered',
    );
    const devices = await api<{ id: string; name: string }[]>(hub, 'GET', '/api/devices', {
      token: user.accessToken,
    });
    assert.deepEqual(
      devices.body.map((d) => d.id),
      [device.deviceId],
      'not revoked, nothing paired',
    );
    assert.equal(
      agent.received.filter((m) => m.type === 'command').length,
      0,
      'no command reached the agent',
    );
    assert.equal(
      (await api<unknown[]>(hub, 'GET', '/api/audit', { token: user.accessToken })).body.length,
      auditBefore,
    );
    // The pairing code is still unused: the real (JSON) redeem works.
    assert.equal(
      (await api(hub, 'POST', '/api/devices/pair', { body: { code, name: 'second' } })).status,
      201,
    );
    agent.ws.terminate();
  });
});

describe('request targets the URL parser refuses', () => {
  test('`GET //` and an upgrade to `//:x` get 400 and the hub keeps serving (the parser threw in the handler and stopped the hub)', async () => {
    const hub = await startHubProcess();
    try {
      for (const target of ['//', '//:x', '//[']) {
        const raw = await openRaw(hub.port);
        assert.equal(await getOnSocket(raw, target), 400, target);
        assert.match(raw.received, /"code":"invalid_argument"/, target);
        raw.socket.destroy();
      }
      const upgrade = await openRaw(hub.port);
      upgrade.socket.write(
        'GET //:x HTTP/1.1\r\nHost: hub\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await waitFor('the upgrade to be refused', () => /^HTTP\/1\.1 400 /.test(upgrade.received));
      upgrade.socket.destroy();
      const after = await openRaw(hub.port);
      assert.equal(await getOnSocket(after, '/api/health'), 200);
      after.socket.destroy();
      assert.equal(hub.child.exitCode, null, hub.output());
    } finally {
      await hub.stop();
    }
  });
});

describe('sockets', () => {
  test('500 idle sockets are closed within the idle timeout; a slow request is not cut by it', async () => {
    const IDLE_MS = 1000;
    const hub = await startTestHub({
      connections: { idleTimeoutMs: IDLE_MS, keepAliveTimeoutMs: IDLE_MS },
      commandTimeoutMs: 5000,
    });
    const sockets: RawSocket[] = [];
    try {
      for (let i = 0; i < 500; i++) sockets.push(await openRaw(hub.port, '127.0.0.1', loopback(2 + (i % 5))));
      await waitFor(
        'every idle socket to be closed',
        () => sockets.every((s) => s.closedAt),
        IDLE_MS + 4000,
        50,
      );
      assert.ok(
        sockets.every((s) => s.received === ''),
        'closed without an answer',
      );
      const longest = Math.max(...sockets.map((s) => s.closedAt! - s.openedAt));
      assert.ok(longest < IDLE_MS + 3000, `the longest-lived idle socket lasted ${longest} ms`);
      // The clock runs to the first byte and restarts with each one: a request sent slowly, a byte
      // every tenth of the idle timeout, is answered (headersTimeout bounds how slowly).
      const slowSender = await openRaw(hub.port);
      const request = 'GET /api/health HTTP/1.1\r\nHost: hub\r\nX-Padding: 0123456789\r\n';
      for (const ch of request) {
        slowSender.socket.write(ch);
        await new Promise((r) => setTimeout(r, IDLE_MS / 10));
      }
      assert.equal(slowSender.closedAt, undefined, 'a socket that is sending is not idle');
      slowSender.socket.write('\r\n');
      await waitFor('the slow request to be answered', () => /^HTTP\/1\.1 200 /.test(slowSender.received));
      // After its answer, an idle keep-alive socket is closed by the keep-alive timeout.
      await waitFor('the keep-alive socket to be closed', () => slowSender.closedAt, IDLE_MS + 4000, 50);
      // A request in progress belongs to the request timeouts: a command that takes longer than the
      // idle timeout still gets its answer on the same socket.
      const user = await registerUser(hub);
      const device = await pairDevice(hub, user.accessToken);
      const agent = await connectFakeAgent(hub, device.deviceToken, async () => {
        await new Promise((r) => setTimeout(r, IDLE_MS * 2));
        return { ok: true, value: [] };
      });
      const slow = await api<Result<unknown>>(hub, 'POST', `/api/devices/${device.deviceId}/commands`, {
        token: user.accessToken,
        body: { id: 'slow-1', name: 'workload.list', args: {} },
      });
      assert.equal(slow.status, 200);
      agent.ws.terminate();
    } finally {
      for (const s of sockets) s.socket.destroy();
      await hub.stop();
    }
  });

  test('per-address caps on sockets and WebSockets: the next one gets 503, other addresses are served', async () => {
    const hub = await startTestHub({
      connections: { maxConnectionsPerAddress: 10, maxUpgradesPerAddress: 2 },
    });
    const sockets: RawSocket[] = [];
    const agents: WebSocket[] = [];
    try {
      for (let i = 0; i < 10; i++) sockets.push(await openRaw(hub.port, '127.0.0.1', loopback(70)));
      const extra = await openRaw(hub.port, '127.0.0.1', loopback(70));
      await extra.closed;
      assert.match(extra.received, /^HTTP\/1\.1 503 /);
      const other = await openRaw(hub.port, '127.0.0.1', loopback(71));
      assert.equal(await getOnSocket(other, '/api/health'), 200);
      other.socket.destroy();
      for (const s of sockets) s.socket.destroy();

      const user = await registerUser(hub);
      const open = (from: string) =>
        opened(
          new WebSocket(wsUrl(hub, '/api/events'), ['lattice.v1', `lattice.token.${user.accessToken}`], {
            origin: hub.origin,
            localAddress: from,
          }),
        );
      agents.push(await open(loopback(72)), await open(loopback(72)));
      await assert.rejects(open(loopback(72)), /upgrade refused: 503/);
      agents.push(await open(loopback(73)));
    } finally {
      for (const ws of agents) ws.terminate();
      for (const s of sockets) s.socket.destroy();
      await hub.stop();
    }
  });

  test('at its descriptor limit (ulimit -n 256) the hub refuses new sockets and keeps serving keep-alive clients', async () => {
    const hub = await startHubProcess(['--idle-timeout', '60', '--keep-alive-timeout', '60'], 256);
    const clients: RawSocket[] = [];
    const flood: RawSocket[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const c = await openRaw(hub.port, '127.0.0.1', loopback(80));
        assert.equal(await getOnSocket(c, '/api/health'), 200);
        clients.push(c);
      }
      // 300 silent sockets from other addresses: more than the hub has descriptors.
      for (let i = 0; i < 300; i++) {
        flood.push(
          await openRaw(hub.port, '127.0.0.1', loopback(81 + (i % 3))).catch(() => undefined as never),
        );
      }
      const refused = await waitFor(
        'the hub to refuse sockets past its cap',
        async () => {
          const probe = await openRaw(hub.port, '127.0.0.1', loopback(90)).catch(() => undefined);
          if (!probe) return true;
          probe.socket.write('GET /api/health HTTP/1.1\r\nHost: hub\r\n\r\n');
          await Promise.race([probe.closed, new Promise((r) => setTimeout(r, 2000))]);
          const answeredOk = probe.received.startsWith('HTTP/1.1 200');
          probe.socket.destroy();
          return !answeredOk && probe.closedAt !== undefined;
        },
        20_000,
        200,
      );
      assert.equal(refused, true);
      assert.ok(flood.filter((s) => s && s.closedAt).length > 0, 'part of the flood was turned away');
      for (const c of clients) {
        assert.equal(await getOnSocket(c, '/api/health'), 200, 'an existing client is served');
        // Serving a file takes a descriptor: the cap kept some free (at the bare limit this fails).
        assert.equal(await getOnSocket(c, '/favicon.svg'), 200, 'and the hub can still open files');
      }
      assert.equal(hub.child.exitCode, null, 'the hub is still running');
    } finally {
      for (const s of [...clients, ...flood]) s?.socket.destroy();
      await hub.stop();
    }
  });
});

describe('a device that floods the hub with garbage', () => {
  test('10,000 bad messages: at most 20 log lines, the device is disconnected and held off, the hub stays up', async (t) => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const hub = await startTestHub({ logger: pino({ level: 'info' }, sink) });
    try {
      const user = await registerUser(hub);
      const bad = await pairDevice(hub, user.accessToken, 'fuzzer');
      const good = await pairDevice(hub, user.accessToken, 'good');
      const goodAgent = await connectFakeAgent(hub, good.deviceToken);
      const linesBefore = lines.length;

      const fuzzer = await connectFakeAgent(hub, bad.deviceToken);
      const done = closed(fuzzer.ws);
      let seed = 13;
      const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
      const junk = (i: number): string => {
        switch (rand(8)) {
          case 0:
            return JSON.stringify({ type: `no.such.type.${i}` });
          case 1:
            return JSON.stringify({
              type: 'result',
              id: `nobody-asked-${i}`,
              result: { ok: true, value: i },
            });
          case 2:
            return JSON.stringify({ type: 'result', id: i, result: 'nope' });
          case 3:
            return JSON.stringify({
              type: 'event',
              event: { type: 'workload.status', x: 'y'.repeat(rand(500)) },
            });
          case 4:
            return JSON.stringify({ type: 'relay.open', requestId: i });
          case 5:
            return JSON.stringify({ type: 'hello' });
          case 6:
            return JSON.stringify({ type: 'x'.repeat(rand(2000)), payload: [1, 2, { a: null }] });
          default:
            return JSON.stringify({ type: 'relay.close', shareId: { nested: i } });
        }
      };
      let sent = 0;
      for (; sent < 10_000 && fuzzer.ws.readyState === WebSocket.OPEN; sent++) fuzzer.ws.send(junk(sent));
      const { code } = await Promise.race([
        done,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the hub did not disconnect the fuzzing device')), 30_000),
        ),
      ]);
      assert.equal(code, CLOSE_PROTOCOL_VIOLATIONS, 'disconnected with the violations close code');

      // Redialling at once is turned away with the same code, and logs nothing.
      for (let i = 0; i < 5; i++) {
        const again = new WebSocket(wsUrl(hub, '/agent'), {
          headers: { authorization: `Bearer ${bad.deviceToken}` },
        });
        again.on('error', () => undefined);
        const code = await new Promise<number>((r) => again.once('close', (c) => r(c)));
        assert.equal(code, CLOSE_PROTOCOL_VIOLATIONS, `redial ${i}`);
      }
      const devices = await api<{ id: string; online: boolean }[]>(hub, 'GET', '/api/devices', {
        token: user.accessToken,
      });
      assert.equal(devices.body.find((d) => d.id === bad.deviceId)?.online, false);

      const written = lines.slice(linesBefore);
      t.diagnostic(`${sent} messages sent, ${written.length} log lines written`);
      assert.ok(written.length <= 20, `${written.length} log lines:\n${written.join('\n')}`);
      const summary = written
        .map((l) => JSON.parse(l) as { violations?: number })
        .filter((l) => l.violations);
      assert.ok(summary.length > 0 && summary.length <= 3, 'violations are logged as counted samples');
      assert.ok(summary.reduce((n, l) => n + l.violations!, 0) > 1, 'with counts, not one line each');

      // The hub and the other device carry on.
      assert.equal((await api(hub, 'GET', '/api/health')).status, 200);
      const res = await api<Result<unknown>>(hub, 'POST', `/api/devices/${good.deviceId}/commands`, {
        token: user.accessToken,
        body: { id: 'after-fuzz', name: 'workload.list', args: {} },
      });
      assert.deepEqual(res.body, { ok: true, value: [] });
      goodAgent.ws.terminate();
    } finally {
      await hub.stop();
    }
  });
});

describe('relayed results are checked against the contract', () => {
  test('a result that does not match the command’s result schema reaches the dashboard as agent_error', async () => {
    const hub = await startTestHub();
    try {
      const user = await registerUser(hub);
      const device = await pairDevice(hub, user.accessToken);
      const agent = await connectFakeAgent(hub, device.deviceToken, (cmd) =>
        cmd.id === 'bad-shape'
          ? { ok: true, value: [{ id: 'w1', name: 'db', status: 'exploded', secret: 'x' }] }
          : { ok: true, value: [{ ...sampleWorkload(), unexpected: 'dropped' }] },
      );
      const bad = await api<Result<unknown>>(hub, 'POST', `/api/devices/${device.deviceId}/commands`, {
        token: user.accessToken,
        body: { id: 'bad-shape', name: 'workload.list', args: {} },
      });
      assert.equal(bad.status, 502);
      assert.equal(bad.body.ok, false);
      if (!bad.body.ok) {
        assert.equal(bad.body.error.code, 'agent_error');
        assert.match(bad.body.error.message, /does not match the contract/);
      }
      const good = await api<Result<unknown>>(hub, 'POST', `/api/devices/${device.deviceId}/commands`, {
        token: user.accessToken,
        body: { id: 'good-shape', name: 'workload.list', args: {} },
      });
      assert.equal(good.status, 200);
      assert.deepEqual(
        good.body,
        { ok: true, value: [sampleWorkload()] },
        'fields outside the contract are dropped',
      );
      agent.ws.terminate();
    } finally {
      await hub.stop();
    }
  });
});
