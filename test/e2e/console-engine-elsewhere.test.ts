// A workload of another Docker engine, as a person sees it: after switching engines in Settings, the
// console shows it "on another engine" (not missing), its actions disabled with the engine named, its
// share panel and logs saying where it is, `lattice ls` says `elsewhere` and names the engine; back on
// its engine it is running again, live, without a reload.
// The two contexts go through EngineIdentityProxy (test/helpers/engine-identity-proxy.ts): the real
// daemon, with another daemon ID in `GET /info` per context — see docker-engine-identity.test.ts for
// why the engine is known by its daemon ID and how that stands in for a second dockerd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_API } from '../../shared';
import { requireFixtureImages } from '../helpers/docker';
import { EngineIdentityProxy } from '../helpers/engine-identity-proxy';
import { waitFor } from '../helpers/net';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import { screenshot, seriousErrors, withFreshPages } from './browser';
import { runCli } from './processes';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'lattice-e2e-elsewhere-'));
const dockerConfig = join(dir, 'docker-config');
const CTX_A = `e2e-ea-${process.pid}`;
const CTX_B = `e2e-eb-${process.pid}`;
const engineA = new EngineIdentityProxy(join(dir, 'engine-a.sock'), `E2E-ENGINE-A-${process.pid}`);
const engineB = new EngineIdentityProxy(join(dir, 'engine-b.sock'), `E2E-ENGINE-B-${process.pid}`);
// Container names are the daemon's, shared with every other test run: this one carries the pid.
const NAME = `e2e-away-${process.pid}`;
let agentAndBrowser: AgentAndBrowser | undefined;

const docker = (...args: string[]) =>
  run('docker', args, { env: { ...process.env, DOCKER_CONFIG: dockerConfig, DOCKER_HOST: '' } });

/** A command through the agent's local API, as the CLI sends it. */
async function command<T>(name: string, args: unknown): Promise<T> {
  const { agent } = agentAndBrowser!;
  const res = await fetch(`${agent.origin}${LOCAL_API.command(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent.apiToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const body = (await res.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${name}: ${body.error?.message}`);
  return body.value as T;
}

before(async () => {
  await requireFixtureImages('nginx');
  mkdirSync(dockerConfig);
  await engineA.listen();
  await engineB.listen();
  await docker('context', 'create', CTX_A, '--docker', `host=unix://${engineA.path}`);
  await docker('context', 'create', CTX_B, '--docker', `host=unix://${engineB.path}`);
  await docker('context', 'use', CTX_A);
});

after(async () => {
  if (agentAndBrowser) {
    await command('settings.set', { dockerContext: CTX_A }).catch(() => undefined);
    await command('workload.delete', { ref: NAME, volumes: true }).catch(() => undefined);
    await agentAndBrowser.stop();
  }
  await engineA.close();
  await engineB.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a workload of another engine shows "on another engine" with its actions off, and comes back', async () => {
  agentAndBrowser = await startAgentAndBrowser([], {
    DOCKER_CONFIG: dockerConfig,
    DOCKER_HOST: '',
    DOCKER_CONTEXT: '',
  });
  const { agent, browser } = agentAndBrowser;
  await command('workload.deploy', {
    template: 'custom',
    name: NAME,
    image: 'lattice-fixture/nginx:latest',
    ports: [{ container: 80 }],
  });
  await withFreshPages(browser, 'console-engine-elsewhere', async (open) => {
    const { page, errors } = await open(agent.origin);
    await page.goto(agent.loginUrl);
    await page.goto(`${agent.origin}/#/`);
    const card = page.getByTestId(`workload-${NAME}`);
    await card.waitFor({ state: 'visible' });
    await waitFor(
      'running on engine A',
      async () => (await card.getAttribute('data-status')) === 'running',
      15_000,
    );

    await command('settings.set', { dockerContext: CTX_B });
    // Live: the console hears the switch without a reload.
    await waitFor(
      'shown on another engine',
      async () => (await card.getAttribute('data-status')) === 'elsewhere',
      15_000,
    );
    assert.equal((await card.getByTestId('workload-status').textContent())?.trim(), 'on another engine');
    const start = card.getByTestId('action-start');
    assert.equal(await start.isDisabled(), true);
    assert.match((await start.getAttribute('title')) ?? '', new RegExp(`On Docker engine "${CTX_A}"`));
    assert.match(
      await card.innerText(),
      new RegExp(`On Docker engine "${CTX_A}" \\(unix://\\S+engine-a\\.sock\\); switch to it in Settings`),
    );
    assert.match(await card.getByTestId('actions-elsewhere').innerText(), /work on that engine only/);
    assert.equal(await card.getByTestId('action-delete').innerText(), 'Forget');
    assert.equal(await card.getByTestId('action-stop').count(), 0);
    await screenshot(page, 'engine-elsewhere-list');

    await page.goto(`${agent.origin}/#/workloads/${NAME}`);
    await page.getByTestId('workload-page').waitFor({ state: 'visible' });
    assert.match(await page.getByTestId('share-elsewhere').innerText(), new RegExp(`"${CTX_A}"`));
    assert.match(await page.getByTestId('logs-elsewhere').innerText(), new RegExp(`"${CTX_A}"`));
    await page.getByTestId('action-delete').click();
    assert.match(
      await page.getByTestId('delete-dialog').innerText(),
      /container and data stay untouched on its Docker engine/,
    );
    assert.equal(await page.getByTestId('delete-volumes').count(), 0);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await screenshot(page, 'engine-elsewhere-page');

    // The CLI says the same.
    const ls = await runCli(['ls', '--data-dir', agent.dataDir]);
    assert.match(ls, new RegExp(`^${NAME}\\s+custom\\s+elsewhere\\s`, 'm'));
    assert.match(ls, new RegExp(`elsewhere: ${NAME} on Docker engine "${CTX_A}"`));

    await command('settings.set', { dockerContext: CTX_A });
    const status = page.getByTestId('workload-status');
    await waitFor(
      'running again on engine A',
      async () => (await status.getAttribute('data-status')) === 'running',
      15_000,
    );
    assert.equal(await page.getByTestId('logs-elsewhere').count(), 0);
    assert.deepEqual(seriousErrors(errors), []);
  });
});
