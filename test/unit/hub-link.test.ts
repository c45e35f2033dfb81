// The agent's side of the link against a real hub on port 0 (no Docker): pairing errors people can
// act on, commands executed through dispatch with the remote door, events forwarded, and a revoked
// device that backs off instead of hammering the hub.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import type { AgentEvent, AuthResponse, CommandContext, Dispatch, Result } from '../../shared';
import { CLOSE_PROTOCOL_VIOLATIONS, LatticeError } from '../../shared';
import { HubLink, pairWithHub } from '../../electron/agent/hub-link';
import { freePort, waitFor } from '../helpers/net';
import {
  api,
  closed,
  connectDashboard,
  registerUser,
  startTestHub,
  type TestHub,
} from '../integration/hub-fixtures';

const silent = pino({ level: 'silent' });

describe('hub link (agent side)', () => {
  let hub: TestHub;
  let user: AuthResponse;
  const links: HubLink[] = [];

  before(async () => {
    hub = await startTestHub({ heartbeatMs: 500 });
    user = await registerUser(hub);
  });
  after(async () => {
    await Promise.all(links.map((l) => l.stop()));
    await hub?.stop();
  });

  const newCode = async () =>
    (await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', { token: user.accessToken })).body.code;

  test('pairWithHub: a good code gives a device; a used code and an unreachable hub give clear errors', async () => {
    const code = await newCode();
    const paired = await pairWithHub({ hubUrl: hub.url, code, name: 'box' });
    assert.match(paired.deviceId, /^dev_/);
    assert.ok(paired.deviceToken.split('.').length === 3);
    await assert.rejects(pairWithHub({ hubUrl: hub.url, code, name: 'box' }), (err: LatticeError) => {
      assert.equal(err.code, 'invalid_argument');
      assert.match(err.message, /pairing code/);
      return true;
    });
    const nobody = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(pairWithHub({ hubUrl: nobody, code, name: 'box' }), /Cannot reach the hub/);
    await assert.rejects(pairWithHub({ hubUrl: 'ftp://x', code, name: 'box' }), /http/);
  });

  test('runs relayed commands through dispatch as remote, forwards events, reports status', async () => {
    const { deviceId, deviceToken } = await pairWithHub({
      hubUrl: hub.url,
      code: await newCode(),
      name: 'worker',
    });
    const seen: { name: string; ctx: CommandContext }[] = [];
    const dispatch = (async (name: string, _args: unknown, ctx: CommandContext) => {
      seen.push({ name, ctx });
      if (name === 'workload.get') throw new LatticeError('not_found', 'No workload "nope"');
      return [];
    }) as Dispatch;
    const listeners = new Set<(e: AgentEvent) => void>();
    const link = new HubLink({
      hubUrl: hub.url,
      deviceToken,
      name: 'worker',
      dispatch,
      onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
      logger: silent,
    });
    links.push(link);
    const statuses: boolean[] = [];
    link.onStatus((c) => statuses.push(c));
    link.start();
    await waitFor('the link up', () => link.connected);
    assert.deepEqual(statuses, [true]);

    const ok = await api<Result<unknown>>(hub, 'POST', `/api/devices/${deviceId}/commands`, {
      token: user.accessToken,
      body: { id: 'c1', name: 'workload.list', args: {} },
    });
    assert.deepEqual(ok.body, { ok: true, value: [] });
    assert.deepEqual(seen[0], {
      name: 'workload.list',
      ctx: { door: 'remote', user: user.user, commandId: 'c1' },
    });
    const err = await api<Result<unknown>>(hub, 'POST', `/api/devices/${deviceId}/commands`, {
      token: user.accessToken,
      body: { id: 'c2', name: 'workload.get', args: { ref: 'nope' } },
    });
    assert.equal(err.status, 404);
    assert.deepEqual(err.body, { ok: false, error: { code: 'not_found', message: 'No workload "nope"' } });

    const dash = await connectDashboard(hub, user.accessToken);
    for (const l of listeners) l({ type: 'workload.removed', id: 'w1', name: 'old' });
    await waitFor('the event on the dashboard', () =>
      dash.events.some(
        (e) => e.type === 'device.event' && e.deviceId === deviceId && e.event.type === 'workload.removed',
      ),
    );
    dash.ws.close();
    await closed(dash.ws);

    await link.stop();
    assert.equal(link.connected, false);
    assert.deepEqual(statuses, [true, false]);
    assert.equal(listeners.size, 0, 'unsubscribed from events on stop');
  });

  test('a revoked device backs off instead of retrying in a tight loop', async () => {
    // A stand-in hub that refuses every upgrade with 401, counting attempts.
    let attempts = 0;
    const refuser = createServer();
    refuser.on('upgrade', (_req, socket) => {
      attempts++;
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
    await new Promise<void>((r) => refuser.listen(0, '127.0.0.1', () => r()));
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const link = new HubLink({
      hubUrl: `http://127.0.0.1:${(refuser.address() as AddressInfo).port}`,
      deviceToken: 'revoked',
      name: 'x',
      dispatch: (async () => undefined) as unknown as Dispatch,
      onEvent: () => () => undefined,
      logger,
      backoffBaseMs: 10,
      backoffCapMs: 5_000,
    });
    link.start();
    await waitFor('the first refusal', () => attempts >= 1);
    // With a 10 ms base a normal failure would retry many times in a second; a refusal waits ≥ cap/2.
    await new Promise((r) => setTimeout(r, 1500));
    await link.stop();
    refuser.close();
    assert.equal(attempts, 1);
    assert.ok(
      errors.some((l) => /revoked/.test(l)),
      'says the device was refused',
    );
  });
  test('closed for protocol violations, the agent redials slowly too', async () => {
    // A stand-in hub that accepts the socket, then closes it as the real one does for a device that
    // keeps sending bad messages (or one still in its cool-down).
    let attempts = 0;
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      attempts++;
      ws.close(CLOSE_PROTOCOL_VIOLATIONS, 'too many bad messages');
    });
    await new Promise((r) => wss.once('listening', r));
    const warnings: string[] = [];
    const link = new HubLink({
      hubUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      deviceToken: 'noisy',
      name: 'x',
      dispatch: (async () => undefined) as unknown as Dispatch,
      onEvent: () => () => undefined,
      logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
      backoffBaseMs: 10,
      backoffCapMs: 5_000,
    });
    link.start();
    await waitFor('the first close', () => attempts >= 1);
    // With a 10 ms base an ordinary close would be redialled many times in a second.
    await new Promise((r) => setTimeout(r, 1500));
    await link.stop();
    wss.close();
    assert.equal(attempts, 1);
    assert.ok(
      warnings.some((l) => /does not understand/.test(l)),
      'says why it waits',
    );
  });

  test('a hub that goes silent is dropped and redialled', async () => {
    // Accepts the socket, then never pings or says anything.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    let connections = 0;
    wss.on('connection', () => connections++);
    const link = new HubLink({
      hubUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      deviceToken: 't',
      name: 'x',
      dispatch: (async () => undefined) as unknown as Dispatch,
      onEvent: () => () => undefined,
      logger: silent,
      silenceTimeoutMs: 300,
      backoffBaseMs: 10,
    });
    link.start();
    await waitFor('a second connection after the silence', () => connections >= 2, 10_000);
    await link.stop();
    await new Promise<void>((r) => wss.close(() => r()));
  });
});
