// Sharing from the console, end to end: a real hub with its relay, a real agent paired to it, and
// workloads shared through the relay from their pages. A Postgres share's copied connection string is
// used, exactly, by `psql`, and stops working after "Revoke"; a web share carries basic auth and a QR code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FIXTURE_IMAGES, removeLabelled, requireFixtureImages } from '../helpers/docker';
import { freePort } from '../helpers/net';
import { api, registerUser, startTestHub, type TestHub } from '../integration/hub-fixtures';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import { screenshotOf, seriousErrors, signInWithToken, withFreshPages, workloadPageRunning } from './browser';

const suffix = Math.random().toString(36).slice(2, 7);
const PG_NAME = `e2e-share-${suffix}`;
const WEB_NAME = `e2e-web-${suffix}`;

async function json<T>(res: Promise<Response>): Promise<T> {
  const r = await res;
  const body = (await r.json()) as T;
  assert.ok(r.ok, `HTTP ${r.status}: ${JSON.stringify(body)}`);
  return body;
}

const execFileAsync = promisify(execFile);

/** One statement through psql with the connection string as given; rejects when psql fails. */
async function psqlQuery(connectionString: string, sql: string): Promise<string> {
  const { stdout } = await execFileAsync(
    '/usr/bin/psql',
    ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', connectionString, '-c', sql],
    {
      timeout: 20_000,
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    },
  );
  return stdout.trim().split('\n').at(-1) ?? '';
}

describe('console sharing through the hub relay', () => {
  let hub: TestHub;
  let agentAndBrowser: AgentAndBrowser;

  before(async () => {
    await requireFixtureImages('postgres', 'nginx');
    const relayPort = await freePort();
    hub = await startTestHub({ publicHost: '127.0.0.1', relayPorts: { from: relayPort, to: relayPort } });
    agentAndBrowser = await startAgentAndBrowser();
    const { agent } = agentAndBrowser;

    // Set up what this test is not about through the real APIs: an account, a paired agent, a database.
    const auth = await registerUser(hub);
    const pairing = await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', {
      token: auth.accessToken,
    });
    assert.equal(pairing.status, 201, `pairing code: ${JSON.stringify(pairing.body)}`);
    const { code } = pairing.body;
    const token = agent.apiToken();
    const agentCommand = (name: string, args: unknown) =>
      json<{ ok: boolean; error?: unknown }>(
        fetch(`${agent.origin}/api/commands/${name}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(args),
        }),
      );
    await agentCommand('hub.pair', { hubUrl: hub.url, code, name: `share-laptop-${suffix}` });
    await agentCommand('workload.deploy', { template: 'postgres', name: PG_NAME });
    await agentCommand('workload.deploy', {
      template: 'custom',
      name: WEB_NAME,
      image: FIXTURE_IMAGES.nginx,
      ports: [{ container: 80 }],
    });
  });

  after(async () => {
    await agentAndBrowser?.stop();
    await hub?.stop();
    await removeLabelled(`lattice.name=${PG_NAME}`).catch(() => undefined);
    await removeLabelled(`lattice.name=${WEB_NAME}`).catch(() => undefined);
  });

  test('share via relay, connect with exactly the copied string, revoke, and it no longer connects', async () => {
    const { agent, browser } = agentAndBrowser;
    await withFreshPages(browser, 'console-share', async (open) => {
      const { page, errors } = await open(agent.origin);
      await page.goto(agent.loginUrl);
      await page.getByTestId('template-gallery').waitFor();
      await page.goto(`${agent.origin}/#/workloads/${PG_NAME}`);
      await workloadPageRunning(page);

      const panel = page.getByTestId('share-panel');
      await panel.getByTestId('share-via-relay').check();
      await panel.getByTestId('share-expires').selectOption('1h');
      await panel.getByTestId('share-create').click();
      const shared = panel.getByTestId('share-connection-string');
      // Either the share or its error: an error fails the test with what the console said.
      const failure = panel.getByTestId('share-create-error');
      await shared.or(failure).first().waitFor();
      if (await failure.count()) assert.fail(`sharing failed: ${await failure.textContent()}`);
      assert.match((await panel.getByTestId('share-time-left').textContent()) ?? '', /min left/);
      await screenshotOf(panel, 'share-panel');

      await panel.getByTestId('share-copy').click();
      const copied = (await page.evaluate('navigator.clipboard.readText()')) as string;
      assert.equal(
        copied,
        ((await shared.textContent()) ?? '').trim(),
        'the clipboard holds the string shown',
      );
      assert.match(copied, /^postgres:\/\//);

      // A client we did not write, through the relay, with exactly that string: psql, whose libpq
      // reads sslmode=require as "encrypt" (node-postgres would also insist on verifying the
      // certificate of the agent's CA; see docs/postgres-tls.md).
      assert.equal(await psqlQuery(copied, 'SELECT 40 + 2'), '42');
      assert.equal(
        await psqlQuery(copied, 'SET ROLE NONE; SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'),
        't',
      );

      await panel.getByTestId('share-revoke').click();
      await panel.getByTestId('share-connection-string').waitFor({ state: 'detached' });
      await assert.rejects(psqlQuery(copied, 'SELECT 1'), 'a revoked share no longer connects');
      assert.deepEqual(seriousErrors(errors), [], 'no script errors or CSP violations');
    });
  });

  test('share a web app with basic auth: a URL with a QR code, refused without the credentials', async () => {
    const { agent, browser } = agentAndBrowser;
    await withFreshPages(browser, 'console-share-http', async (open) => {
      const { page } = await open(agent.origin);
      await signInWithToken(page, agent.origin, agent.apiToken());
      await page.goto(`${agent.origin}/#/workloads/${WEB_NAME}`);
      await workloadPageRunning(page);
      const panel = page.getByTestId('share-panel');
      await panel.getByTestId('share-via-relay').check();
      assert.equal(
        await panel.getByTestId('share-basic-auth').isChecked(),
        true,
        'basic auth is on by default',
      );
      await panel.getByTestId('share-create').click();
      const shared = panel.getByTestId('share-connection-string');
      const failure = panel.getByTestId('share-create-error');
      await shared.or(failure).first().waitFor();
      if (await failure.count()) assert.fail(`sharing failed: ${await failure.textContent()}`);
      const url = ((await shared.textContent()) ?? '').trim();
      assert.match(url, /^https?:\/\//);
      await panel.getByTestId('share-qr').waitFor();
      await screenshotOf(panel, 'share-panel-http');

      const creds = panel.getByTestId('share-basic-credentials');
      const user = ((await creds.getByTestId('share-username').textContent()) ?? '').trim();
      const password = ((await creds.getByTestId('share-password').textContent()) ?? '').trim();
      assert.equal((await fetch(url)).status, 401, 'no credentials, no page');
      const ok = await fetch(url, {
        headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      });
      assert.equal(ok.status, 200, 'the shown credentials open it');
      assert.match(await ok.text(), /nginx|html/i);

      await panel.getByTestId('share-revoke').click();
      await shared.waitFor({ state: 'detached' });
    });
  });
});
