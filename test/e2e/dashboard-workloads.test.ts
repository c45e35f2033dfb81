// The dashboard's account-wide view in a real browser: a real hub, two real `lattice agent` processes
// with their own data dirs paired into one account, the fixture Postgres image. Deploy on a named
// computer and with Auto (placed where remote deploys have the most memory), see both computers'
// workloads on the All-workloads page with the right computer names, stop one agent and see its
// workload marked offline with its last state and age, queue a stop for it and cancel it, read the
// hub's per-computer reasons when no computer can take a deploy, and see a queued stop run when the
// computer is back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { NodeInfo } from '../../shared';
import { AgentClient } from '../../electron/agent/cli/agent-client';
import { removeLabelled, requireFixtureImages } from '../helpers/docker';
import { runLabels, startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { freePort, waitFor } from '../helpers/net';
import { startTestHub, type TestHub } from '../integration/hub-fixtures';
import {
  ensureRendererBuilt,
  launchBrowser,
  screenshot,
  seriousErrors,
  withFreshPages,
  workloadPageRunning,
} from './browser';

const suffix = Math.random().toString(36).slice(2, 7);
const EMAIL = `fleet-${suffix}@example.com`;
const PASSWORD = 'correct horse battery staple';
const ON_ALPHA = `e2e-named-${suffix}`;
const ON_AUTO = `e2e-auto-${suffix}`;
const MIB = 1024 ** 2;

describe('dashboard: all workloads across two computers', () => {
  const { env, runLabel } = runLabels();
  let hub: TestHub;
  let browser: Browser;
  const agents: Partial<Record<'alpha' | 'beta', AgentProcess>> = {};
  // Each computer's data dir outlives its agent process: alpha is stopped and started again.
  const dirs = {
    alpha: mkdtempSync(join(tmpdir(), 'lattice-e2e-fleet-alpha-')),
    beta: mkdtempSync(join(tmpdir(), 'lattice-e2e-fleet-beta-')),
  };
  const agentEnv = { ...env, LATTICE_LOG_LEVEL: 'warn' };
  let token = '';

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(hub.url + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    assert.ok(res.ok, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  const nodes = () => api<NodeInfo[]>('GET', '/api/nodes');
  const nodeNamed = async (name: string) => (await nodes()).find((n) => n.name === name);

  before(async () => {
    await requireFixtureImages('postgres');
    await ensureRendererBuilt();
    const relayPort = await freePort();
    hub = await startTestHub({ relayPorts: { from: relayPort, to: relayPort }, publicHost: '127.0.0.1' });
    [agents.alpha, agents.beta] = await Promise.all([
      startAgentProcess(dirs.alpha, agentEnv),
      startAgentProcess(dirs.beta, agentEnv),
    ]);
    browser = await launchBrowser();

    // The account and its two computers, paired as `lattice pair` does.
    await api('POST', '/api/auth/register', { email: EMAIL, password: PASSWORD });
    token = (
      await api<{ accessToken: string }>('POST', '/api/auth/login', { email: EMAIL, password: PASSWORD })
    ).accessToken;
    for (const name of ['alpha', 'beta'] as const) {
      const { code } = await api<{ code: string }>('POST', '/api/devices/pairing', {});
      await AgentClient.connect(dirs[name]).command('hub.pair', { hubUrl: hub.url, code, name });
    }
    // Remote deploys on alpha may use 64 MiB: beta has the most memory for them, so Auto picks beta.
    await AgentClient.connect(dirs.alpha).command('settings.set', {
      remoteDeployMemoryCapBytes: '64m',
    });
    await waitFor('both computers online, alpha capped', async () => {
      const list = await nodes();
      const alpha = list.find((n) => n.name === 'alpha');
      const beta = list.find((n) => n.name === 'beta');
      return (
        alpha?.online &&
        beta?.online &&
        alpha.remoteDeployMemoryCapBytes === 64 * MIB &&
        (beta.placeableMemoryBytes ?? 0) > (alpha.placeableMemoryBytes ?? 0)
      );
    });
  });

  after(async () => {
    try {
      await browser?.close();
      await Promise.all(Object.values(agents).map((a) => a?.stop()));
      await hub?.stop();
    } finally {
      // Only this file's agents put this run's label on their containers.
      await removeLabelled(runLabel).catch(() => undefined);
      for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
    }
  });

  test('lists both computers, deploys on a named computer and with Auto, marks the offline one, queues for it until it is back', async () => {
    await withFreshPages(browser, 'dashboard-workloads', async (open) => {
      const { page: dash, errors } = await open(hub.origin);
      const row = (name: string) => dash.locator(`[data-testid="inventory-row"][data-workload="${name}"]`);
      await dash.goto(hub.url);
      await dash.getByTestId('auth-email').fill(EMAIL);
      await dash.getByTestId('auth-password').fill(PASSWORD);
      await dash.getByTestId('auth-submit').click();
      // The landing page is All workloads: both computers known, nothing deployed yet.
      await dash.getByTestId('all-workloads').waitFor();
      await dash.getByTestId('inventory-empty').waitFor();
      await dash.getByTestId('inventory-computers').filter({ hasText: 'alpha online' }).waitFor();
      await dash.getByTestId('inventory-computers').filter({ hasText: 'beta online' }).waitFor();

      // Deploy on a named computer through the target picker.
      await dash.getByTestId('deploy-postgres').click();
      const target = dash.getByTestId('deploy-target').getByLabel('Run on');
      assert.equal(await target.inputValue(), 'auto', 'Auto is the default target');
      const options = await target.locator('option').allTextContents();
      assert.deepEqual(
        options.map((o) => o.split(' — ')[0]),
        ['Auto', 'alpha', 'beta'],
      );
      assert.match(
        options[1],
        /alpha — \d+(\.\d)? (MB|KB) free/,
        'the capped computer offers what its cap leaves',
      );
      await target.selectOption({ label: options[1] });
      await dash.locator('input[data-field="name"]').fill(ON_ALPHA);
      await dash.getByTestId('deploy-submit').click();
      await dash.locator(`[data-testid="device-view"][data-device="alpha"]`).waitFor();
      await dash.locator(`[data-testid="workload-page"][data-workload="${ON_ALPHA}"]`).waitFor();
      await workloadPageRunning(dash);

      // Deploy with Auto, shared when ready through the hub's relay: it lands on beta, the computer
      // with the most memory for remote deploys.
      await dash.getByTestId('nav-workloads').click();
      await dash.getByTestId('deploy-postgres').click();
      await dash.locator('input[data-field="name"]').fill(ON_AUTO);
      await dash.getByTestId('deploy-share').check();
      await dash.getByLabel('Via').selectOption('relay');
      await dash.getByLabel('Expires after').selectOption('1h');
      await dash.getByTestId('deploy-submit').click();
      await dash.locator(`[data-testid="workload-page"][data-workload="${ON_AUTO}"]`).waitFor();
      assert.equal(
        await dash.getByTestId('device-view').getAttribute('data-device'),
        'beta',
        'Auto placed the deploy on beta',
      );
      await workloadPageRunning(dash);
      // The share was opened with the deploy: its string works in psql, a client we did not write.
      const share = dash.locator('[data-testid="share-list"] li[data-status="active"]');
      await share.waitFor();
      assert.match((await share.getByTestId('share-time-left').textContent()) ?? '', / min left$/);
      const connection = ((await share.getByTestId('share-connection-string').textContent()) ?? '').trim();
      assert.match(connection, /^postgres(ql)?:\/\/.+@127\.0\.0\.1:\d+\//);
      const psql = await promisify(execFile)('psql', ['-X', '-At', '-c', 'select 40 + 2', connection], {
        timeout: 30_000,
      });
      assert.equal(psql.stdout.trim(), '42');

      // All workloads: both, each with its computer, both online and running.
      await dash.getByTestId('nav-workloads').click();
      await dash
        .locator(`[data-testid="inventory-row"][data-workload="${ON_AUTO}"][data-status="running"]`)
        .waitFor();
      await dash
        .locator(`[data-testid="inventory-row"][data-workload="${ON_ALPHA}"][data-status="running"]`)
        .waitFor();
      assert.equal(await row(ON_ALPHA).getAttribute('data-node'), 'alpha');
      assert.equal(await row(ON_AUTO).getAttribute('data-node'), 'beta');
      assert.equal((await row(ON_ALPHA).getByTestId('inventory-node').textContent())?.trim(), 'alpha');
      assert.equal((await row(ON_AUTO).getByTestId('inventory-node').textContent())?.trim(), 'beta');
      assert.equal(await row(ON_ALPHA).getByTestId('inventory-offline').count(), 0);
      // The hub agrees on where each one runs.
      const listed = await api<{ name: string; node: { name: string } }[]>('GET', '/api/workloads');
      assert.deepEqual(
        listed
          .filter((w) => w.name.endsWith(suffix))
          .map((w) => `${w.node.name}/${w.name}`)
          .sort(),
        [`alpha/${ON_ALPHA}`, `beta/${ON_AUTO}`],
      );

      // alpha's agent stops: its workload stays listed, marked offline, with its last state and age.
      await agents.alpha!.stop();
      await dash
        .locator(`[data-testid="inventory-row"][data-workload="${ON_ALPHA}"][data-online="false"]`)
        .waitFor();
      await row(ON_ALPHA).getByTestId('inventory-offline').waitFor();
      assert.equal(await row(ON_ALPHA).getAttribute('data-status'), 'running', 'the last known state stays');
      assert.match(
        (await row(ON_ALPHA).getByTestId('inventory-age').textContent()) ?? '',
        /last known, reported .+ ago/,
      );
      assert.equal(await row(ON_AUTO).getAttribute('data-online'), 'true', 'beta is still online');
      // Online actions are for online computers; an offline one offers an explicit queued command.
      assert.equal(await row(ON_ALPHA).getByTestId('inventory-stop').count(), 0);
      await row(ON_AUTO).getByTestId('inventory-stop').waitFor();
      await screenshot(dash, 'dashboard-workloads');

      // Queue a stop for alpha: visible on its row and in the queue, then cancelled.
      await row(ON_ALPHA).getByTestId('inventory-queue-stop').click();
      await dash.getByTestId('queue-dialog').getByTestId('confirm-queue').click();
      await row(ON_ALPHA).getByTestId('inventory-queued').filter({ hasText: 'stop queued' }).waitFor();
      await dash.locator('[data-testid="queued-command"][data-status="pending"]').waitFor();
      const pending = await api<{ id: string; name: string; nodeName: string }[]>(
        'GET',
        '/api/queue?status=pending',
      );
      assert.deepEqual(
        pending.map((c) => `${c.nodeName} ${c.name}`),
        ['alpha workload.stop'],
      );
      await row(ON_ALPHA).getByTestId('queued-cancel').click();
      await dash.locator('[data-testid="queued-command"][data-status="cancelled"]').waitFor();
      await row(ON_ALPHA).getByTestId('inventory-queued').waitFor({ state: 'detached' });
      assert.deepEqual(await api('GET', '/api/queue?status=pending'), []);

      // An offline target is named on the form; with no computer that fits, the hub says why for each.
      await AgentClient.connect(dirs.beta).command('settings.set', { allowRemoteDeploy: false });
      await waitFor(
        'beta refuses remote deploys',
        async () => (await nodeNamed('beta'))?.allowsRemoteDeploy === false,
      );
      await dash.getByTestId('deploy-postgres').click();
      const picker = dash.getByTestId('deploy-target').getByLabel('Run on');
      await picker.selectOption({
        label: (await picker.locator('option', { hasText: 'alpha' }).textContent())!,
      });
      await dash.getByTestId('deploy-submit').click();
      await dash.getByTestId('error-target').filter({ hasText: '"alpha" is offline' }).waitFor();
      await picker.selectOption('auto');
      await dash.getByTestId('deploy-submit').click();
      const reasons = dash.getByTestId('placement-reasons');
      await reasons.waitFor();
      const lines = await reasons.locator('li').allTextContents();
      assert.deepEqual(lines, ['alpha: offline', 'beta: does not allow remote deploys']);
      await screenshot(dash, 'dashboard-deploy-target');

      // A stop queued for alpha runs when alpha is back; its result and the new state reach the page.
      await dash.getByTestId('nav-workloads').click();
      await row(ON_ALPHA).getByTestId('inventory-queue-stop').click();
      await dash.getByTestId('queue-dialog').getByTestId('confirm-queue').click();
      await row(ON_ALPHA).getByTestId('inventory-queued').filter({ hasText: 'stop queued' }).waitFor();
      agents.alpha = await startAgentProcess(dirs.alpha, agentEnv);
      await dash
        .locator(
          `[data-testid="inventory-row"][data-workload="${ON_ALPHA}"][data-online="true"][data-status="stopped"]`,
        )
        .waitFor();
      await dash.locator('[data-testid="queued-command"][data-status="done"]').waitFor();
      await row(ON_ALPHA).getByTestId('inventory-queued').waitFor({ state: 'detached' });
      await row(ON_ALPHA).getByTestId('inventory-start').waitFor();
      assert.deepEqual(seriousErrors(errors), [], 'no script errors or CSP violations on the dashboard');
    });
  });
});
