// Picking the Docker engine in Settings, as a person does: the console lists the docker contexts the
// real `docker` CLI made (in a temporary DOCKER_CONFIG, no DOCKER_HOST), says which engine is in use
// and how it was found, and a click on another context moves the agent there without a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireDocker } from '../helpers/docker';
import { EngineForwarder } from '../helpers/engine-forwarder';
import { waitFor } from '../helpers/net';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import { screenshot, seriousErrors, withFreshPages } from './browser';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'lattice-e2e-contexts-'));
const dockerConfig = join(dir, 'docker-config');
const CTX_A = `e2e-a-${process.pid}`;
const CTX_B = `e2e-b-${process.pid}`;
const engineA = new EngineForwarder(join(dir, 'engine-a.sock'));
const engineB = new EngineForwarder(join(dir, 'engine-b.sock'));
let agentAndBrowser: AgentAndBrowser | undefined;

const docker = (...args: string[]) =>
  run('docker', args, { env: { ...process.env, DOCKER_CONFIG: dockerConfig, DOCKER_HOST: '' } });

before(async () => {
  await requireDocker();
  mkdirSync(dockerConfig);
  await engineA.listen();
  await engineB.listen();
  await docker('context', 'create', CTX_A, '--docker', `host=unix://${engineA.path}`);
  await docker(
    'context',
    'create',
    CTX_B,
    '--description',
    'the other one',
    '--docker',
    `host=unix://${engineB.path}`,
  );
  await docker('context', 'use', CTX_A);
});

after(async () => {
  await agentAndBrowser?.stop();
  await engineA.close();
  await engineB.close();
  rmSync(dir, { recursive: true, force: true });
});

test('Settings shows the engine and how it was found, lists the contexts, and switching one reconnects', async () => {
  // An empty DOCKER_HOST counts as unset, for the docker CLI and for the agent.
  agentAndBrowser = await startAgentAndBrowser([], {
    DOCKER_CONFIG: dockerConfig,
    DOCKER_HOST: '',
    DOCKER_CONTEXT: '',
  });
  const { agent, browser } = agentAndBrowser;
  assert.match(
    agent.output(),
    new RegExp(
      `(?:^|\n)Docker engine: unix://\\S+engine-a\\.sock \\(context "${CTX_A}"; found through currentContext`,
    ),
  );
  await withFreshPages(browser, 'console-docker-contexts', async (open) => {
    const { page, errors } = await open(agent.origin);
    await page.goto(agent.loginUrl);
    await page.goto(`${agent.origin}/#/settings`);
    const host = page.getByTestId('docker-engine-host');
    await host.waitFor({ state: 'visible' });
    assert.equal(await host.innerText(), `unix://${engineA.path}`);
    assert.equal(await page.getByTestId('docker-engine-context').innerText(), CTX_A);
    assert.match(
      await page.getByTestId('docker-engine-how').innerText(),
      new RegExp(`currentContext "${CTX_A}" in .*config\\.json`),
    );
    assert.match(
      await page.getByTestId('system-docker').innerText(),
      new RegExp(`at unix://\\S+engine-a\\.sock, context ${CTX_A}`),
    );

    const contexts = page.getByTestId('docker-contexts');
    assert.match(
      await contexts.innerText(),
      new RegExp(`${CTX_A}[\\s\\S]*the docker CLI's current context`, 'i'),
    );
    assert.match(await contexts.innerText(), /the other one/);
    assert.equal(await page.getByTestId('docker-context-auto').isChecked(), true);
    await screenshot(page, 'docker-contexts-before');

    const bMark = engineB.requests.length;
    // Controlled by the saved settings: the radio turns on when the agent has switched.
    await page.getByTestId(`docker-context-${CTX_B}`).click();
    await waitFor(
      'engine B shown in Settings',
      async () => (await host.innerText()) === `unix://${engineB.path}`,
      15_000,
    );
    assert.match(
      await page.getByTestId('docker-engine-how').innerText(),
      new RegExp(`context "${CTX_B}" picked in Lattice's settings`),
    );
    assert.equal(await page.getByTestId(`docker-context-${CTX_B}`).isChecked(), true);
    // The agent really moved: it follows engine B's event stream now (no restart, same process).
    await waitFor(
      'requests through engine B',
      () => engineB.requests.slice(bMark).includes('GET /events'),
      15_000,
    );
    assert.equal(agent.child.exitCode, null);
    await screenshot(page, 'docker-contexts-switched');

    // A malformed host is refused with the field marked, and the engine stays where it is.
    await page.getByTestId('docker-host-input').fill('localhost:2375');
    await page.getByRole('button', { name: 'Use this host' }).click();
    await page.locator('.field-invalid #docker-host').waitFor({ state: 'visible' });
    assert.equal(await host.innerText(), `unix://${engineB.path}`);

    assert.deepEqual(seriousErrors(errors), []);
  });
});
