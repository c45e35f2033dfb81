// Settings → Pair in the console against a hub on a private CA, as its owner meets it: without the
// CA the form says the hub's certificate is not trusted and where to get the CA, on the CA field; a
// pasted hub certificate (not a CA) is refused on that field; the CA picked as a file pairs, and the
// link connects. The agent runs without NODE_EXTRA_CA_CERTS, so only the CA from the form can help.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairingCodeHttps, registerUserHttps } from '../helpers/hub-https';
import { waitFor } from '../helpers/net';
import { makeTestCertificates } from '../integration/relay-tls-support';
import { startTestHub, type TestHub } from '../integration/hub-fixtures';
import { startAgentAndBrowser, type AgentAndBrowser } from './agent-and-browser';
import { screenshot, seriousErrors, unlabelledControls, withFreshPages } from './browser';

// The agent inherits this environment: Node must not hand it any extra CA.
delete process.env.NODE_EXTRA_CA_CERTS;

let dir: string;
let hub: TestHub | undefined;
let agentAndBrowser: AgentAndBrowser | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lattice-e2e-private-ca-'));
  makeTestCertificates(dir);
});

after(async () => {
  await agentAndBrowser?.stop();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('Settings → Pair with a hub on a private CA: refused with the fix, then paired with the CA file', async () => {
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8');
  hub = await startTestHub({
    host: '127.0.0.1',
    tls: { certFile: join(dir, 'leaf.pem'), keyFile: join(dir, 'leaf.key'), caFile: join(dir, 'ca.pem') },
  });
  const user = await registerUserHttps(hub.url, ca);
  const code = await pairingCodeHttps(hub.url, ca, user.accessToken);
  agentAndBrowser = await startAgentAndBrowser();
  const { agent, browser } = agentAndBrowser;
  await withFreshPages(browser, 'console-pair-private-ca', async (open) => {
    const { page, errors } = await open(agent.origin);
    await page.goto(agent.loginUrl);
    await page.getByTestId('template-gallery').waitFor();
    await page.getByTestId('nav-settings').click();
    await page.getByLabel('Hub URL').fill(hub!.url);
    await page.getByLabel('Pairing code').fill(code);
    const caUrl = new URL('/api/relay-ca.pem', hub!.url).toString();
    assert.ok(
      (await page.locator('#pair-hub-ca-hint').innerText()).includes(caUrl),
      'the hint says where this hub serves its CA',
    );
    assert.deepEqual(await unlabelledControls(page), [], 'every control of the form has a label');
    const caField = page.locator('.field', { has: page.locator('#pair-hub-ca') });

    // No CA: the hub's certificate is not trusted, and the error says what to do, on the CA field.
    await page.getByTestId('pair-submit').click();
    const alert = page.getByTestId('pair-form').getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /is not trusted/);
    assert.ok(text.includes(caUrl), text);
    assert.match(text, /Hub CA certificate \(PEM\)/);
    assert.match((await caField.getAttribute('class')) ?? '', /field-invalid/);
    await screenshot(page, 'pair-private-ca-untrusted');

    // The hub's own certificate pasted instead of its CA: refused, naming the field.
    await page.getByLabel('Hub CA certificate (PEM)').fill(readFileSync(join(dir, 'leaf.pem'), 'utf8'));
    await page.getByTestId('pair-submit').click();
    await page.getByText(/is not a CA certificate/).waitFor();
    assert.match(await alert.innerText(), /Hub CA certificate \(hubCaPem\)/);
    assert.match((await caField.getAttribute('class')) ?? '', /field-invalid/);

    // The CA picked as a file fills the field; pairing works and the link connects.
    await page.getByTestId('pair-hub-ca-file').setInputFiles(join(dir, 'ca.pem'));
    const caInput = page.getByLabel('Hub CA certificate (PEM)');
    await waitFor('the CA file in the field', async () => (await caInput.inputValue()).trim() === ca.trim());
    await page.getByTestId('pair-submit').click();
    await page.getByTestId('hub-paired').waitFor();
    await page.getByTestId('hub-private-ca').waitFor();
    await page.getByTestId('hub-paired').getByText('connected', { exact: true }).waitFor();
    await screenshot(page, 'pair-private-ca-paired');
    assert.deepEqual(seriousErrors(errors), []);
  });
});
