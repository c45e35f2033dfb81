// The hub's command queue against a real hub and a scriptable stand-in agent on a real socket: order of
// delivery, redelivery with the same id when the computer drops before answering, expiry, results kept
// without credentials and pushed to the dashboard, and a refused id reuse.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { HubRouter } from '../../server/api/trpc-router';
import type { Result } from '../../shared';
import { sampleWorkload } from '../helpers/samples';
import { waitFor } from '../helpers/net';
import {
  closed,
  connectDashboard,
  connectFakeAgent,
  pairDevice,
  registerUser,
  startTestHub,
  type CommandMessage,
  type TestHub,
} from './hub-fixtures';

describe('command queue', () => {
  let hub: TestHub;
  let client: ReturnType<typeof createTRPCClient<HubRouter>>;
  let token: string;
  let deviceToken: string;

  before(async () => {
    hub = await startTestHub({ heartbeatMs: 1000 });
    token = (await registerUser(hub)).accessToken;
    client = createTRPCClient<HubRouter>({
      links: [httpLink({ url: `${hub.url}/trpc`, headers: { authorization: `Bearer ${token}` } })],
    });
    deviceToken = (await pairDevice(hub, token, 'laptop')).deviceToken;
    // Connected once so the inventory knows its workload, then gone.
    const agent = await connectFakeAgent(hub, deviceToken);
    agent.send({ type: 'inventory.snapshot', workloads: [sampleWorkload({ name: 'db' })] });
    await waitFor('the inventory', async () => (await client.workload.list.query()).length === 1);
    agent.ws.close();
    await closed(agent.ws);
    await waitFor('offline', async () => !(await client.node.list.query())[0].online);
  });
  after(() => hub?.stop());

  test('delivered in order on reconnect; a drop before the answer redelivers the same id; results without credentials', async () => {
    const dash = await connectDashboard(hub, token);
    const first = (await client.workload.stop.mutate({ ref: 'db', queue: true, id: 'q-stop' })).queued!;
    const second = (await client.workload.start.mutate({ ref: 'db', queue: true, id: 'q-start' })).queued!;
    assert.deepEqual([first.status, second.status], ['pending', 'pending']);
    assert.equal(first.summary, '"db"');

    // This agent takes the first command and drops before answering.
    const dropping = await connectFakeAgent(hub, deviceToken, () => undefined);
    await waitFor('the first command', () => dropping.received.some((m) => m.type === 'command'));
    dropping.ws.terminate();
    await closed(dropping.ws);
    const afterDrop = await client.queue.list.query();
    assert.equal(afterDrop.find((q) => q.id === 'q-stop')?.status, 'delivered');
    assert.equal(afterDrop.find((q) => q.id === 'q-start')?.status, 'pending', 'the second waits its turn');

    // The next connection gets both, the first again with its id, in order.
    const seen: CommandMessage[] = [];
    const answering = await connectFakeAgent(hub, deviceToken, (cmd): Result<unknown> => {
      seen.push(cmd);
      return {
        ok: true,
        value: sampleWorkload({
          name: 'db',
          status: cmd.name === 'workload.stop' ? 'stopped' : 'running',
          password: 'never-on-the-hub',
          connectionString: 'postgres://u:never-on-the-hub@127.0.0.1:1/db',
        }),
      };
    });
    const finished = await waitFor('both answered', async () => {
      const list = await client.queue.list.query();
      return list.every((q) => q.status === 'done') && list;
    });
    assert.deepEqual(
      seen.map((c) => `${c.id}:${c.name}`),
      ['q-stop:workload.stop', 'q-start:workload.start'],
    );
    const started = finished.find((q) => q.id === 'q-start')!;
    const value = (started.result as { ok: true; value: Record<string, unknown> }).value;
    assert.equal(value.status, 'running');
    assert.equal(value.password, undefined);
    assert.equal(value.connectionString, undefined);
    assert.doesNotMatch(JSON.stringify(finished), /never-on-the-hub/);
    // The dashboard saw each step.
    await waitFor('queue.changed done on the dashboard', () =>
      dash.events.some(
        (e) => e.type === 'queue.changed' && e.command.id === 'q-start' && e.command.status === 'done',
      ),
    );
    const steps = dash.events.flatMap((e) =>
      e.type === 'queue.changed' && e.command.id === 'q-stop' ? [e.command.status] : [],
    );
    assert.deepEqual(steps, ['pending', 'delivered', 'delivered', 'done']);
    dash.ws.close();
    answering.ws.close();
    await closed(answering.ws);
    await waitFor('offline again', async () => !(await client.node.list.query())[0].online);
  });

  test('an expired command is never delivered; an id is not reused', async () => {
    const queued = (await client.workload.restart.mutate({ ref: 'db', queue: true, queueExpires: 1 }))
      .queued!;
    assert.equal(Date.parse(queued.expiresAt) - Date.parse(queued.createdAt), 1000);
    await new Promise((r) => setTimeout(r, 1200));
    const expired = (await client.queue.list.query({ status: 'expired' })).map((q) => q.id);
    assert.deepEqual(expired, [queued.id]);

    const reused = client.workload.stop.mutate({ ref: 'db', queue: true, id: 'q-stop' });
    await assert.rejects(reused, (err: unknown) => {
      assert.ok(err instanceof TRPCClientError);
      assert.equal((err.data as { lattice: { code: string } }).lattice.code, 'conflict');
      return true;
    });
    await assert.rejects(
      client.workload.start.mutate({ ref: 'db', queue: true, queueExpires: 0 }),
      /queueExpires: must be at least 1 second/,
    );

    const agent = await connectFakeAgent(hub, deviceToken);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(
      agent.received.filter((m) => m.type === 'command').length,
      0,
      'nothing pending, nothing delivered',
    );
    agent.ws.close();
  });
});
