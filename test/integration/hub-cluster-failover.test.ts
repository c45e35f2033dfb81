// Two `lattice hub` processes on one PostgreSQL 15 and one nats-server, behind HAProxy (mode tcp), all
// real and on loopback. An agent connected through HAProxy to hub A; hub A is killed with SIGKILL; the
// agent, reconnecting as agents do, comes back through HAProxy on hub B within 15 s, the owner's
// dashboard on B sees it online, a command queued through hub A before the crash is delivered once
// through hub B, commands reach the agent, and a command id answered before the crash is not run again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTRPCClient, httpLink } from '@trpc/client';
import WebSocket from 'ws';
import type { HubRouter } from '../../server/api/trpc-router';
import type { Result } from '../../shared';
import { startHubCluster, type ClusterHub, type HubCluster } from '../helpers/hub-cluster';
import { waitFor } from '../helpers/net';
import { sampleWorkload } from '../helpers/samples';
import { api, connectDashboard, pairDevice, registerUser, wsUrl } from './hub-fixtures';

let cluster: HubCluster;
let lb: { url: string; origin: string };
let hubs: ClusterHub[];

// Hub A on 127.0.0.2, hub B on 127.0.0.3; HAProxy's `balance first` sends every connection to hub A
// while it is up, so the agent starts there (test/helpers/hub-cluster.ts).
before(async () => {
  cluster = await startHubCluster({ name: 'failover' });
  ({ lb, hubs } = cluster);
});

after(async () => {
  await cluster?.stop();
});

/** An agent as the real one reconnects: dial again shortly after the socket drops, until stopped. */
function reconnectingAgent(deviceToken: string) {
  const ran: string[] = [];
  let ws: WebSocket | undefined;
  let stopped = false;
  let connects = 0;
  let paused = false;
  const notes = sampleWorkload({ name: 'notes' });
  const dial = () => {
    if (stopped || paused) return;
    const sock = new WebSocket(wsUrl(lb, '/agent'), { headers: { authorization: `Bearer ${deviceToken}` } });
    ws = sock;
    sock.on('open', () => {
      connects++;
      sock.send(JSON.stringify({ type: 'hello', agentVersion: 'test', name: 'failover' }));
      sock.send(JSON.stringify({ type: 'inventory.snapshot', workloads: [notes] }));
    });
    sock.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; id: string; name: string };
      if (msg.type !== 'command') return;
      ran.push(msg.id);
      const value = msg.name === 'workload.list' ? [] : notes;
      sock.send(JSON.stringify({ type: 'result', id: msg.id, result: { ok: true, value } }));
    });
    sock.on('error', () => undefined);
    sock.on('close', () => setTimeout(dial, 300 + Math.random() * 700));
  };
  dial();
  return {
    ran,
    connects: () => connects,
    /** Offline until resume(): the socket closes and is not dialled again. */
    pause() {
      paused = true;
      ws?.close();
    },
    resume() {
      paused = false;
      dial();
    },
    stop() {
      stopped = true;
      ws?.terminate();
    },
  };
}

describe('a hub killed with SIGKILL', () => {
  test('its agent is online again through the other hub within 15 s; the queued command runs once; nothing runs twice', async (t) => {
    const user = await registerUser(lb);
    const device = await pairDevice(lb, user.accessToken, 'laptop');
    const agent = reconnectingAgent(device.deviceToken);
    try {
      // Straight to hub B (its allowed origin is the cluster's public URL, the load balancer's).
      const dash = await connectDashboard({ url: hubs[1].url, origin: lb.origin }, user.accessToken);
      await waitFor('the agent online, seen from hub B', () =>
        dash.events.some((e) => e.type === 'presence' && e.deviceId === device.deviceId && e.online),
      );
      const command = (id: string) =>
        api<Result<unknown>>(hubs[1], 'POST', `/api/devices/${device.deviceId}/commands`, {
          token: user.accessToken,
          body: { id, name: 'workload.list', args: {} },
        });
      assert.deepEqual((await command('before-crash')).body, { ok: true, value: [] });

      // Offline for a moment; a command queued through hub A, which then dies, waits in PostgreSQL.
      agent.pause();
      const onA = createTRPCClient<HubRouter>({
        links: [
          httpLink({ url: `${hubs[0].url}/trpc`, headers: { authorization: `Bearer ${user.accessToken}` } }),
        ],
      });
      await waitFor('hub A sees the device offline', async () => {
        const nodes = await onA.node.list.query();
        return nodes.some((n) => n.id === device.deviceId && !n.online);
      });
      const queued = await onA.workload.start.mutate({ ref: 'notes', queue: true, id: 'queued-1' });
      assert.equal(queued.queued?.status, 'pending');

      const seen = dash.events.length;
      const killedAt = Date.now();
      await hubs[0].kill();
      agent.resume();
      await waitFor(
        'the agent online again through hub B',
        () =>
          dash.events
            .slice(seen)
            .some((e) => e.type === 'presence' && e.deviceId === device.deviceId && e.online),
        15_000,
      );
      const back = Date.now() - killedAt;
      assert.ok(back < 15_000, `back after ${back} ms`);
      t.diagnostic(`online again through hub B ${back} ms after hub A was killed`);
      // The dashboard's presence event and the agent's own `open` travel on two sockets: either may come first.
      await waitFor('the agent has its new socket open', () => agent.connects() >= 2);
      assert.equal(agent.connects(), 2, 'one reconnect, to hub B');

      await waitFor('the queued command delivered through hub B', () => agent.ran.includes('queued-1'));
      assert.deepEqual((await command('after-crash')).body, { ok: true, value: [] });
      assert.deepEqual((await command('before-crash')).body, { ok: true, value: [] }, 'the stored result');
      const onB = createTRPCClient<HubRouter>({
        links: [
          httpLink({ url: `${hubs[1].url}/trpc`, headers: { authorization: `Bearer ${user.accessToken}` } }),
        ],
      });
      await waitFor('the queued command done', async () =>
        (await onB.queue.list.query()).some((q) => q.id === 'queued-1' && q.status === 'done'),
      );
      assert.deepEqual(
        agent.ran.sort(),
        ['after-crash', 'before-crash', 'queued-1'],
        'each command ran once',
      );
      const list = await api<{ id: string; online: boolean }[]>(lb, 'GET', '/api/devices', {
        token: user.accessToken,
      });
      assert.equal(list.body.find((d) => d.id === device.deviceId)?.online, true);
      dash.ws.close();
    } finally {
      agent.stop();
    }
  });
});
