// The agent starts without Docker, says how to start it, and recovers by itself when the engine
// appears, and again after it goes away and comes back. The engine is reached through a Unix-socket
// proxy this test opens and closes, so the machine's real daemon is never stopped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { AgentEvent } from '../../shared';
import { requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { startTestAgent, type TestAgent } from '../helpers/agent';

const local = { door: 'local' as const };
const sockDir = mkdtempSync(join(tmpdir(), 'lattice-sock-'));
const sockPath = join(sockDir, 'docker.sock');
let proxy: Server | undefined;
const conns = new Set<Socket>();
let t: TestAgent;
const events: AgentEvent[] = [];

function openProxy(): Promise<void> {
  proxy = createServer((client) => {
    const upstream = createConnection('/var/run/docker.sock');
    conns.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  return new Promise((r) => proxy!.listen(sockPath, r));
}

async function closeProxy(): Promise<void> {
  const p = proxy;
  proxy = undefined;
  for (const c of conns) c.destroy();
  conns.clear();
  await new Promise<void>((r) => (p ? p.close(() => r()) : r()));
}

before(async () => {
  await requireFixtureImages('nginx');
  t = await startTestAgent({ docker: { socketPath: sockPath } });
  t.agent.onEvent((e) => events.push(e));
});
after(async () => {
  await closeProxy();
  await t?.cleanup();
  rmSync(sockDir, { recursive: true, force: true });
});

const dockerStatus = () =>
  events.filter((e): e is Extract<AgentEvent, { type: 'docker.status' }> => e.type === 'docker.status').at(-1)
    ?.docker;

describe('Docker availability', () => {
  it('starts without Docker and refuses Docker commands with docker_unavailable', async () => {
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.available, false);
    assert.match(info.docker.message!, /sudo systemctl start docker/);
    await assert.rejects(t.agent.dispatch('workload.deploy', { template: 'postgres' }, local), {
      code: 'docker_unavailable',
    });
  });

  it('recovers by itself when Docker appears, then deploys', async () => {
    await openProxy();
    await waitFor('docker.status available', () => dockerStatus()?.available === true, 60_000);
    const info = await t.agent.dispatch('system.info', {}, local);
    assert.equal(info.docker.available, true);
    assert.ok(info.docker.runcVersion);
    const w = await t.agent.dispatch(
      'workload.deploy',
      {
        template: 'custom',
        name: 'rec-web',
        image: 'lattice-fixture/nginx:latest',
        ports: [{ container: 80 }],
      },
      local,
    );
    assert.equal(w.status, 'running');
  });

  it('notices Docker going away and reconciles when it is back', async () => {
    await closeProxy();
    // The event stream drops with the proxy; the agent probes and reports the engine down.
    await waitFor('docker.status unavailable', () => dockerStatus()?.available === false, 60_000);
    await assert.rejects(t.agent.dispatch('workload.stop', { ref: 'rec-web' }, local), {
      code: 'docker_unavailable',
    });
    await openProxy();
    await waitFor('docker.status available again', () => dockerStatus()?.available === true, 60_000);
    const stopped = await t.agent.dispatch('workload.stop', { ref: 'rec-web' }, local);
    assert.equal(stopped.status, 'stopped');
  });
});
