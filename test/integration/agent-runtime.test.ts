// startAgentRuntime, the one start path of the tray app and the headless agent: a second agent on
// the same data directory is refused while the first answers; the first one's local API is the door
// the CLI finds; once it is closed, the data directory can be served again. Real agent, real SQLite.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_FILES, LOCAL_API, LatticeError } from '../../shared';
import { startAgentRuntime, type AgentRuntime } from '../../electron/agent';
import { fixtureEnv, removeLabelled, requireDocker } from '../helpers/docker';
import { runLabels, startAgentProcess } from '../helpers/agent-process';

describe('startAgentRuntime', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-runtime-'));
  const env = { ...process.env, ...fixtureEnv(), LATTICE_LOG_LEVEL: 'warn' };
  const runtimes: AgentRuntime[] = [];
  const owners = new Set<string>();
  const start = async () => {
    const runtime = await startAgentRuntime({ dataDir, env, apiPort: 0 });
    runtimes.push(runtime);
    owners.add(runtime.agent.ownerId);
    return runtime;
  };

  after(async () => {
    for (const r of runtimes) await r.close().catch(() => undefined);
    for (const owner of owners) await removeLabelled(`lattice.owner=${owner}`).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('refuses a second agent on the same data directory, and starts once the first has stopped', async () => {
    await requireDocker();
    // The first agent is another process, as a second `lattice agent` or a second app would meet it.
    const { env: processEnv, runLabel } = runLabels();
    const first = await startAgentProcess(dataDir, { ...processEnv, LATTICE_LOG_LEVEL: 'warn' });
    try {
      const running = JSON.parse(readFileSync(join(dataDir, DATA_FILES.running), 'utf8')) as { url: string };
      assert.equal(running.url, first.url);
      await assert.rejects(start(), (err: unknown) => {
        assert.ok(err instanceof LatticeError);
        assert.equal(err.code, 'conflict');
        assert.match(err.message, /already running/);
        assert.ok(err.message.includes(dataDir), 'the message names the data directory');
        assert.ok(err.message.includes(String(first.pid)), 'and the pid of the running agent');
        return true;
      });
      // The refused start touched nothing: the first agent still answers.
      assert.equal((await fetch(new URL(LOCAL_API.health, first.url))).status, 200);
    } finally {
      assert.equal(await first.stop(), 0, first.log());
      await removeLabelled(runLabel).catch(() => undefined);
    }
    // Its running file is gone (or names a dead agent): this data directory can be served again.
    const second = await start();
    assert.ok(second.api, 'the local API is up');
    assert.equal((await fetch(new URL(LOCAL_API.health, second.api.url))).status, 200);
    await second.close();
    await second.close(); // idempotent
  });

  test('a taken API port fails the headless start with port_taken and leaves no agent behind', async () => {
    const first = await start();
    const port = first.api!.port;
    const otherDir = mkdtempSync(join(tmpdir(), 'lattice-runtime-'));
    try {
      await assert.rejects(startAgentRuntime({ dataDir: otherDir, env, apiPort: port }), (err: unknown) => {
        assert.ok(err instanceof LatticeError);
        assert.equal(err.code, 'port_taken');
        assert.ok(err.message.includes(String(port)));
        return true;
      });
      // With onApiFailure 'continue' (the app), the agent runs without the API and says why.
      const errors: Error[] = [];
      const app = await startAgentRuntime({
        dataDir: otherDir,
        env,
        apiPort: port,
        onApiFailure: 'continue',
        onApiError: (e) => errors.push(e),
      });
      runtimes.push(app);
      owners.add(app.agent.ownerId);
      assert.equal(app.api, undefined);
      assert.equal(errors.length, 1);
      assert.match(errors[0].message, /taken/);
      const info = await app.agent.dispatch('system.info', {}, { door: 'local' });
      assert.equal(info.dataDir, otherDir);
      await app.close();
    } finally {
      await first.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
