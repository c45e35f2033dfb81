// Two hubs sharing one PostgreSQL 15 and one nats-server (real ones, started here on loopback): a
// dashboard on hub A commands a device connected to hub B and gets its result; presence and the
// device's events reach the owner's dashboards on both; a device connecting through the other hub
// keeps one live connection; commands idempotent across hubs; bad --bus values and an unreachable
// NATS fail at start. Login limits are counted in the database: two hubs on it without any bus share
// them, and of two hubs racing for the last free attempt only one gets it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Result } from '../../shared';
import { parseBusUrl } from '../../server/bus/bus-url';
import { connectNatsBus } from '../../server/bus/nats-bus';
import { freePort, waitFor } from '../helpers/net';
import { startNatsServer, type NatsServer } from '../helpers/nats-server';
import { sharedPostgresServer } from '../helpers/postgres-server';
import { sampleWorkload } from '../helpers/samples';
import {
  api,
  closed,
  connectDashboard,
  connectFakeAgent,
  pairDevice,
  registerUser,
  startTestHub,
  type TestHub,
} from './hub-fixtures';

let nats: NatsServer;
let dataDirB: string | undefined;
let hubA: TestHub;
let hubB: TestHub;
const cleanup: (() => unknown)[] = [];

before(async () => {
  nats = await startNatsServer();
  const database = await (await sharedPostgresServer()).createDatabase(`cluster_${process.pid}`);
  // Four free login failures per account, then a delay: small enough to count across two hubs.
  const loginFailures = { max: 4, windowMs: 60_000 };
  hubA = await startTestHub({ database, bus: nats.url, loginFailures });
  // The hubs of a cluster sign with one key, which B reads from the database (docs/running-a-cluster.md).
  dataDirB = mkdtempSync(join(tmpdir(), 'lattice-hub-b-'));
  hubB = await startTestHub({ database, bus: nats.url, dataDir: dataDirB, loginFailures });
});
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await hubA?.stop();
  await hubB?.stop();
  await nats?.stop();
  if (dataDirB) rmSync(dataDirB, { recursive: true, force: true });
});

const command = (hub: TestHub, token: string, deviceId: string, id: string, name = 'workload.list') =>
  api<Result<unknown>>(hub, 'POST', `/api/devices/${deviceId}/commands`, {
    token,
    body: { id, name, args: {} },
  });

describe('two hubs over NATS and one PostgreSQL', () => {
  test('a dashboard on hub A commands a device on hub B; presence and events reach dashboards on both', async () => {
    // Signed up on A, paired on B: one account, one database.
    const user = await registerUser(hubA);
    const device = await pairDevice(hubB, user.accessToken, 'laptop');
    const dashA = await connectDashboard(hubA, user.accessToken);
    const dashB = await connectDashboard(hubB, user.accessToken);
    cleanup.push(
      () => dashA.ws.close(),
      () => dashB.ws.close(),
    );

    let ran = 0;
    const agent = await connectFakeAgent(hubB, device.deviceToken, () => {
      ran++;
      return { ok: true, value: [] };
    });
    cleanup.push(() => agent.ws.close());
    for (const dash of [dashA, dashB]) {
      await waitFor('presence online on both hubs', () =>
        dash.events.some((e) => e.type === 'presence' && e.deviceId === device.deviceId && e.online),
      );
    }
    await waitFor('hub A lists the device online', async () => {
      const list = await api<{ id: string; online: boolean }[]>(hubA, 'GET', '/api/devices', {
        token: user.accessToken,
      });
      return list.body.find((d) => d.id === device.deviceId)?.online;
    });

    const res = await command(hubA, user.accessToken, device.deviceId, 'cross-1');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { ok: true, value: [] });
    const cmd = agent.received.find((m) => m.type === 'command');
    assert.deepEqual(cmd?.type === 'command' && cmd.user, user.user, 'the user travels with the command');

    // The same id again, through either hub: the first result, not a second run.
    assert.deepEqual((await command(hubA, user.accessToken, device.deviceId, 'cross-1')).body, res.body);
    assert.deepEqual((await command(hubB, user.accessToken, device.deviceId, 'cross-1')).body, res.body);
    assert.equal(ran, 1, 'the agent ran the command once');

    // A workload event from the agent on B reaches the dashboard on A.
    agent.send({
      type: 'event',
      event: { type: 'workload.changed', workload: sampleWorkload({ name: 'db' }) },
    });
    await waitFor('the workload event on hub A', () =>
      dashA.events.some((e) => e.type === 'device.event' && e.event.type === 'workload.changed'),
    );
  });

  test('a device connecting through the other hub keeps one live connection: the newer', async () => {
    const user = await registerUser(hubA);
    const device = await pairDevice(hubA, user.accessToken, 'desk');
    const dash = await connectDashboard(hubA, user.accessToken);
    cleanup.push(() => dash.ws.close());
    const older = await connectFakeAgent(hubA, device.deviceToken, () => ({ ok: true, value: ['older'] }));
    await waitFor('online', () => dash.events.some((e) => e.type === 'presence' && e.online));
    const newer = await connectFakeAgent(hubB, device.deviceToken, () => ({ ok: true, value: [] }));
    cleanup.push(() => newer.ws.close());
    const { code } = await closed(older.ws);
    assert.equal(code, 4009, 'hub A closed the older socket when the device connected through hub B');
    await new Promise((r) => setTimeout(r, 300));
    const last = dash.events.filter((e) => e.type === 'presence').at(-1);
    assert.equal(last?.type === 'presence' && last.online, true, 'the dashboard never ends on "offline"');
    const res = await command(hubA, user.accessToken, device.deviceId, 'newer-1');
    assert.deepEqual(res.body, { ok: true, value: [] }, 'the command went to the newer connection');
    assert.equal(older.received.filter((m) => m.type === 'command').length, 0);
  });

  test('a device on no hub fails with device_offline from either', async () => {
    const user = await registerUser(hubB);
    const device = await pairDevice(hubB, user.accessToken, 'away');
    for (const hub of [hubA, hubB]) {
      const res = await command(hub, user.accessToken, device.deviceId, `off-${hub.port}`);
      assert.equal(res.status, 503);
      assert.equal(!res.body.ok && res.body.error.code, 'device_offline');
    }
  });

  test('login failures spread over both hubs are limited as if there were one', async () => {
    const user = await registerUser(hubA);
    const login = (hub: TestHub) =>
      api(hub, 'POST', '/api/auth/login', { body: { email: user.user.email, password: 'not the password' } });
    // Four failures, alternating hubs: each hub saw only two, the cluster four.
    for (const hub of [hubA, hubB, hubA, hubB]) assert.equal((await login(hub)).status, 401);
    for (const hub of [hubA, hubB]) {
      const res = await login(hub);
      assert.equal(res.status, 429, `the fifth attempt is delayed on hub ${hub === hubA ? 'A' : 'B'}`);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    }
  });

  test('bad --bus values and an unreachable NATS fail at start, saying what is wrong', async () => {
    assert.throws(() => parseBusUrl('localhost:4222'), /--bus must be a nats:\/\/ \(or tls:\/\/\) URL/);
    assert.throws(() => parseBusUrl('http://h:4222'), /not http:/);
    assert.throws(() => parseBusUrl('::'), /--bus must be a URL like nats:\/\//);
    const port = await freePort();
    await assert.rejects(
      connectNatsBus(`nats://127.0.0.1:${port}`, pino({ level: 'silent' })),
      new RegExp(`cannot reach NATS at nats://127\\.0\\.0\\.1:${port} \\(`),
    );
  });
});

describe('two hubs on one PostgreSQL, without a bus: login limits are counted in the database', () => {
  let hubC: TestHub;
  let hubD: TestHub;
  const dirs: string[] = [];
  before(async () => {
    const database = await (await sharedPostgresServer()).createDatabase(`limits_${process.pid}`);
    // Four free failures per account; a delay of a minute after that, so the test cannot outwait it.
    // (All attempts come from 127.0.0.1: its own limit is raised out of the way.)
    const authLimits = {
      account: { free: 4, baseMs: 60_000, maxDelayMs: 120_000, windowMs: 15 * 60_000 },
      addressLogins: { max: 1000, windowMs: 15 * 60_000 },
    };
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), 'lattice-hub-limits-')));
    hubC = await startTestHub({ database, dataDir: dirs[0], authLimits });
    hubD = await startTestHub({ database, dataDir: dirs[1], authLimits });
  });
  after(async () => {
    await hubC?.stop();
    await hubD?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const login = (hub: TestHub, email: string, password = 'not the password') =>
    api(hub, 'POST', '/api/auth/login', { body: { email, password } });

  test('login failures spread over both hubs are limited as if there were one, even for the right password', async () => {
    const { user } = await registerUser(hubC);
    for (const hub of [hubC, hubD, hubC, hubD]) assert.equal((await login(hub, user.email)).status, 401);
    for (const hub of [hubD, hubC]) {
      const res = await login(hub, user.email, 'a long enough password');
      assert.equal(res.status, 429, `the fifth attempt is refused on hub ${hub === hubC ? 'C' : 'D'}`);
      assert.ok(
        Number(res.headers.get('retry-after')) >= 50,
        `Retry-After ${res.headers.get('retry-after')}`,
      );
    }
  });

  test('hubs racing for the last free attempt: exactly one is let through', async () => {
    for (let round = 0; round < 3; round++) {
      const { user } = await registerUser(hubD);
      for (const hub of [hubC, hubD, hubC]) assert.equal((await login(hub, user.email)).status, 401);
      // One free attempt left; six at once, three on each hub.
      const statuses = await Promise.all(
        [hubC, hubD, hubC, hubD, hubC, hubD].map(async (hub) => (await login(hub, user.email)).status),
      );
      assert.deepEqual(
        statuses.slice().sort(),
        [401, 429, 429, 429, 429, 429],
        `round ${round}: ${JSON.stringify(statuses)}`,
      );
    }
  });
});
