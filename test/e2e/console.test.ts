// The headless console in a real browser against a real agent process and the real Docker Engine:
// deploy Postgres from the gallery, read its connection string, connect with `pg`, refuse bad input
// at the field, delete it; and without a session, show nothing but the token prompt.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type Docker from 'dockerode';
import { removeLabelled, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import {
  screenshot,
  screenshotOf,
  seriousErrors,
  unlabelledControls,
  withFreshPages,
  workloadPageRunning,
} from './browser';

const suffix = Math.random().toString(36).slice(2, 7);
const PG_NAME = `e2e-pg-${suffix}`;
const BAD_NAME = `e2e-bad-${suffix}`;

async function containersNamed(docker: Docker, name: string) {
  return docker.listContainers({ all: true, filters: { label: [`lattice.name=${name}`] } });
}

describe('headless console', () => {
  let docker: Docker;
  let agentAndBrowser: AgentAndBrowser;

  before(async () => {
    docker = await requireFixtureImages('postgres');
    agentAndBrowser = await startAgentAndBrowser();
  });

  after(async () => {
    await agentAndBrowser?.stop();
    await removeLabelled(`lattice.name=${PG_NAME}`).catch(() => undefined);
    await removeLabelled(`lattice.name=${BAD_NAME}`).catch(() => undefined);
  });

  test('deploy Postgres from the gallery, connect with the shown string, reject bad input, delete', async () => {
    const { agent, browser } = agentAndBrowser;
    await withFreshPages(browser, 'console-deploy', async (open) => {
      const { page, errors } = await open(agent.origin);
      // The printed login URL sets the session cookie and lands on the console.
      await page.goto(agent.loginUrl);
      await page.getByTestId('template-gallery').waitFor();
      assert.equal(new URL(page.url()).pathname, '/', 'the login URL redirects to the console');
      await page.getByTestId('workloads-empty').waitFor();
      await screenshot(page, 'gallery');

      // Deploy from the Postgres card.
      await page.getByTestId('deploy-postgres').click();
      const name = page.locator('input[data-field="name"]');
      await name.fill(PG_NAME);
      await page.getByTestId('deploy-submit').click();
      await page.getByTestId('deploy-progress').waitFor();
      // The image is local (no registry here): the progress says so in layer terms.
      await page.getByTestId('pull-layers').waitFor();

      // The deploy lands on the workload's page once it answers, running.
      await page.locator(`[data-testid="workload-page"][data-workload="${PG_NAME}"]`).waitFor();
      await workloadPageRunning(page);

      // Password hidden until "Show"; the copy button copies the real string.
      const shown = page.getByTestId('conn-connectionString');
      assert.match((await shown.textContent()) ?? '', /••••/, 'the password is masked before Show');
      await page.getByTestId('copy-connectionString').click();
      await page.getByTestId('copy-connectionString').filter({ hasText: 'Copied' }).waitFor();
      const copied = (await page.evaluate('navigator.clipboard.readText()')) as string;
      await page.getByTestId('toggle-secrets').click();
      const visible = ((await shown.textContent()) ?? '').trim();
      assert.equal(copied, visible, 'the clipboard holds exactly the string shown');
      assert.match(visible, /^postgres:\/\/[^:]+:[^@]+@127\.0\.0\.1:\d+\/\S+$/);

      // A client we did not write connects with exactly that string.
      const client = new pg.Client({ connectionString: copied });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT current_user AS me, 40 + 2 AS answer');
        assert.equal(rows[0].answer, 42);
      } finally {
        await client.end();
      }

      // Logs are there (the fixture prints its start-up), and stats arrive from polling.
      await page.locator('[data-testid="log-lines"] .log-line').first().waitFor();
      await waitFor(
        'a stats sample',
        async () => ((await page.getByTestId('stat-cpu').first().textContent()) ?? '–') !== '–',
        30_000,
      );
      await page.getByTestId('log-search').fill('ready to accept');
      await page
        .locator('[data-testid="log-lines"] .log-line', { hasText: 'ready to accept' })
        .first()
        .waitFor();
      // Restart: the status goes round through events, and the log keeps following the new run.
      const readyLines = page.locator('[data-testid="log-lines"] .log-line', {
        hasText: 'ready to accept',
      });
      const before = await readyLines.count();
      await page.getByTestId('action-restart').click();
      await waitFor(
        'a new "ready" log line after the restart',
        async () => (await readyLines.count()) > before,
        60_000,
      );
      await workloadPageRunning(page);
      // The tail sent again by the new follow was merged, not shown twice.
      await page.getByTestId('log-search').fill('init process complete');
      const initLines = page.locator('[data-testid="log-lines"] .log-line', {
        hasText: 'init process complete',
      });
      assert.equal(await initLines.count(), 1, 'first-run lines appear once after the restart');
      await page.getByTestId('log-search').fill('');
      await page.getByTestId('toggle-secrets').click();
      // A few stats samples, so the sparklines in the screenshot have a shape.
      const stats = page.locator('[data-testid="workload-page"] [data-testid="stats"]');
      await waitFor('three stats samples', async () => Number(await stats.getAttribute('data-samples')) >= 3);
      await screenshot(page, 'workload-with-logs');
      assert.deepEqual(await unlabelledControls(page), [], 'every control of the workload page is labelled');
      await screenshotOf(page.getByTestId('share-panel'), 'share-panel');

      // Bad input in the custom form: each error sits next to its field, and nothing is sent.
      const deployRequests: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/api/commands/workload.deploy')) deployRequests.push(r.url());
      });
      await page.goto(`${agent.origin}/#/deploy/custom`);
      await page.getByTestId('deploy-form').waitFor();
      await page.locator('input[data-field="name"]').fill(BAD_NAME);
      await page.locator('input[data-field="image"]').fill('');
      await page.locator('input[data-field="ports.0.container"]').fill('70000');
      await page.getByTestId('add-env').click();
      await page.locator('input[data-field="env.0.key"]').fill('1BAD');
      await page.locator('input[data-field="env.0.value"]').fill('x');
      await page.locator('input[data-field="memory"]').fill('lots');
      await page.getByTestId('deploy-submit').click();
      const expectations: [string, RegExp][] = [
        ['image', /image is required/],
        ['ports.0.container', /1-65535/],
        ['env.0.key', /not starting with a digit/],
        ['memory', /not a memory size/],
      ];
      for (const [field, message] of expectations) {
        const error = page.getByTestId(`error-${field}`);
        await error.waitFor();
        assert.match((await error.textContent()) ?? '', message, `error for ${field}`);
        // "Next to the field": the input points at its error with aria-describedby.
        const input = page.locator(`[data-field="${field}"]`);
        assert.equal(await input.getAttribute('aria-invalid'), 'true');
        const describedBy = (await input.getAttribute('aria-describedby')) ?? '';
        assert.ok(
          describedBy.split(' ').includes((await error.getAttribute('id')) ?? '-'),
          `${field} is described by its error`,
        );
      }
      await screenshot(page, 'custom-form-errors');
      assert.deepEqual(await unlabelledControls(page), [], 'every control of the form is labelled');
      assert.deepEqual(deployRequests, [], 'an invalid form sends nothing');
      assert.equal(
        (await containersNamed(docker, BAD_NAME)).length,
        0,
        'Docker has nothing for the invalid form',
      );

      // A server-side refusal that names a field shows at that field too: a host port in use
      // (the agent's own API port).
      await page.goto(`${agent.origin}/#/deploy/postgres`);
      await page.locator('input[data-field="name"]').fill(BAD_NAME);
      await page.locator('input[data-field="hostPort"]').fill(new URL(agent.origin).port);
      await page.getByTestId('deploy-submit').click();
      const portError = page.getByTestId('error-hostPort');
      await portError.waitFor();
      assert.match((await portError.textContent()) ?? '', /in use|already used/);
      assert.equal((await page.getByTestId('deploy-error').getAttribute('data-code')) ?? '', 'port_taken');
      assert.equal(
        (await containersNamed(docker, BAD_NAME)).length,
        0,
        'Docker has nothing for the refused deploy',
      );

      // Delete, with its data, from the workload page.
      await page.goto(`${agent.origin}/#/workloads/${PG_NAME}`);
      await page.getByTestId('action-delete').click();
      const dialog = page.getByTestId('delete-dialog');
      await dialog.waitFor();
      assert.match((await dialog.textContent()) ?? '', /data is kept/);
      await page.getByTestId('delete-volumes').check();
      assert.match((await dialog.textContent()) ?? '', /cannot be recovered/);
      await page.getByTestId('confirm-delete').click();
      await page.getByTestId('workloads-empty').waitFor();
      assert.equal((await containersNamed(docker, PG_NAME)).length, 0, 'the container is gone');
      const volumes = await docker.listVolumes({ filters: { label: [`lattice.name=${PG_NAME}`] } });
      assert.equal(volumes.Volumes?.length ?? 0, 0, 'its volume is gone too');

      assert.deepEqual(seriousErrors(errors), [], 'no script errors or CSP violations');
    });
  });

  test('without the token the console shows only the token prompt', async () => {
    const { agent, browser } = agentAndBrowser;
    await withFreshPages(browser, 'console-token', async (open) => {
      const { page } = await open(agent.origin);
      const apiCalls: number[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/api/commands/')) apiCalls.push(r.status());
      });
      await page.goto(agent.origin + '/');
      const prompt = page.getByTestId('token-prompt');
      await prompt.waitFor();
      assert.match((await prompt.textContent()) ?? '', /Paste the token printed by `lattice agent`/);
      assert.equal(await page.getByTestId('template-gallery').count(), 0, 'no gallery behind the prompt');
      assert.equal(await page.getByTestId('workload-list').count(), 0, 'no workload data behind the prompt');
      assert.ok(apiCalls.length > 0 && apiCalls.every((s) => s === 401), 'every API call was refused');

      // A wrong token is refused and the prompt stays.
      await page.locator('#console-token').fill('not-the-token');
      await page.getByRole('button', { name: 'Open the console' }).click();
      await page.getByTestId('token-error').waitFor();

      // The API token from the data directory opens it.
      const token = agent.apiToken();
      await page.locator('#console-token').fill(token);
      await page.getByRole('button', { name: 'Open the console' }).click();
      await page.getByTestId('template-gallery').waitFor();
      assert.equal(await page.getByTestId('token-prompt').count(), 0);
    });
  });
});
