// Docker not running, as a person meets it: the agent starts anyway, the console says so plainly and
// deploys fail with a clear reason; when Docker comes up the banner goes away by itself, no reload.
// "Docker" here is a socket that first has no listener, then forwards to the real engine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireDocker } from '../helpers/docker';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import { screenshot, withFreshPages } from './browser';

const REAL_SOCKET = '/var/run/docker.sock';
let sockDir: string;
let agentAndBrowser: AgentAndBrowser | undefined;
let proxy: Server | undefined;

before(async () => {
  await requireDocker();
  sockDir = mkdtempSync(join(tmpdir(), 'lattice-nodocker-'));
});

after(async () => {
  await agentAndBrowser?.stop();
  await new Promise((r) => (proxy ? proxy.close(r) : r(undefined)));
  rmSync(sockDir, { recursive: true, force: true });
});

test('Docker down: the console says so, a deploy fails clearly; Docker up: the banner clears by itself', async () => {
  const socket = join(sockDir, 'docker.sock');
  agentAndBrowser = await startAgentAndBrowser([], { DOCKER_HOST: `unix://${socket}` });
  const { agent, browser } = agentAndBrowser;
  await withFreshPages(browser, 'console-docker-down', async (open) => {
    const { page } = await open(agent.origin);
    await page.goto(agent.loginUrl);
    const banner = page.getByTestId('banner-docker');
    await banner.waitFor({ state: 'visible' });
    const text = await banner.innerText();
    assert.equal(text.match(/Docker is not running/g)?.length, 1, text);
    assert.match(text, /systemctl start docker|Docker Desktop/);
    await screenshot(page, 'docker-not-running');

    // The API a deploy goes through answers at once with the reason, and nothing is half-made.
    const res = await page.evaluate(async () => {
      const r = await fetch('/api/commands/workload.deploy', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ template: 'postgres', name: 'never-made' }),
      });
      return { status: r.status, body: (await r.json()) as { error: { code: string } } };
    });
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'docker_unavailable');

    // Docker comes up: the agent notices on its own (backoff probe) and the console follows its event.
    proxy = createServer((client) => {
      const engine = createConnection(REAL_SOCKET);
      client.pipe(engine).pipe(client);
      const close = () => {
        client.destroy();
        engine.destroy();
      };
      client.on('error', close);
      engine.on('error', close);
    });
    await new Promise<void>((r) => proxy!.listen(socket, r));
    await banner.waitFor({ state: 'hidden', timeout: 60_000 });
    const list = await page.evaluate(async () => {
      const r = await fetch('/api/commands/workload.list', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      return r.json();
    });
    assert.deepEqual(list, { ok: true, value: [] });
  });
});
