// The remote path end to end: a real hub and a real `lattice agent` process (Docker, fixture images).
// Register, pair the agent with `lattice pair`, deploy Postgres through the hub, watch its events on
// the dashboard socket, stop it remotely and check the agent agrees; then break the link (agent
// frozen: the hub's heartbeat notices) and restart the hub (the agent reconnects by itself).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { AuthResponse, Device, Result, Workload } from '../../shared';
import { AgentClient } from '../../electron/agent/cli/agent-client';
import { fixtureEnv, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { lattice, startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { api, closed, connectDashboard, registerUser, startTestHub, type TestHub } from './hub-fixtures';

const WORKLOAD = 'hub-agent-pg';
const HEARTBEAT_MS = 1000;
const env = () => ({ ...fixtureEnv(), LATTICE_LOG_LEVEL: 'warn' });

describe('hub ↔ real agent', () => {
  let docker: Docker;
  let hubDir: string;
  let agentDir: string;
  let hub: TestHub;
  let agentProc: AgentProcess | undefined;
  let user: AuthResponse;
  let deviceId: string;
  let client: AgentClient;

  const command = (id: string, name: string, args: unknown) =>
    api<Result<unknown>>(hub, 'POST', `/api/devices/${deviceId}/commands`, {
      token: user.accessToken,
      body: { id, name, args },
    });
  const devices = async () =>
    (await api<Device[]>(hub, 'GET', '/api/devices', { token: user.accessToken })).body;
  const startHubHere = (port = 0) =>
    startTestHub({
      dataDir: hubDir,
      port,
      heartbeatMs: HEARTBEAT_MS,
      commandTimeoutMs: (n) => (n === 'workload.deploy' ? 120_000 : 60_000),
    });

  before(async () => {
    docker = await requireFixtureImages('postgres');
    hubDir = mkdtempSync(join(tmpdir(), 'lattice-hub-it-'));
    agentDir = mkdtempSync(join(tmpdir(), 'lattice-agent-it-'));
    hub = await startHubHere();
    agentProc = await startAgentProcess(agentDir, env());
    client = AgentClient.connect(agentDir);
    user = await registerUser(hub);
  });

  after(async () => {
    try {
      await client?.command('workload.delete', { ref: WORKLOAD, volumes: true }).catch(() => undefined);
    } finally {
      if (agentProc?.child.exitCode === null) {
        agentProc.child.kill('SIGCONT');
        const exited = new Promise((r) => agentProc!.child.once('exit', r));
        agentProc.child.kill('SIGTERM');
        const force = setTimeout(() => agentProc!.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(force);
      }
      // Whatever the agent did not get to delete: only this test's workload, never other tests'.
      const left = await docker.listContainers({
        all: true,
        filters: { name: [WORKLOAD], label: ['lattice.test'] },
      });
      await Promise.all(
        left.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined),
        ),
      );
      const { Volumes } = await docker.listVolumes({ filters: { label: ['lattice.test'] } });
      await Promise.all(
        (Volumes ?? [])
          .filter((v) => v.Name.includes(WORKLOAD))
          .map((v) =>
            docker
              .getVolume(v.Name)
              .remove({ force: true })
              .catch(() => undefined),
          ),
      );
      await hub?.close();
      rmSync(hubDir, { recursive: true, force: true });
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  test('pair with `lattice pair`: the device is listed and online', async () => {
    const code = await api<{ code: string; expiresAt: string }>(hub, 'POST', '/api/devices/pairing', {
      token: user.accessToken,
    });
    assert.equal(code.status, 201);
    const paired = await lattice([
      'pair',
      '--hub',
      hub.url,
      '--code',
      code.body.code,
      '--name',
      'it-box',
      '--data-dir',
      agentDir,
      '--json',
    ]);
    assert.equal(paired.code, 0, paired.stderr);
    deviceId = (JSON.parse(paired.stdout) as { deviceId: string }).deviceId;
    const online = await waitFor('the device online', async () => {
      const list = await devices();
      return list.length === 1 && list[0].online && list[0];
    });
    assert.equal(online.id, deviceId);
    assert.equal(online.name, 'it-box');
    // The same code does not pair twice.
    const again = await lattice(['pair', '--hub', hub.url, '--code', code.body.code, '--data-dir', agentDir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /pairing code/i);
  });

  test('deploy Postgres through the hub; the dashboard sees its events; stop it remotely', async () => {
    const dash = await connectDashboard(hub, user.accessToken);
    try {
      const deployed = await command('remote-deploy-1', 'workload.deploy', {
        template: 'postgres',
        name: WORKLOAD,
      });
      assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
      assert.ok(deployed.body.ok);
      const workload = deployed.body.value as Workload;
      assert.equal(workload.name, WORKLOAD);
      assert.equal(workload.status, 'running');

      await waitFor('workload.changed on the dashboard', () =>
        dash.events.some(
          (e) =>
            e.type === 'device.event' &&
            e.deviceId === deviceId &&
            e.event.type === 'workload.changed' &&
            e.event.workload.name === WORKLOAD,
        ),
      );

      // The same id again: the stored result, no second deploy.
      const replay = await command('remote-deploy-1', 'workload.deploy', {
        template: 'postgres',
        name: WORKLOAD,
      });
      assert.deepEqual(replay.body, deployed.body);
      // …answered by the agent's own replay: the hub keeps the result without its credentials.
      assert.ok(workload.password, 'the live answer carries the generated password');
      for (const file of ['hub.db', 'hub.db-wal']) {
        const path = join(hubDir, file);
        if (existsSync(path))
          assert.ok(!readFileSync(path).includes(workload.password), `${file} holds the deploy's password`);
      }

      const stopped = await command('remote-stop-1', 'workload.stop', { ref: WORKLOAD });
      assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
      assert.equal(stopped.body.ok && (stopped.body.value as Workload).status, 'stopped');
      await waitFor('the stopped status on the dashboard', () =>
        dash.events.some(
          (e) =>
            e.type === 'device.event' &&
            e.event.type === 'workload.changed' &&
            e.event.workload.name === WORKLOAD &&
            e.event.workload.status === 'stopped',
        ),
      );
    } finally {
      dash.ws.close();
      await closed(dash.ws);
    }

    // The agent itself agrees, through its local API and through `lattice ls --json`.
    const local = await client.command('workload.list', {});
    assert.equal(local.filter((w) => w.name === WORKLOAD).length, 1, 'deployed once');
    assert.equal(local.find((w) => w.name === WORKLOAD)?.status, 'stopped');
    const ls = await lattice(['ls', '--json', '--data-dir', agentDir]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal((JSON.parse(ls.stdout) as Workload[]).find((w) => w.name === WORKLOAD)?.status, 'stopped');

    // The relayed commands are in the audit log.
    const audit = await api<{ commandId: string; commandName: string; ok: boolean }[]>(
      hub,
      'GET',
      '/api/audit',
      {
        token: user.accessToken,
      },
    );
    const ids = audit.body.map((e) => `${e.commandName}:${e.commandId}:${e.ok}`);
    assert.ok(ids.includes('workload.deploy:remote-deploy-1:true'));
    assert.ok(ids.includes('workload.stop:remote-stop-1:true'));
  });

  test('a frozen agent goes offline within a heartbeat and commands fail fast; it comes back on its own', async () => {
    const dash = await connectDashboard(hub, user.accessToken);
    const child = agentProc!.child;
    child.kill('SIGSTOP');
    try {
      await waitFor('the hub to notice the silent agent', async () => !(await devices())[0].online, 15_000);
      assert.ok(dash.events.some((e) => e.type === 'presence' && e.deviceId === deviceId && !e.online));
      const res = await command('while-frozen-1', 'workload.list', {});
      assert.equal(res.status, 503);
      assert.equal(!res.body.ok && res.body.error.code, 'device_offline');
    } finally {
      child.kill('SIGCONT');
    }
    await waitFor('the agent to reconnect', async () => (await devices())[0].online, 40_000);
    const res = await command('after-thaw-1', 'workload.list', {});
    assert.equal(res.status, 200);
    dash.ws.close();
    await closed(dash.ws);
  });

  test('the agent reconnects by itself when the hub restarts on the same port and data dir', async () => {
    const port = hub.port;
    await hub.close();
    const down = await fetch(`http://127.0.0.1:${port}/api/health`).catch(() => undefined);
    assert.equal(down, undefined, 'the hub is down');
    hub = await startHubHere(port);
    await waitFor('the agent back online', async () => (await devices())[0]?.online, 60_000);
    const res = await command('after-restart-1', 'workload.list', {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(
      res.body.ok && (res.body.value as Workload[]).find((w) => w.name === WORKLOAD)?.status,
      'stopped',
    );
    // Idempotency survives the restart: an old id returns its stored result.
    const replay = await command('remote-stop-1', 'workload.stop', { ref: WORKLOAD });
    assert.equal(replay.status, 200);
  });
});
