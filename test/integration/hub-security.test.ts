// docs/SECURITY.md, "The hub": every rule here has a test that fails when the rule is broken.
// Real hub on port 0, real sockets; the agent is a scripted stand-in (hub-agent.test.ts uses a real one).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import WebSocket from 'ws';
import { loadMigrations } from '../../server/store/migrate';
import type { AuthResponse, Result } from '../../shared';
import { parsePasswordHash } from '../../server/auth/passwords';
import { waitFor } from '../helpers/net';
import { sampleWorkload } from '../helpers/samples';
import {
  api,
  closed,
  connectDashboard,
  connectFakeAgent,
  opened,
  pairDevice,
  rawUpgrade,
  registerUser,
  startTestHub,
  wsUrl,
  type CommandMessage,
  type TestHub,
} from './hub-fixtures';

const HEARTBEAT_MS = 300;
const MAX_BUFFERED = 256 * 1024;

describe('hub security', () => {
  let hub: TestHub;
  let alice: AuthResponse;
  let bob: AuthResponse;
  let aliceDevice: { deviceId: string; deviceToken: string };
  const sockets: WebSocket[] = [];
  const track = <T extends { ws: WebSocket }>(x: T) => (sockets.push(x.ws), x);

  before(async () => {
    hub = await startTestHub({
      heartbeatMs: HEARTBEAT_MS,
      maxBufferedBytes: MAX_BUFFERED,
      commandTimeoutMs: 1500,
    });
    alice = await registerUser(hub);
    bob = await registerUser(hub);
    aliceDevice = await pairDevice(hub, alice.accessToken, 'alice-laptop');
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await hub?.stop();
  });

  describe('upgrade authentication', () => {
    test('no token → 401 and the socket is destroyed, on both endpoints', async () => {
      const agent = await rawUpgrade(hub, '/agent');
      assert.equal(agent.status, 401);
      assert.equal(agent.closedByHub, true);
      const dash = await rawUpgrade(hub, '/api/events', {
        Origin: hub.origin,
        'Sec-WebSocket-Protocol': 'lattice.v1',
      });
      assert.equal(dash.status, 401);
      assert.equal(dash.closedByHub, true);
    });

    test('bad or wrong-kind tokens → 401', async () => {
      for (const token of ['nonsense', alice.accessToken, alice.refreshToken]) {
        const r = await rawUpgrade(hub, '/agent', { Authorization: `Bearer ${token}` });
        assert.equal(r.status, 401, 'not a device token');
        assert.equal(r.closedByHub, true);
      }
      for (const token of ['nonsense', aliceDevice.deviceToken, alice.refreshToken]) {
        const r = await rawUpgrade(hub, '/api/events', {
          Origin: hub.origin,
          'Sec-WebSocket-Protocol': `lattice.v1, lattice.token.${token}`,
        });
        assert.equal(r.status, 401, 'not an access token');
      }
    });

    test('a valid token opens the socket (so the refusals above are about the token)', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      assert.equal(agent.ws.readyState, WebSocket.OPEN);
      const dash = track(await connectDashboard(hub, alice.accessToken));
      assert.equal(dash.ws.protocol, 'lattice.v1', 'the fixed protocol is echoed, never the token');
      agent.ws.close();
      dash.ws.close();
      await closed(agent.ws);
    });

    test('a token in the query string is not accepted', async () => {
      const dash = await rawUpgrade(
        hub,
        `/api/events?token=${alice.accessToken}&access_token=${alice.accessToken}`,
        {
          Origin: hub.origin,
          'Sec-WebSocket-Protocol': 'lattice.v1',
        },
      );
      assert.equal(dash.status, 401);
      const agent = await rawUpgrade(hub, `/agent?token=${aliceDevice.deviceToken}`);
      assert.equal(agent.status, 401);
    });

    test('a foreign or missing Origin on the dashboard socket → 403; agents may omit it', async () => {
      const protocol = `lattice.v1, lattice.token.${alice.accessToken}`;
      const evil = await rawUpgrade(hub, '/api/events', {
        Origin: 'https://evil.example',
        'Sec-WebSocket-Protocol': protocol,
      });
      assert.equal(evil.status, 403);
      assert.equal(evil.closedByHub, true);
      const none = await rawUpgrade(hub, '/api/events', { 'Sec-WebSocket-Protocol': protocol });
      assert.equal(none.status, 403);
      const agentEvil = await rawUpgrade(hub, '/agent', {
        Origin: 'https://evil.example',
        Authorization: `Bearer ${aliceDevice.deviceToken}`,
      });
      assert.equal(agentEvil.status, 403);
    });

    test('permessage-deflate is not negotiated', async () => {
      const ws = new WebSocket(wsUrl(hub, '/agent'), {
        headers: { authorization: `Bearer ${aliceDevice.deviceToken}` },
        perMessageDeflate: true,
      });
      let extensionsHeader: unknown = 'unset';
      ws.on('upgrade', (res) => (extensionsHeader = res.headers['sec-websocket-extensions']));
      await opened(ws);
      assert.equal(extensionsHeader, undefined);
      assert.equal(ws.extensions, '');
      ws.close();
      await closed(ws);
    });
  });

  describe('socket limits', () => {
    test('a message over 1 MiB closes the socket with 1009', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      const big = JSON.stringify({
        type: 'event',
        event: { type: 'workload.removed', id: 'x', name: 'y'.repeat(1024 * 1024 + 10) },
      });
      const done = closed(agent.ws);
      agent.ws.send(big);
      assert.equal((await done).code, 1009);
    });

    test('a peer that stops answering pings is terminated; one that answers stays', async () => {
      const mute = track(
        await connectFakeAgent(hub, aliceDevice.deviceToken, undefined, { autoPong: false }),
      );
      const done = closed(mute.ws);
      const { code } = await done;
      assert.equal(code, 1006, 'terminated, no close frame');
      const healthy = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      let pings = 0;
      healthy.ws.on('ping', () => pings++);
      await waitFor('several heartbeats', () => pings >= 4, 10_000);
      assert.equal(healthy.ws.readyState, WebSocket.OPEN);
      healthy.ws.close();
      await closed(healthy.ws);
    });

    test('a dashboard that does not read is dropped once the hub has buffered past the bound', async () => {
      // Its own hub with a slow heartbeat, so only the buffer bound can be what drops the reader.
      const quiet = await startTestHub({ heartbeatMs: 60_000, maxBufferedBytes: MAX_BUFFERED });
      after(() => quiet.stop());
      const owner = await registerUser(quiet);
      const device = await pairDevice(quiet, owner.accessToken);
      const upgrade = await rawUpgrade(quiet, '/api/events', {
        Origin: quiet.origin,
        'Sec-WebSocket-Protocol': `lattice.v1, lattice.token.${owner.accessToken}`,
      });
      assert.equal(upgrade.status, 101);
      const socket = upgrade.socket!;
      socket.pause();
      let socketClosed = false;
      socket.on('close', () => (socketClosed = true));
      socket.on('error', () => undefined);
      const agent = track(await connectFakeAgent(quiet, device.deviceToken));
      const name = 'n'.repeat(512 * 1024);
      const rounds = 64; // 32 MiB: more than the kernel's loopback buffers can hide
      for (let i = 0; i < rounds; i++) {
        agent.send({ type: 'event', event: { type: 'workload.removed', id: `w${i}`, name } });
      }
      // Let the hub push, then read what arrives: a dropped socket ends; a kept one would idle forever.
      await new Promise((r) => setTimeout(r, 1000));
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
      socket.resume();
      await waitFor('the hub to drop the slow dashboard', () => socketClosed, 20_000);
      assert.ok(bytes < rounds * name.length, `received ${bytes} bytes, fewer than were sent`);
      agent.ws.close();
    });
  });

  describe('passwords and sessions', () => {
    test('passwords are scrypt N=2^17, r=8, p=1 with a 16-byte salt', async () => {
      const user = await hub.store.userByEmail(alice.user.email);
      assert.ok(user);
      assert.match(user.passwordHash, /^scrypt\$131072\$8\$1\$/);
      const parsed = parsePasswordHash(user.passwordHash);
      assert.equal(parsed.salt.length, 16);
      assert.equal(parsed.key.length, 32);
      assert.ok(!user.passwordHash.includes('a long enough password'));
    });

    test('a login does not block the event loop: a timer keeps firing while it hashes', async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const res = await api(hub, 'POST', '/api/auth/login', {
        body: { email: alice.user.email, password: 'a long enough password' },
      });
      clearInterval(timer);
      assert.equal(res.status, 200);
      assert.ok(ticks > 0, 'the timer fired during the login');
    });

    test('login is rate-limited per email+IP: 429 with Retry-After, even for the right password', async () => {
      const victim = await registerUser(hub);
      for (let i = 0; i < 5; i++) {
        const r = await api(hub, 'POST', '/api/auth/login', {
          body: { email: victim.user.email, password: 'wrong password!' },
        });
        assert.equal(r.status, 401);
      }
      const locked = await api<{ error: { code: string } }>(hub, 'POST', '/api/auth/login', {
        body: { email: victim.user.email, password: 'a long enough password' },
      });
      assert.equal(locked.status, 429);
      assert.equal(locked.body.error.code, 'rate_limited');
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
      // Another account from the same address is not locked out.
      const other = await api(hub, 'POST', '/api/auth/login', {
        body: { email: bob.user.email, password: 'a long enough password' },
      });
      assert.equal(other.status, 200);
    });

    test('registration: a taken email answers like a new one; too many from one address → 429', async () => {
      const again = await api<{ registered: boolean }>(hub, 'POST', '/api/auth/register', {
        body: { email: alice.user.email.toUpperCase(), password: 'some other password' },
      });
      assert.equal(again.status, 201);
      assert.equal(again.body.registered, true);
      const hijack = await api(hub, 'POST', '/api/auth/login', {
        body: { email: alice.user.email, password: 'some other password' },
      });
      assert.equal(hijack.status, 401, 'the taken account keeps its password');
      const small = await startTestHub({ registrations: { max: 2, windowMs: 60_000 } });
      try {
        await registerUser(small);
        await registerUser(small);
        const third = await api(small, 'POST', '/api/auth/register', {
          body: { email: 'third@example.com', password: 'a long enough password' },
        });
        assert.equal(third.status, 429);
        assert.ok(Number(third.headers.get('retry-after')) > 0);
      } finally {
        await small.stop();
      }
    });

    test('logout closes the user’s dashboard sockets and ends their tokens', async () => {
      const user = await registerUser(hub);
      const dash = track(await connectDashboard(hub, user.accessToken));
      const bystander = track(await connectDashboard(hub, bob.accessToken));
      const done = closed(dash.ws);
      // As the dashboard sends it: its refresh token, or null when it has none.
      const out = await api(hub, 'POST', '/api/auth/logout', {
        token: user.accessToken,
        body: { refreshToken: null },
      });
      assert.equal(out.status, 200);
      assert.equal((await done).code, 4001);
      assert.equal((await api(hub, 'GET', '/api/me', { token: user.accessToken })).status, 401);
      const refreshed = await api(hub, 'POST', '/api/auth/refresh', {
        body: { refreshToken: user.refreshToken },
      });
      assert.equal(refreshed.status, 401);
      assert.equal(bystander.ws.readyState, WebSocket.OPEN, 'another user’s socket stays open');
    });

    test('a password change closes the user’s sockets; the old password stops working', async () => {
      const user = await registerUser(hub);
      const dash = track(await connectDashboard(hub, user.accessToken));
      const done = closed(dash.ws);
      const changed = await api<AuthResponse>(hub, 'POST', '/api/auth/password', {
        token: user.accessToken,
        body: { currentPassword: 'a long enough password', newPassword: 'another long password' },
      });
      assert.equal(changed.status, 200);
      assert.equal((await done).code, 4001);
      assert.equal((await api(hub, 'GET', '/api/me', { token: user.accessToken })).status, 401);
      assert.equal((await api(hub, 'GET', '/api/me', { token: changed.body.accessToken })).status, 200);
      const old = await api(hub, 'POST', '/api/auth/login', {
        body: { email: user.user.email, password: 'a long enough password' },
      });
      assert.equal(old.status, 401);
    });

    test('the store is SQLite in WAL mode (or the PostgreSQL asked for) with every migration applied', async () => {
      if (hub.database) {
        assert.equal(existsSync(join(hub.dataDir, 'hub.db')), false, 'no hub.db beside a PostgreSQL store');
        const client = new pg.Client({ connectionString: hub.database });
        await client.connect();
        try {
          const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version');
          assert.equal(rows[0].version, loadMigrations().length);
        } finally {
          await client.end();
        }
        return;
      }
      const db = new Database(join(hub.dataDir, 'hub.db'), { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(db.pragma('user_version', { simple: true }), loadMigrations().length);
      } finally {
        db.close();
      }
    });

    test('refresh rotates: the new token works once, a replayed one is refused', async () => {
      const user = await registerUser(hub);
      const first = await api<AuthResponse>(hub, 'POST', '/api/auth/refresh', {
        body: { refreshToken: user.refreshToken },
      });
      assert.equal(first.status, 200);
      const replay = await api(hub, 'POST', '/api/auth/refresh', {
        body: { refreshToken: user.refreshToken },
      });
      assert.equal(replay.status, 401);
      const access = await api(hub, 'POST', '/api/auth/refresh', {
        body: { refreshToken: user.accessToken },
      });
      assert.equal(access.status, 401, 'an access token is not a refresh token');
    });
  });

  describe('ownership', () => {
    test('commands are refused in one order whatever the body: a logged-out token 401, another’s or a revoked device 404', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      const bodies = [
        { what: 'a good command', body: { id: 'order-1', name: 'workload.list', args: {} } },
        { what: 'not a command', body: { id: 5 } },
        { what: 'malformed JSON', raw: '{"id": "x",' },
      ];
      const post = (token: string, deviceId: string, b: (typeof bodies)[number]) =>
        api(hub, 'POST', `/api/devices/${deviceId}/commands`, { token, body: b.body, raw: b.raw });
      const carol = await registerUser(hub);
      const carolDevice = await pairDevice(hub, carol.accessToken, 'carol-pc');
      const gone = await pairDevice(hub, carol.accessToken, 'carol-gone');
      const revoked = await api(hub, 'DELETE', `/api/devices/${gone.deviceId}`, { token: carol.accessToken });
      assert.equal(revoked.status, 200);
      for (const b of bodies) {
        assert.equal((await post(carol.accessToken, aliceDevice.deviceId, b)).status, 404, b.what);
        assert.equal((await post(carol.accessToken, gone.deviceId, b)).status, 404, b.what);
      }
      const out = await api(hub, 'POST', '/api/auth/logout', { token: carol.accessToken, body: {} });
      assert.equal(out.status, 200);
      for (const b of bodies) {
        assert.equal((await post(carol.accessToken, carolDevice.deviceId, b)).status, 401, b.what);
      }
      assert.equal(agent.received.filter((m) => m.type === 'command').length, 0, 'nothing was relayed');
      agent.ws.close();
      await closed(agent.ws);
    });

    test('another user’s device is invisible: 404 on every route, absent from the list', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      const path = `/api/devices/${aliceDevice.deviceId}`;
      const cmd = await api(hub, 'POST', `${path}/commands`, {
        token: bob.accessToken,
        body: { id: 'bob-1', name: 'workload.list', args: {} },
      });
      assert.equal(cmd.status, 404);
      assert.equal((await api(hub, 'DELETE', path, { token: bob.accessToken })).status, 404);
      const list = await api<{ id: string }[]>(hub, 'GET', '/api/devices', { token: bob.accessToken });
      assert.deepEqual(list.body, []);
      assert.equal(agent.received.filter((m) => m.type === 'command').length, 0, 'nothing was relayed');
      // Alice sees it, online.
      const mine = await api<{ id: string; online: boolean }[]>(hub, 'GET', '/api/devices', {
        token: alice.accessToken,
      });
      assert.deepEqual(
        mine.body.map((d) => [d.id, d.online]),
        [[aliceDevice.deviceId, true]],
      );
      agent.ws.close();
      await closed(agent.ws);
    });

    test('device events reach only the owner’s dashboards', async () => {
      const aliceDash = track(await connectDashboard(hub, alice.accessToken));
      const bobDash = track(await connectDashboard(hub, bob.accessToken));
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      agent.send({ type: 'event', event: { type: 'workload.removed', id: 'w1', name: 'secret-db' } });
      await waitFor('alice gets the event', () => aliceDash.events.some((e) => e.type === 'device.event'));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(bobDash.events.length, 0);
      agent.ws.close();
      await closed(agent.ws);
    });

    test('a revoked device is disconnected and cannot reconnect', async () => {
      const dev = await pairDevice(hub, alice.accessToken, 'doomed');
      const agent = track(await connectFakeAgent(hub, dev.deviceToken));
      const done = closed(agent.ws);
      assert.equal(
        (await api(hub, 'DELETE', `/api/devices/${dev.deviceId}`, { token: alice.accessToken })).status,
        200,
      );
      assert.equal((await done).code, 4003);
      assert.equal(
        (await rawUpgrade(hub, '/agent', { Authorization: `Bearer ${dev.deviceToken}` })).status,
        401,
      );
    });

    test('a pairing code works once', async () => {
      const code = await api<{ code: string; hubCaUrl?: string }>(hub, 'POST', '/api/devices/pairing', {
        token: alice.accessToken,
      });
      assert.equal(code.body.hubCaUrl, undefined, 'no private CA to hand out on a hub without TLS');
      const first = await api(hub, 'POST', '/api/devices/pair', {
        body: { code: code.body.code, name: 'one' },
      });
      assert.equal(first.status, 201);
      const second = await api(hub, 'POST', '/api/devices/pair', {
        body: { code: code.body.code, name: 'two' },
      });
      assert.equal(second.status, 400);
    });
  });

  describe('commands', () => {
    test('a repeated command id returns the first result and the agent runs it once (also in flight)', async () => {
      let runs = 0;
      const agent = track(
        await connectFakeAgent(hub, aliceDevice.deviceToken, async (cmd: CommandMessage) => {
          runs++;
          await new Promise((r) => setTimeout(r, 300));
          // A contract-valid workload.list result: the hub checks results against the contract.
          return { ok: true, value: [sampleWorkload({ id: `run-${runs}`, name: cmd.id })] };
        }),
      );
      const send = () =>
        api<Result<unknown>>(hub, 'POST', `/api/devices/${aliceDevice.deviceId}/commands`, {
          token: alice.accessToken,
          body: { id: 'deploy-once', name: 'workload.list', args: {} },
        });
      const [a, b] = await Promise.all([send(), send()]);
      const c = await send();
      for (const r of [a, b, c]) {
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { ok: true, value: [sampleWorkload({ id: 'run-1', name: 'deploy-once' })] });
      }
      assert.equal(runs, 1);
      agent.ws.close();
      await closed(agent.ws);
    });

    test('the relayed command carries the user’s identity', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      await api(hub, 'POST', `/api/devices/${aliceDevice.deviceId}/commands`, {
        token: alice.accessToken,
        body: { id: 'who-1', name: 'workload.list', args: {} },
      });
      const cmd = agent.received.find((m) => m.type === 'command');
      assert.deepEqual(cmd && cmd.type === 'command' && cmd.user, alice.user);
      agent.ws.close();
      await closed(agent.ws);
    });

    test('an offline device fails with device_offline at once', async () => {
      const res = await api<Result<unknown>>(hub, 'POST', `/api/devices/${aliceDevice.deviceId}/commands`, {
        token: alice.accessToken,
        body: { id: 'offline-1', name: 'workload.list', args: {} },
      });
      assert.equal(res.status, 503);
      assert.equal(!res.body.ok && res.body.error.code, 'device_offline');
      assert.match(!res.body.ok ? res.body.error.message : '', /offline/);
    });

    test('an agent that never answers gives 504 timeout', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken, () => undefined));
      const res = await api<Result<unknown>>(hub, 'POST', `/api/devices/${aliceDevice.deviceId}/commands`, {
        token: alice.accessToken,
        body: { id: 'slow-1', name: 'workload.list', args: {} },
      });
      assert.equal(res.status, 504);
      assert.equal(!res.body.ok && res.body.error.code, 'timeout');
      agent.ws.close();
      await closed(agent.ws);
    });

    test('the audit log records relayed commands, without argument values', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      await api(hub, 'POST', `/api/devices/${aliceDevice.deviceId}/commands`, {
        token: alice.accessToken,
        body: {
          id: 'audit-1',
          name: 'workload.deploy',
          args: {
            template: 'custom',
            name: 'app',
            image: 'nginx:latest',
            env: { API_KEY: 'hunter2-secret' },
          },
        },
      });
      const log = await api<{ commandId: string; commandName: string; ok: boolean; deviceId: string }[]>(
        hub,
        'GET',
        '/api/audit',
        {
          token: alice.accessToken,
        },
      );
      const entry = log.body.find((e) => e.commandId === 'audit-1');
      assert.ok(entry, 'the deploy is in the audit log');
      assert.equal(entry.commandName, 'workload.deploy');
      assert.equal(entry.deviceId, aliceDevice.deviceId);
      assert.equal(entry.ok, true);
      assert.ok(log.body.some((e) => e.commandId === 'offline-1' && !e.ok));
      assert.ok(!JSON.stringify(log.body).includes('hunter2'));
      assert.deepEqual((await api(hub, 'GET', '/api/audit', { token: bob.accessToken })).body, []);
      agent.ws.close();
      await closed(agent.ws);
    });
  });

  describe('bad input', () => {
    const commandPath = () => `/api/devices/${aliceDevice.deviceId}/commands`;

    test('JSON answers carry nosniff, no-referrer and DENY; only the hub’s own origin gets CORS', async () => {
      const headersOf = async (path: string, init: RequestInit = {}) =>
        (await fetch(hub.url + path, init)).headers;
      const secure = (h: Headers, what: string) => {
        assert.equal(h.get('x-content-type-options'), 'nosniff', what);
        assert.equal(h.get('referrer-policy'), 'no-referrer', what);
        assert.equal(h.get('x-frame-options'), 'DENY', what);
        assert.equal(h.get('cache-control'), 'no-store', what);
      };
      const plain = await headersOf('/api/health');
      secure(plain, 'no Origin');
      assert.equal(plain.get('access-control-allow-origin'), null);
      const own = await headersOf('/api/devices', {
        headers: { origin: hub.origin, authorization: `Bearer ${alice.accessToken}` },
      });
      secure(own, 'own Origin');
      assert.equal(own.get('access-control-allow-origin'), hub.origin);
      assert.equal(own.get('vary'), 'Origin');
      const foreign = await headersOf('/api/health', { headers: { origin: 'https://evil.example' } });
      secure(foreign, 'foreign Origin');
      assert.equal(foreign.get('access-control-allow-origin'), null);
      const refused = await headersOf('/api/devices', { headers: { origin: hub.origin } });
      secure(refused, 'an error answer');
    });

    test('HTTP: every kind of bad body gets a clear 4xx and changes nothing', async () => {
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      const cases: { what: string; raw?: string; body?: unknown; status: number; code: string }[] = [
        { what: 'malformed JSON', raw: '{"id": "x",', status: 400, code: 'invalid_argument' },
        {
          what: 'unknown command',
          body: { id: 'u1', name: 'docker.exec', args: {} },
          status: 400,
          code: 'unknown_command',
        },
        {
          what: 'wrong id type',
          body: { id: 5, name: 'workload.list', args: {} },
          status: 400,
          code: 'invalid_argument',
        },
        {
          what: 'wrong args',
          body: { id: 'w1', name: 'workload.stop', args: { ref: 7 } },
          status: 400,
          code: 'invalid_argument',
        },
        {
          what: 'extra keys',
          body: { id: 'w2', name: 'workload.list', args: {}, sudo: true },
          status: 400,
          code: 'invalid_argument',
        },
        {
          what: 'local-only command',
          body: { id: 'w3', name: 'settings.set', args: {} },
          status: 403,
          code: 'forbidden',
        },
        {
          what: 'deep nesting',
          raw: `{"id":"n1","name":"workload.list","args":${'['.repeat(5000)}${']'.repeat(5000)}}`,
          status: 400,
          code: 'invalid_argument',
        },
        {
          what: '__proto__ key',
          raw: '{"id":"p1","name":"workload.list","args":{"__proto__":{"polluted":true}}}',
          status: 400,
          code: 'invalid_argument',
        },
        {
          what: 'constructor.prototype',
          raw: '{"id":"p2","name":"workload.list","args":{"constructor":{"prototype":{"polluted":true}}}}',
          status: 400,
          code: 'invalid_argument',
        },
      ];
      for (const c of cases) {
        const res = await api<{ ok: false; error: { code: string; message: string } }>(
          hub,
          'POST',
          commandPath(),
          {
            token: alice.accessToken,
            raw: c.raw,
            body: c.body,
          },
        );
        assert.equal(res.status, c.status, c.what);
        assert.equal(res.body.error.code, c.code, c.what);
        assert.ok(res.body.error.message.length > 0, c.what);
      }
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);
      assert.equal(agent.received.filter((m) => m.type === 'command').length, 0, 'nothing reached the agent');
      const big = await fetch(hub.url + commandPath(), {
        method: 'POST',
        headers: { authorization: `Bearer ${alice.accessToken}`, 'content-type': 'application/json' },
        body: `{"id":"big","name":"workload.list","args":{"x":"${'a'.repeat(1024 * 1024 + 1)}"}}`,
      }).catch(() => undefined);
      assert.ok(!big || big.status === 413, 'an over-sized body is refused');
      const reg = await api<{ error: { field?: string } }>(hub, 'POST', '/api/auth/register', {
        body: { email: 'not-an-email', password: 'a long enough password' },
      });
      assert.equal(reg.status, 400);
      assert.equal(reg.body.error.field, 'email');
      assert.equal((await api(hub, 'GET', '/api/nothing-here')).status, 404);
      assert.equal((await api(hub, 'GET', commandPath(), { token: alice.accessToken })).status, 405);
      agent.ws.close();
      await closed(agent.ws);
    });

    test('sockets: bad frames close with a code and the hub stays up', async () => {
      const frames: { what: string; data: string | Buffer; code: number }[] = [
        { what: 'malformed JSON', data: '{"type":', code: 1007 },
        { what: 'not an object', data: '[1,2,3]', code: 1008 },
        { what: 'binary', data: Buffer.from([1, 2, 3]), code: 1003 },
        { what: '__proto__', data: '{"type":"event","__proto__":{"polluted":true}}', code: 1008 },
        {
          what: 'deep nesting',
          data: `{"type":"event","event":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
          code: 1008,
        },
      ];
      for (const f of frames) {
        const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
        const done = closed(agent.ws);
        agent.ws.send(f.data);
        assert.equal((await done).code, f.code, f.what);
      }
      // Unknown types and wrong shapes are ignored, the link survives.
      const agent = track(await connectFakeAgent(hub, aliceDevice.deviceToken));
      agent.send({ type: 'no.such.type' });
      agent.send({ type: 'result', id: 42 });
      agent.send({ type: 'event', event: { type: 'workload.changed', workload: 'nope' } });
      const res = await api(hub, 'POST', commandPath(), {
        token: alice.accessToken,
        body: { id: 'after-junk', name: 'workload.list', args: {} },
      });
      assert.equal(res.status, 200, 'the agent link still works');
      agent.ws.close();

      const dash = track(await connectDashboard(hub, alice.accessToken));
      const dashDone = closed(dash.ws);
      dash.ws.send('{"type":"command"}');
      assert.equal((await dashDone).code, 1008);
      assert.equal((await api(hub, 'GET', '/api/health')).status, 200);
      assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    });
  });
});
