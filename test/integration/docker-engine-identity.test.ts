// Workloads belong to the Docker engine they were created on. Switching engines in Settings shows
// the other engine's workloads as `elsewhere` — named, every action refused, nothing synced, deleted
// or recreated — and switching back finds them exactly as they were (same container, same data).
//
// How "another engine" is made here, and why: an engine is known by its daemon's own ID (`docker
// info` → ID), not by its endpoint, because one daemon is often reachable through several sockets or
// contexts (Docker Desktop's /var/run/docker.sock and its desktop-linux context) and those must stay
// one engine. A second real dockerd is too heavy for a test, and two plain forwarders to this machine's
// daemon report the same ID (so they ARE one engine, which docker-engine-contexts.test.ts relies on).
// So the two contexts here go through EngineIdentityProxy (test/helpers/engine-identity-proxy.ts): an
// HTTP proxy to the real daemon whose only change is the ID in `GET /info`. Every container, volume,
// log and stat call is the real engine's; only the identity is the proxy's. Since both "engines" are
// in truth one daemon, engine B can even see engine A's containers — a stronger check than a real
// second daemon: the rows stay `elsewhere` because of the identity alone, not because nothing is found.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { AgentEvent, Workload } from '../../shared';
import { createTRPCClient, httpLink } from '@trpc/client';
import type { HubRouter } from '../../server/api/trpc-router';
import { inventoryState } from '../../electron/agent/hub-inventory';
import { workloadTable } from '../../electron/agent/cli/format';
import { openStore } from '../../electron/agent/store';
import { DB_FILE } from '../../electron/agent/create-agent';
import { dockerConfigEnv, requireFixtureImages } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';
import { EngineIdentityProxy } from '../helpers/engine-identity-proxy';
import { waitFor } from '../helpers/net';
import { connectFakeAgent, pairDevice, registerUser, startTestHub } from './hub-fixtures';

const run = promisify(execFile);
const local = { door: 'local' as const };
const dir = mkdtempSync(join(tmpdir(), 'lattice-engine-id-'));
const dockerConfig = join(dir, 'docker-config');
const suffix = `${process.pid}`;
const CTX_A = `lattice-id-a-${suffix}`;
const CTX_B = `lattice-id-b-${suffix}`;
const VOLUME = `lattice-id-site-${suffix}`;
// Container names are the daemon's, shared with every other test run: these carry the pid.
const WEB = `id-web-${suffix}`;
const QUIET = `id-quiet-${suffix}`;
const ON_B = `id-on-b-${suffix}`;
const engineA = new EngineIdentityProxy(join(dir, 'engine-a.sock'), `TEST-ENGINE-A-${suffix}`);
const engineB = new EngineIdentityProxy(join(dir, 'engine-b.sock'), `TEST-ENGINE-B-${suffix}`);
const real = new Docker({ socketPath: '/var/run/docker.sock' });

const agentEnv = () => dockerConfigEnv(dockerConfig);
const docker = (...args: string[]) => run('docker', args, { env: { ...agentEnv() } });

let t: TestAgent;
const events: AgentEvent[] = [];
let webContainer = '';
let stoppedContainer = '';
let webPort = 0;

const byName = (list: Workload[]) => Object.fromEntries(list.map((w) => [w.name, w]));
const page = async (path: string) => {
  const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
  return { status: res.status, text: await res.text() };
};
/** Our containers on the real daemon, whatever endpoint: name → id and state. */
async function containersOnDaemon(): Promise<Record<string, { id: string; state: string }>> {
  const list = await real.listContainers({
    all: true,
    filters: { label: [`lattice.owner=${t.agent.ownerId}`] },
  });
  return Object.fromEntries(list.map((c) => [c.Names[0].replace(/^\//, ''), { id: c.Id, state: c.State }]));
}

before(async () => {
  await requireFixtureImages('nginx');
  mkdirSync(dockerConfig);
  await engineA.listen();
  await engineB.listen();
  await docker('context', 'create', CTX_A, '--docker', `host=unix://${engineA.path}`);
  await docker('context', 'create', CTX_B, '--docker', `host=unix://${engineB.path}`);
  await docker('context', 'use', CTX_A);
  t = await startTestAgent({ env: agentEnv() });
  t.agent.onEvent((e) => events.push(e));
});

after(async () => {
  await t?.cleanup();
  await real
    .getVolume(VOLUME)
    .remove()
    .catch(() => undefined);
  await engineA.close();
  await engineB.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('workloads belong to the engine they were created on', () => {
  it('a deploy records the engine it ran on (daemon ID and the context it was reached through)', async () => {
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.engine?.context, CTX_A);
    const web = await t.agent.dispatch(
      'workload.deploy',
      {
        template: 'custom',
        name: WEB,
        image: 'lattice-fixture/nginx:latest',
        ports: [{ container: 80 }],
        volumes: [{ source: VOLUME, target: '/usr/share/nginx/html' }],
      },
      local,
    );
    assert.equal(web.status, 'running');
    assert.deepEqual(web.engine, { id: engineA.daemonId, label: `"${CTX_A}" (unix://${engineA.path})` });
    webPort = web.ports[0].host;
    const quiet = await t.agent.dispatch(
      'workload.deploy',
      { template: 'custom', name: QUIET, image: 'lattice-fixture/nginx:latest' },
      local,
    );
    assert.equal(quiet.engine?.id, engineA.daemonId);
    assert.equal((await t.agent.dispatch('workload.stop', { ref: QUIET }, local)).status, 'stopped');
    // Data in the volume, written by the container itself.
    const ids = await containersOnDaemon();
    webContainer = ids[`lattice-${WEB}`].id;
    stoppedContainer = ids[`lattice-${QUIET}`].id;
    await real
      .getContainer(webContainer)
      .exec({ Cmd: ['sh', '-c', 'echo kept-across-engines > /usr/share/nginx/html/data.txt'] })
      .then((e) => e.start({}))
      .then((s) => new Promise((r) => (s.on('end', r), s.resume())));
    await waitFor(
      'the page written into the volume',
      async () => (await page('/data.txt').catch(() => undefined))?.text.trim() === 'kept-across-engines',
      10_000,
    );
  });

  it('on another engine they show as elsewhere, naming their engine; nothing is synced or touched', async () => {
    const mark = events.length;
    await t.agent.dispatch('settings.set', { dockerContext: CTX_B }, local);
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.engine?.context, CTX_B);
    const list = byName(await t.agent.dispatch('workload.list', {}, local));
    for (const name of [WEB, QUIET]) {
      assert.equal(list[name].status, 'elsewhere', name);
      assert.equal(
        list[name].message,
        `On Docker engine "${CTX_A}" (unix://${engineA.path}); switch to it in Settings to manage this workload`,
      );
      assert.equal(list[name].engine?.id, engineA.daemonId);
    }
    // Every console heard it, without asking.
    await waitFor(
      'workload.changed events saying elsewhere',
      () =>
        events.slice(mark).filter((e) => e.type === 'workload.changed' && e.workload.status === 'elsewhere')
          .length >= 2,
      10_000,
    );
    assert.equal((await t.agent.dispatch('workload.get', { ref: WEB }, local)).status, 'elsewhere');
    // `lattice ls`: the state in the STATUS column, and which engine they are on.
    const ls = workloadTable(Object.values(list)).split('\n');
    assert.match(ls.find((l) => l.startsWith(WEB)) ?? '', new RegExp(`^${WEB}\\s+custom\\s+elsewhere\\s`));
    assert.ok(
      ls.includes(
        `elsewhere: ${WEB}, ${QUIET} on Docker engine "${CTX_A}" (unix://${engineA.path}); switch to it in Settings to manage them`,
      ),
      ls.join('\n'),
    );
  });

  it('every action is refused naming the engine, and nothing is deleted or recreated', async () => {
    const before = await containersOnDaemon();
    const bMark = engineB.requests.length;
    const refused = async (name: string, p: Promise<unknown>) => {
      await assert.rejects(p, (err: Error & { code?: string }) => {
        assert.equal(err.code, 'conflict', `${name}: ${err.message}`);
        assert.ok(err.message.includes(`"${CTX_A}"`), `${name}: ${err.message}`);
        assert.ok(err.message.includes('switch to it in Settings'), `${name}: ${err.message}`);
        return true;
      });
    };
    for (const ref of [WEB, QUIET]) {
      await refused(`start ${ref}`, t.agent.dispatch('workload.start', { ref }, local));
      await refused(`stop ${ref}`, t.agent.dispatch('workload.stop', { ref }, local));
      await refused(`restart ${ref}`, t.agent.dispatch('workload.restart', { ref }, local));
      await refused(`logs ${ref}`, t.agent.dispatch('workload.logs', { ref, tail: 10 }, local));
      await refused(`stats ${ref}`, t.agent.dispatch('workload.stats', { ref }, local));
      await refused(
        `follow ${ref}`,
        t.agent.followLogs(ref, 10, () => undefined),
      );
      await refused(
        `delete --volumes ${ref}`,
        t.agent.dispatch('workload.delete', { ref, volumes: true }, local),
      );
    }
    await refused(
      'share',
      t.agent.dispatch('share.create', { workload: WEB, via: 'relay', expires: '1h' }, local),
    );
    // No container was made, started, stopped or removed through engine B.
    const touched = engineB.requests
      .slice(bMark)
      .filter((r) => r.startsWith('POST /containers') || r.startsWith('DELETE'));
    assert.deepEqual(touched, []);
    assert.deepEqual(await containersOnDaemon(), before);
    assert.equal(before[`lattice-${WEB}`].state, 'running');
    assert.equal(before[`lattice-${QUIET}`].state, 'exited');
    const list = byName(await t.agent.dispatch('workload.list', {}, local));
    assert.equal(list[WEB].status, 'elsewhere');
    assert.equal(list[QUIET].status, 'elsewhere');
  });

  it("the hub's inventory (and so the dashboard's All workloads) carries the elsewhere state as reported", async () => {
    const hub = await startTestHub();
    try {
      const token = (await registerUser(hub)).accessToken;
      const { deviceToken } = await pairDevice(hub, token, 'laptop');
      const client = createTRPCClient<HubRouter>({
        links: [httpLink({ url: `${hub.url}/trpc`, headers: { authorization: `Bearer ${token}` } })],
      });
      // What this agent's HubInventory sends: its real views, without credentials.
      const views = await t.agent.dispatch('workload.list', {}, local);
      const agent = await connectFakeAgent(hub, deviceToken);
      agent.send({ type: 'inventory.snapshot', workloads: views.map(inventoryState) });
      await waitFor('the inventory', async () => (await client.workload.list.query()).length === 2);
      const listed = Object.fromEntries((await client.workload.list.query()).map((w) => [w.name, w]));
      assert.equal(listed[WEB].status, 'elsewhere');
      assert.match(listed[WEB].message ?? '', new RegExp(`On Docker engine "${CTX_A}"`));
      assert.equal(listed[WEB].engine?.id, engineA.daemonId);
      agent.ws.close();
    } finally {
      await hub.stop();
    }
  });

  it('a workload deployed on engine B belongs to B', async () => {
    const b = await t.agent.dispatch(
      'workload.deploy',
      { template: 'custom', name: ON_B, image: 'lattice-fixture/nginx:latest' },
      local,
    );
    assert.equal(b.status, 'running');
    assert.equal(b.engine?.id, engineB.daemonId);
  });

  it('back on engine A the rows are as they were: same containers, same data, stopped stays stopped', async () => {
    const before = await containersOnDaemon();
    await t.agent.dispatch('settings.set', { dockerContext: CTX_A }, local);
    const list = byName(await t.agent.dispatch('workload.list', {}, local));
    assert.equal(list[WEB].status, 'running');
    assert.equal(list[WEB].message, undefined);
    assert.equal(list[QUIET].status, 'stopped');
    assert.equal(list[ON_B].status, 'elsewhere');
    assert.match(list[ON_B].message ?? '', new RegExp(`"${CTX_B}"`));
    const after = await containersOnDaemon();
    assert.equal(after[`lattice-${WEB}`].id, webContainer);
    assert.equal(after[`lattice-${QUIET}`].id, stoppedContainer);
    assert.deepEqual(after, before);
    assert.equal((await page('/data.txt')).text.trim(), 'kept-across-engines');
    // And they are managed again.
    const started = await t.agent.dispatch('workload.start', { ref: QUIET }, local);
    assert.equal(started.status, 'running');
    assert.equal((await containersOnDaemon())[`lattice-${QUIET}`].id, stoppedContainer);
    const logs = await t.agent.dispatch('workload.logs', { ref: WEB, tail: 5 }, local);
    assert.ok(Array.isArray(logs.lines));
  });

  it('a row from before engines were recorded belongs to the engine its container is found on', async () => {
    const store = openStore(join(t.dataDir, DB_FILE));
    try {
      const row = store.workloads.byName(WEB)!;
      store.workloads.update(row.id, { engineId: null, engineLabel: null });
      const listed = byName(await t.agent.dispatch('workload.list', {}, local));
      assert.equal(listed[WEB].status, 'running');
      assert.equal(store.workloads.byName(WEB)?.engineId, engineA.daemonId);
      assert.equal(listed[ON_B].status, 'elsewhere', 'a row of engine B is not claimed by A');
    } finally {
      store.close();
    }
  });

  it('another daemon behind the same endpoint (an engine reset) is another engine, and says so', async () => {
    const realA = engineA.daemonId;
    engineA.daemonId = `TEST-ENGINE-A-RESET-${suffix}`;
    try {
      await t.agent.wake();
      const listed = byName(await t.agent.dispatch('workload.list', {}, local));
      assert.equal(listed[WEB].status, 'elsewhere');
      assert.match(listed[WEB].message ?? '', /another daemon answered there \(reset or reinstalled\?\)/);
      await assert.rejects(t.agent.dispatch('workload.start', { ref: QUIET }, local), {
        code: 'conflict',
      });
    } finally {
      engineA.daemonId = realA;
      await t.agent.wake();
    }
    const back = byName(await t.agent.dispatch('workload.list', {}, local));
    assert.equal(back[WEB].status, 'running');
    assert.equal((await containersOnDaemon())[`lattice-${WEB}`].id, webContainer);
  });

  it("another engine's workload can be forgotten (row only): its container and data stay", async () => {
    const result = await t.agent.dispatch('workload.delete', { ref: ON_B, volumes: false }, local);
    assert.equal(result.volumesRemoved, false);
    const list = byName(await t.agent.dispatch('workload.list', {}, local));
    assert.equal(list[ON_B], undefined);
    const left = await containersOnDaemon();
    assert.equal(left[`lattice-${ON_B}`]?.state, 'running', 'its container was not removed');
  });
});
