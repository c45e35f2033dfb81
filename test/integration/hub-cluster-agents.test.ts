// Issue #16's cluster, end to end with real agents: two `lattice hub` processes (hub A on 127.0.0.2,
// hub B on 127.0.0.3) on one PostgreSQL 15 and one nats-server, behind HAProxy (mode tcp) — the API
// frontend sends everything to A while A is up, the relay frontend sends every visitor to B
// (test/helpers/hub-cluster.ts). One account, two real agents with the fixture images: agent 1 paired
// through the load balancer (so it sits on hub A), agent 2 paired with hub B's own address.
// 1. commands cross the hubs both ways (each deploys on the other hub's agent: Postgres on agent 1,
//    the nginx fixture on agent 2) and each hub's dashboard sees the other hub's agent;
// 2. a Postgres share opened while agent 1 is on hub A answers `psql` that HAProxy sends to hub B;
// 3. `kill -9` of hub A: agent 1 is online again through hub B within 15 s, a command queued through
//    hub A before the kill is delivered once, and no command ran twice;
// 4. …and the same share string works again without anyone doing anything.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTRPCClient, httpLink } from '@trpc/client';
import type Docker from 'dockerode';
import type WebSocket from 'ws';
import type { HubRouter } from '../../server/api/trpc-router';
import type { AgentEvent, AuthResponse, DashboardEvent, Result, Share, Workload } from '../../shared';
import type { Agent } from '../../electron/agent/agent';
import { DB_FILE } from '../../electron/agent/create-agent';
import { startTestAgent, type TestAgent } from '../helpers/agent';
import { FIXTURE_IMAGES, requireFixtureImages } from '../helpers/docker';
import { startHubCluster, type ClusterHub, type HubCluster } from '../helpers/hub-cluster';
import { waitFor } from '../helpers/net';
import { api, connectDashboard, registerUser } from './hub-fixtures';
import { run } from './share-support';

const PSQL = '/usr/bin/psql';
// Container names are global in Docker: this run's own.
const RUN = randomBytes(3).toString('hex');
const PG1 = `cluster-pg1-${RUN}`;
const WEB2 = `cluster-web2-${RUN}`;

type Dashboard = { ws: WebSocket; events: DashboardEvent[] };
type Trpc = ReturnType<typeof createTRPCClient<HubRouter>>;

interface RealAgent {
  test: TestAgent;
  /** The agent running now (a reopened one after a restart). */
  agent: Agent;
  /** Every event of the agent in this process (each reopened agent's too). */
  events: AgentEvent[];
  deviceId: string;
  /** Command ids the test sent to it through a hub. */
  sent: Set<string>;
}

/** `SELECT 1` with the real psql client; the connection string decides where it goes. */
const psqlSelect1 = (connectionString: string) =>
  run(PSQL, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', connectionString, '-c', 'SELECT 1'], {
    env: { PGCONNECT_TIMEOUT: '10' },
    timeoutMs: 30_000,
  });

/** The same string, straight to one hub's address instead of the load balancer. */
const viaHub = (connectionString: string, hub: ClusterHub) => {
  const url = new URL(connectionString);
  url.hostname = hub.host;
  return url.toString();
};

describe('two hub processes behind HAProxy, one account, two real agents', () => {
  let docker: Docker;
  let cluster: HubCluster;
  let hubA: ClusterHub;
  let hubB: ClusterHub;
  let user: AuthResponse;
  let dashA: Dashboard;
  let dashB: Dashboard;
  const agents: { one?: RealAgent; two?: RealAgent } = {};
  let one: RealAgent;
  let two: RealAgent;
  let deployOne: Workload | undefined;
  let deployTwo: Workload | undefined;
  let share: Share | undefined;
  let killedAt = 0;

  const trpc = (hub: ClusterHub): Trpc =>
    createTRPCClient<HubRouter>({
      links: [httpLink({ url: `${hub.url}/trpc`, headers: { authorization: `Bearer ${user.accessToken}` } })],
    });
  /** A command through one hub's API (its own address, not the load balancer). */
  const command = <T = unknown>(hub: ClusterHub, to: RealAgent, id: string, name: string, args: unknown) => {
    to.sent.add(id);
    return api<Result<T>>(hub, 'POST', `/api/devices/${to.deviceId}/commands`, {
      token: user.accessToken,
      body: { id, name, args },
    });
  };
  const local = <T>(a: RealAgent, name: string, args: unknown = {}) =>
    a.agent.dispatch(name as never, args as never, { door: 'local' }) as Promise<T>;
  const presence = (dash: Dashboard, deviceId: string, online: boolean, from = 0) =>
    dash.events
      .slice(from)
      .some((e) => e.type === 'presence' && e.deviceId === deviceId && e.online === online);
  const workloadEvent = (dash: Dashboard, deviceId: string, name: string) =>
    dash.events.some(
      (e) =>
        e.type === 'device.event' &&
        e.deviceId === deviceId &&
        e.event.type === 'workload.changed' &&
        e.event.workload.name === name,
    );
  const withLogs = (what: string) => `${what}\n--- hub logs ---\n${cluster.logs().slice(-6000)}`;

  async function startAgent(): Promise<RealAgent> {
    const handle = await startTestAgent();
    const a: RealAgent = { test: handle, agent: handle.agent, events: [], deviceId: '', sent: new Set() };
    handle.agent.onEvent((e) => a.events.push(e));
    return a;
  }

  async function pair(a: RealAgent, pairThrough: ClusterHub, hubUrl: string, name: string) {
    const code = await api<{ code: string }>(pairThrough, 'POST', '/api/devices/pairing', {
      token: user.accessToken,
    });
    assert.equal(code.status, 201);
    const { deviceId } = await local<{ deviceId: string }>(a, 'hub.pair', {
      hubUrl,
      code: code.body.code,
      name,
    });
    a.deviceId = deviceId;
    await waitFor(
      `agent ${name} connected to ${hubUrl}`,
      async () => (await local<{ hub: { connected: boolean } }>(a, 'settings.get')).hub.connected,
      20_000,
    );
  }

  before(async () => {
    docker = await requireFixtureImages('postgres', 'nginx');
    cluster = await startHubCluster({ name: 'cluster_agents', relaySpan: 4, logLevel: 'info' });
    [hubA, hubB] = cluster.hubs;
    user = await registerUser(hubA);
    // Each dashboard straight to its hub (they allow the cluster's public origin, the load balancer's).
    dashA = await connectDashboard(hubA, user.accessToken);
    dashB = await connectDashboard(hubB, user.accessToken);
    agents.one = one = await startAgent();
    agents.two = two = await startAgent();
  });

  after(async () => {
    dashA?.ws.terminate();
    dashB?.ws.terminate();
    // Revoked first: closing an agent with a live relay share re-opens it from the closing hub link,
    // which then writes to the agent's closed database (an unhandled rejection in ShareService.reopenOne).
    if (agents.one && share)
      await local(agents.one, 'share.revoke', { ref: share.id }).catch(() => undefined);
    // Each agent's cleanup closes it and removes what it created (its owner label), even after a failure.
    for (const a of [agents.one, agents.two]) await a?.test.cleanup().catch(() => undefined);
    await cluster?.stop();
  });

  test('commands cross the hubs both ways; each dashboard sees the other hub’s agent come online and change', async (t) => {
    await pair(one, hubA, cluster.lb.url, 'one');
    await pair(two, hubB, hubB.url, 'two');
    // Agent 2 runs the nginx fixture (a custom image) when the dashboard asks: its owner allows that image.
    await local(two, 'settings.set', { allowedImages: [FIXTURE_IMAGES.nginx] });
    // Agent 1's socket went through HAProxy to hub A (nothing ever reached B through the load balancer).
    const lbA = await cluster.stats('hubs', 'a');
    const lbB = await cluster.stats('hubs', 'b');
    assert.ok(lbA.scur >= 1, `agent 1 is connected through HAProxy to hub A: ${JSON.stringify(lbA)}`);
    assert.equal(lbB.stot, 0, 'no connection through the load balancer went to hub B');

    await waitFor('dashboard on B: agent 1 (on hub A) online', () => presence(dashB, one.deviceId, true));
    await waitFor('dashboard on A: agent 2 (on hub B) online', () => presence(dashA, two.deviceId, true));

    // Hub A's API commands agent 2 (on B) while hub B's API commands agent 1 (on A): real deploys.
    const deployStart = Date.now();
    const [toTwo, toOne] = await Promise.all([
      command<Workload>(hubA, two, 'c1-deploy-two', 'workload.deploy', {
        template: 'custom',
        image: FIXTURE_IMAGES.nginx,
        name: WEB2,
      }),
      command<Workload>(hubB, one, 'c1-deploy-one', 'workload.deploy', { template: 'postgres', name: PG1 }),
    ]);
    t.diagnostic(`both deployed through the other hub in ${Date.now() - deployStart} ms`);
    assert.equal(toTwo.status, 200, JSON.stringify(toTwo.body));
    assert.equal(toOne.status, 200, JSON.stringify(toOne.body));
    assert.ok(toTwo.body.ok && toOne.body.ok);
    deployTwo = toTwo.body.value;
    deployOne = toOne.body.value;
    assert.equal(deployTwo.name, WEB2);
    assert.equal(deployTwo.status, 'running');
    assert.equal(deployOne.name, PG1);
    assert.equal(deployOne.status, 'running');
    // The agents agree: each has exactly its own workload.
    assert.deepEqual(
      (await local<Workload[]>(two, 'workload.list')).map((w) => w.name),
      [WEB2],
    );
    assert.deepEqual(
      (await local<Workload[]>(one, 'workload.list')).map((w) => w.name),
      [PG1],
    );
    const listed = await command<Workload[]>(hubA, two, 'c1-list-two', 'workload.list', {});
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.ok && listed.body.value.map((w) => w.name), [WEB2]);

    await waitFor('dashboard on B: a workload event of agent 1 (on hub A)', () =>
      workloadEvent(dashB, one.deviceId, PG1),
    );
    await waitFor('dashboard on A: a workload event of agent 2 (on hub B)', () =>
      workloadEvent(dashA, two.deviceId, WEB2),
    );
  });

  test('a Postgres share opened while its agent is on hub A answers psql that HAProxy sends to hub B', async () => {
    assert.ok(deployOne, 'agent 1 has its Postgres (test 1)');
    share = await local<Share>(one, 'share.create', { workload: PG1, via: 'relay', expires: '1h' });
    assert.equal(share.via, 'relay');
    assert.equal(share.status, 'active');
    const cs = new URL(share.connectionString!);
    assert.equal(cs.hostname, '127.0.0.1', 'the share points at the load balancer');
    assert.ok(share.publicPort! >= cluster.relayPorts.from && share.publicPort! <= cluster.relayPorts.to);
    assert.equal(Number(cs.port), share.publicPort);

    const before = { a: await cluster.stats('relay', 'a'), b: await cluster.stats('relay', 'b') };
    const viaLb = await psqlSelect1(share.connectionString!);
    const after = { a: await cluster.stats('relay', 'a'), b: await cluster.stats('relay', 'b') };
    const counts = JSON.stringify({ before, after });
    assert.equal(
      viaLb.code,
      0,
      withLogs(
        `psql through HAProxy → hub B (${share.connectionString}): ${viaLb.stderr}\nHAProxy: ${counts}`,
      ),
    );
    assert.equal(viaLb.stdout.trim(), '1');
    // One session, on hub B's server of the relay backend (no retry, nothing to hub A).
    assert.equal(after.b.stot - before.b.stot, 1, `HAProxy sent the visitor to hub B: ${counts}`);
    assert.equal(after.a.stot, before.a.stot, `and not to hub A: ${counts}`);

    // Straight to hub B's own address as well: B serves the share that agent 1 opened on A.
    const direct = await psqlSelect1(viaHub(share.connectionString!, hubB));
    assert.equal(direct.code, 0, withLogs(`psql straight to hub B: ${direct.stderr}`));
    assert.equal(direct.stdout.trim(), '1');
  });

  test('kill -9 of hub A: agent 1 is online again through B within 15 s; the command queued through A runs once; nothing runs twice', async (t) => {
    assert.ok(deployOne && deployTwo, 'both workloads deployed (test 1)');
    // Agent 2's web server stopped, and agent 2 away (closed): a start queued through hub A waits for it.
    const stopped = await command<Workload>(hubB, two, 'c3-stop-two', 'workload.stop', { ref: WEB2 });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.ok && stopped.body.value.status, 'stopped');
    await two.agent.close();
    const onA = trpc(hubA);
    await waitFor('hub A sees agent 2 offline', async () =>
      (await onA.node.list.query()).some((n) => n.id === two.deviceId && !n.online),
    );
    const queuedAt = Math.floor(Date.now() / 1000);
    const queued = await onA.workload.start.mutate({ ref: WEB2, queue: true, id: 'c3-queued-start-two' });
    two.sent.add('c3-queued-start-two');
    assert.equal(queued.queued?.status, 'pending');

    const seenB = dashB.events.length;
    const seenOne = one.events.length;
    killedAt = Date.now();
    await hubA.kill();
    await waitFor(
      'dashboard on B: agent 1 online again',
      () => presence(dashB, one.deviceId, true, seenB),
      15_000,
    );
    const back = Date.now() - killedAt;
    t.diagnostic(`agent 1 online again through hub B ${back} ms after hub A was killed`);
    assert.ok(back < 15_000, `back after ${back} ms`);
    // The agent itself lost its link and made a new one (the presence event and the agent's own
    // status travel on two sockets: either may come first).
    await waitFor('agent 1 reconnected', () => {
      const status = one.events
        .slice(seenOne)
        .filter((e) => e.type === 'hub.status')
        .map((e) => e.connected);
      return status.includes(false) && status.at(-1) === true;
    });
    const lbB = await cluster.stats('hubs', 'b');
    assert.ok(lbB.scur >= 1, `agent 1's new socket goes through HAProxy to hub B: ${JSON.stringify(lbB)}`);

    // Commands reach agent 1 through B; its deploy's id, answered before the crash, is not run again.
    const list = await command<Workload[]>(hubB, one, 'c3-list-one', 'workload.list', {});
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.ok && list.body.value.map((w) => w.name), [PG1]);
    const replay = await command<Workload>(hubB, one, 'c1-deploy-one', 'workload.deploy', {
      template: 'postgres',
      name: PG1,
    });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.ok && replay.body.value.id, deployOne.id, 'the first answer, replayed');
    assert.equal((await local<Workload[]>(one, 'workload.list')).length, 1, 'deployed once');

    // Agent 2 comes back (to hub B, its own URL): the command queued through the dead hub A runs, once.
    two.agent = await two.test.reopen();
    two.agent.onEvent((e) => two.events.push(e));
    const onB = trpc(hubB);
    const done = await waitFor('the queued start done through hub B', async () =>
      (await onB.queue.list.query()).find((q) => q.id === 'c3-queued-start-two' && q.status === 'done'),
    );
    assert.equal(done.result?.ok, true, JSON.stringify(done.result));
    assert.equal(
      (await local<Workload[]>(two, 'workload.list')).find((w) => w.name === WEB2)?.status,
      'running',
    );
    const [container] = await docker.listContainers({
      all: true,
      filters: { label: [`lattice.workload=${deployTwo.id}`] },
    });
    assert.ok(container, 'agent 2’s web server container');
    const starts = await dockerEvents(docker, queuedAt, container.Id, 'start');
    assert.equal(starts, 1, 'Docker started the container once after the start was queued');

    // Long enough for B to forget the dead hub's devices (6 s without its heartbeat): both stay online.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 7_000 - Date.now())));
    const devices = await api<{ id: string; online: boolean }[]>(hubB, 'GET', '/api/devices', {
      token: user.accessToken,
    });
    assert.deepEqual(devices.body.map((d) => [d.id === one.deviceId ? 'one' : 'two', d.online]).sort(), [
      ['one', true],
      ['two', true],
    ]);
    const lastOne = dashB.events.filter((e) => e.type === 'presence' && e.deviceId === one.deviceId).at(-1);
    assert.equal(lastOne?.type === 'presence' && lastOne.online, true, 'agent 1 last seen online on B');

    // Nothing ran twice: each agent's record of remote command ids (the idempotency table every
    // relayed command goes through) holds exactly the ids sent, each once and finished.
    for (const [name, a] of [
      ['agent 1', one],
      ['agent 2', two],
    ] as const) {
      const rows = commandRecords(a.test.dataDir);
      assert.deepEqual(
        rows.map((r) => r.command_id).sort(),
        [...a.sent].sort(),
        `${name} ran exactly the commands sent to it`,
      );
      assert.deepEqual(
        rows.filter((r) => r.state !== 'done'),
        [],
        `${name} finished every command`,
      );
    }
  });

  test('after the kill the same share string works again, with no action from anyone', async (t) => {
    assert.ok(share?.connectionString, 'the share of test 2');
    const from = Date.now();
    let last = '';
    await waitFor(
      'psql through HAProxy (→ hub B) answering again',
      async () => {
        const r = await psqlSelect1(share!.connectionString!);
        last = r.stderr;
        return r.code === 0 && r.stdout.trim() === '1';
      },
      30_000,
      500,
    ).catch((err: Error) => assert.fail(withLogs(`${err.message}; last psql error: ${last}`)));
    t.diagnostic(
      `the share answered again ${Date.now() - killedAt} ms after hub A was killed (${Date.now() - from} ms into this test)`,
    );
    const shares = await local<Share[]>(one, 'share.list');
    assert.deepEqual(
      shares.map((s) => [s.id, s.publicPort, s.connectionString]),
      [[share.id, share.publicPort, share.connectionString]],
      'the same share, port and string',
    );
  });
});

/** How many `action` events Docker recorded for a container since `since` (seconds). */
async function dockerEvents(docker: Docker, since: number, id: string, action: string): Promise<number> {
  const stream = (await docker.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000),
    filters: { container: [id], event: [action] },
  })) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text.split('\n').filter((l) => l.trim()).length;
}

function commandRecords(dataDir: string): { command_id: string; state: string }[] {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true });
  try {
    return db.prepare('SELECT command_id, state FROM command_results').all() as {
      command_id: string;
      state: string;
    }[];
  } finally {
    db.close();
  }
}
