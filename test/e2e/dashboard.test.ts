// The remote dashboard in a real browser against a real hub and a real agent process: register,
// create a pairing code, pair the agent from its console's settings, see it online, deploy and stop a
// workload through the hub; the CLI and the local console (without a reload) see the same state.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { removeLabelled, requireFixtureImages } from '../helpers/docker';
import { startTestHub, type TestHub } from '../integration/hub-fixtures';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import { screenshot, seriousErrors, withFreshPages, workloadPageRunning } from './browser';
import { runCli } from './processes';

const suffix = Math.random().toString(36).slice(2, 7);
const PG_NAME = `e2e-remote-${suffix}`;
const DEVICE_NAME = `e2e-laptop-${suffix}`;

describe('remote dashboard', () => {
  let hub: TestHub;
  let agentAndBrowser: AgentAndBrowser;

  before(async () => {
    await requireFixtureImages('postgres');
    hub = await startTestHub();
    agentAndBrowser = await startAgentAndBrowser();
  });

  after(async () => {
    await agentAndBrowser?.stop();
    await hub?.stop();
    await removeLabelled(`lattice.name=${PG_NAME}`).catch(() => undefined);
  });

  test('register, pair, see the device online, deploy and stop remotely; CLI and console agree', async () => {
    const { agent, browser } = agentAndBrowser;
    await withFreshPages(browser, 'dashboard', async (open) => {
      const { page: dash, errors } = await open(hub.origin);
      await dash.goto(hub.url);
      await dash.getByTestId('auth-form').waitFor();

      // Register.
      await dash.getByTestId('auth-mode-register').click();
      await dash.getByTestId('auth-email').fill(`owner-${suffix}@example.com`);
      await dash.getByTestId('auth-password').fill('short');
      await dash.getByTestId('auth-submit').click();
      await dash.getByText('must be at least 10 characters').waitFor();
      await dash.getByTestId('auth-password').fill('correct horse battery staple');
      await dash.getByTestId('auth-submit').click();
      await dash
        .getByTestId('hub-user')
        .filter({ hasText: `owner-${suffix}@example.com` })
        .waitFor();
      // The landing page is All workloads; with no computer yet it points to pairing one.
      await dash.getByTestId('inventory-no-computers').waitFor();
      await dash.getByTestId('nav-devices').click();
      await dash.getByTestId('devices-empty').waitFor();

      // A pairing code, shown with the command to run.
      await dash.getByTestId('pairing-create').click();
      const code = ((await dash.getByTestId('pairing-code').textContent()) ?? '').trim();
      assert.ok(code.length >= 4, 'a pairing code is shown');
      const command = (await dash.getByTestId('pairing-command').textContent()) ?? '';
      assert.equal(command.trim(), `lattice pair --hub ${new URL(hub.url).origin} --code ${code}`);

      // Pair from the local console's settings, as the owner at that computer would. The console page
      // stays open for the rest of the test; a marker proves it is never reloaded.
      const { page: consolePage } = await open(agent.origin);
      await consolePage.goto(agent.loginUrl);
      await consolePage.getByTestId('template-gallery').waitFor();
      await consolePage.evaluate('window.__noReload = true');
      await consolePage.getByTestId('nav-settings').click();
      await consolePage.getByLabel('Hub URL').fill(hub.url);
      await consolePage.getByLabel('Pairing code').fill(code);
      await consolePage.getByLabel('Computer name (optional)').fill(DEVICE_NAME);
      await consolePage.getByTestId('pair-submit').click();
      await consolePage.getByTestId('hub-paired').waitFor();

      // The device appears, online, without a reload.
      const device = dash.getByTestId(`device-${DEVICE_NAME}`);
      await device.waitFor();
      await dash.locator(`[data-testid="device-${DEVICE_NAME}"][data-online="true"]`).waitFor();
      await screenshot(dash, 'dashboard');

      // Open its workloads: empty, with the gallery.
      await device.getByRole('link').click();
      await dash.getByTestId('device-view').waitFor();
      await dash.getByTestId('workloads-empty').waitFor();

      // Deploy Postgres through the hub, with the same form as the console.
      await dash.getByTestId('deploy-postgres').click();
      await dash.locator('input[data-field="name"]').fill(PG_NAME);
      await dash.getByTestId('deploy-submit').click();
      await dash.locator(`[data-testid="workload-page"][data-workload="${PG_NAME}"]`).waitFor();
      await workloadPageRunning(dash);

      // The local console shows it running (it arrived as events).
      await consolePage.getByRole('link', { name: 'Overview' }).click();
      const localCard = consolePage.getByTestId(`workload-${PG_NAME}`);
      await consolePage.locator(`[data-testid="workload-${PG_NAME}"][data-status="running"]`).waitFor();

      // Stop it remotely.
      await dash.getByTestId('action-stop').click();
      await dash
        .locator(
          '[data-testid="workload-page"] header [data-testid="workload-status"][data-status="stopped"]',
        )
        .waitFor();
      await dash.getByTestId('logs').waitFor();
      await screenshot(dash, 'dashboard-workload');

      // The CLI agrees...
      // (The stop command has answered: no waiting.)
      const list = JSON.parse(await runCli(['ls', '--json', '--data-dir', agent.dataDir])) as {
        name: string;
        status: string;
        message?: string;
      }[];
      const listed = list.find((x) => x.name === PG_NAME);
      assert.equal(listed?.status, 'stopped', `lattice ls shows ${JSON.stringify(listed)}`);

      // ...and so does the console, from its event stream, without a reload.
      await consolePage.locator(`[data-testid="workload-${PG_NAME}"][data-status="stopped"]`).waitFor();
      assert.equal(
        await consolePage.evaluate('window.__noReload === true'),
        true,
        'the console page was not reloaded',
      );
      assert.equal(await localCard.getByTestId('workload-status').getAttribute('data-status'), 'stopped');

      // The computer goes away: the dashboard says it is offline, without a reload.
      await agent.stop();
      await dash
        .locator('[data-testid="device-view"] [data-testid="device-status"]', { hasText: 'offline' })
        .waitFor();
      await dash.getByTestId('banner-device-offline').waitFor();

      // Log out: back to the sign-in form.
      await dash.getByTestId('logout').click();
      await dash.getByTestId('auth-form').waitFor();

      // Sign in again: a wrong password is refused, the right one shows the (now offline) computer.
      await dash.goto(hub.url);
      await dash.getByTestId('auth-email').fill(`owner-${suffix}@example.com`);
      await dash.getByTestId('auth-password').fill('not the password at all');
      await dash.getByTestId('auth-submit').click();
      await dash.getByTestId('auth-error').waitFor();
      await dash.getByTestId('auth-password').fill('correct horse battery staple');
      await dash.getByTestId('auth-submit').click();
      await dash.getByTestId('nav-devices').click();
      await dash.locator(`[data-testid="device-${DEVICE_NAME}"][data-online="false"]`).waitFor();
      assert.deepEqual(seriousErrors(errors), [], 'no script errors or CSP violations on the dashboard');
    });
  });
});
