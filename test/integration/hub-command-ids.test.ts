// A relayed command's id is its idempotency key, and every first run leaves one audit row: duplicates
// sent while it runs join it, repeats after it are answered from the store, a burst of different
// commands is each stored and audited (the result and its audit row are committed together), a late
// answer after a timeout is kept for the next repeat, and a result off the contract is refused and
// kept refused. A real hub (SQLite, or PostgreSQL with LATTICE_HUB_DATABASE=postgres) and a stand-in
// agent over a real WebSocket.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Result } from '../../shared';
import {
  api,
  connectFakeAgent,
  pairDevice,
  registerUser,
  startTestHub,
  type CommandMessage,
  type TestHub,
} from './hub-fixtures';

interface AuditRow {
  commandId: string;
  commandName: string;
  ok: boolean;
  errorCode: string | null;
}

describe('command ids through the hub', () => {
  let hub: TestHub;
  let token: string;
  let deviceId: string;
  /** Commands the agent received, in order. */
  const received: CommandMessage[] = [];
  /** Answers the agent holds back until the test releases them, by command id. */
  const held = new Map<string, (r: Result<unknown>) => void>();
  let answer: (cmd: CommandMessage) => Promise<Result<unknown>> | Result<unknown> | undefined;

  before(async () => {
    hub = await startTestHub({ commandTimeoutMs: 1_000 });
    const user = await registerUser(hub);
    token = user.accessToken;
    const paired = await pairDevice(hub, token);
    deviceId = paired.deviceId;
    await connectFakeAgent(hub, paired.deviceToken, (cmd) => {
      received.push(cmd);
      return answer(cmd);
    });
  });
  after(() => hub.stop());

  const post = (id: string, name = 'workload.list', args: unknown = {}) =>
    api<Result<unknown>>(hub, 'POST', `/api/devices/${deviceId}/commands`, {
      token,
      body: { id, name, args },
    });
  const audit = async (id: string) =>
    (await api<AuditRow[]>(hub, 'GET', '/api/audit', { token })).body.filter((r) => r.commandId === id);
  const runs = (id: string) => received.filter((c) => c.id === id).length;

  test('duplicates sent while a command runs join it; repeats after it come from the store', async () => {
    answer = (cmd) => new Promise((resolve) => held.set(cmd.id, resolve));
    const first = [post('dup-1'), post('dup-1'), post('dup-1')];
    await waitFor(() => held.has('dup-1'));
    held.get('dup-1')!({ ok: true, value: [] });
    const answers = await Promise.all(first);
    const again = await Promise.all([post('dup-1'), post('dup-1')]);
    for (const a of [...answers, ...again]) {
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { ok: true, value: [] });
    }
    assert.equal(runs('dup-1'), 1, 'the agent ran it once');
    const rows = await audit('dup-1');
    assert.equal(rows.length, 1, 'one audit row for the one run');
    assert.equal(rows[0].ok, true);
  });

  test('a burst of different commands: each answered, stored and audited once', async () => {
    answer = () => ({ ok: true, value: [] });
    const ids = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const answers = await Promise.all(ids.map((id) => post(id)));
    assert.ok(answers.every((a) => a.status === 200 && a.body.ok));
    // Repeats right after: every result was committed before its answer went out.
    const repeats = await Promise.all(ids.map((id) => post(id)));
    assert.ok(repeats.every((a) => a.status === 200 && a.body.ok));
    for (const id of ids) {
      assert.equal(runs(id), 1, `${id} ran once`);
      assert.equal((await audit(id)).length, 1, `${id} audited once`);
    }
  });

  test('a late answer after the timeout is kept: the repeat gets it without a second run', async () => {
    answer = (cmd) => new Promise((resolve) => held.set(cmd.id, resolve));
    const timedOut = await post('late-1');
    assert.equal(timedOut.status, 504);
    assert.equal(!timedOut.body.ok && timedOut.body.error.code, 'timeout');
    held.get('late-1')!({ ok: true, value: [] });
    await waitFor(async () => (await post('late-1')).status === 200);
    assert.equal(runs('late-1'), 1);
    const rows = await audit('late-1');
    assert.equal(rows.length, 1, 'the caller that timed out is audited, the repeats are not');
    assert.equal(rows[0].errorCode, 'timeout');
  });

  test('a result off the contract becomes agent_error, and stays so for a repeat', async () => {
    answer = () => ({ ok: true, value: 'not a list' });
    const refused = await post('bad-1');
    assert.equal(refused.status, 502);
    assert.equal(!refused.body.ok && refused.body.error.code, 'agent_error');
    const repeat = await post('bad-1');
    assert.deepEqual(repeat.body, refused.body);
    assert.equal(runs('bad-1'), 1);
    assert.equal((await audit('bad-1'))[0]?.errorCode, 'agent_error');
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
