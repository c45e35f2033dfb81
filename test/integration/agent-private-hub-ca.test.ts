// A self-hosted hub whose certificate comes from a private CA, and a real `lattice agent` process that
// trusts nothing but Node's bundled roots: NODE_EXTRA_CA_CERTS is removed from this process's
// environment before any child starts (this sandbox sets it), so only the CA given at pairing can make
// the agent trust the hub. `lattice pair` without `--hub-ca` is refused with what to do; a bad PEM is
// refused naming the field and changes nothing; with the CA the agent pairs, its control link
// connects, a relay share carries a page over the hub's TLS, a restart reconnects with the stored CA,
// and unpairing forgets it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthResponse, Device, LatticeError } from '../../shared';
import { AgentClient } from '../../electron/agent/cli/agent-client';
import { FIXTURE_IMAGES, removeLabelled, requireFixtureImages } from '../helpers/docker';
import { freePortBlock, waitFor } from '../helpers/net';
import { lattice, runLabels, startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { hubHttps, pairingCodeHttps, registerUserHttps } from '../helpers/hub-https';
import { makeTestCertificates } from './relay-tls-support';
import { startTestHub, type TestHub } from './hub-fixtures';

// Every child (the agent, the CLI) inherits this environment: none may be handed the test CA by Node.
delete process.env.NODE_EXTRA_CA_CERTS;

const WORKLOAD = `private-ca-web-${process.pid}`;

describe('an agent pairing with a hub on a private CA', () => {
  let dir: string;
  let agentDir: string;
  let hub: TestHub;
  let agent: AgentProcess | undefined;
  let client: AgentClient;
  let user: AuthResponse;
  let caPem: string;
  const { env, runLabel } = runLabels();
  const agentEnv = { ...env, LATTICE_LOG_LEVEL: 'warn' };
  const file = (name: string) => join(dir, name);

  /** The test's own calls to the hub, trusting the test CA for this request only. */
  const hubCall = <T>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; text?: boolean } = {},
  ) => hubHttps<T>(hub.url, caPem, method, path, opts);
  const newCode = () => pairingCodeHttps(hub.url, caPem, user.accessToken);
  const devices = async () =>
    (await hubCall<Device[]>('GET', '/api/devices', { token: user.accessToken })).body;
  const pair = (code: string, ...extra: string[]) =>
    lattice([
      'pair',
      '--hub',
      hub.url,
      '--code',
      code,
      '--name',
      'private-ca-box',
      '--data-dir',
      agentDir,
      ...extra,
    ]);
  const settings = () => client.command('settings.get', {});

  before(async () => {
    await requireFixtureImages('nginx');
    dir = mkdtempSync(join(tmpdir(), 'lattice-private-ca-'));
    agentDir = mkdtempSync(join(tmpdir(), 'lattice-private-ca-agent-'));
    makeTestCertificates(dir);
    caPem = readFileSync(file('ca.pem'), 'utf8');
    hub = await startTestHub({
      host: '127.0.0.1',
      relayPorts: await freePortBlock(4),
      publicHost: '127.0.0.1',
      tls: { certFile: file('leaf.pem'), keyFile: file('leaf.key'), caFile: file('ca.pem') },
    });
    assert.match(hub.url, /^https:/, 'the hub serves HTTPS with a certificate from the test CA');
    user = await registerUserHttps(hub.url, caPem);
    agent = await startAgentProcess(agentDir, agentEnv);
    client = AgentClient.connect(agentDir);
    const agentEnviron = readFileSync(`/proc/${agent.pid}/environ`, 'utf8').split('\0');
    assert.ok(
      !agentEnviron.some((v) => v.startsWith('NODE_EXTRA_CA_CERTS=')),
      'the agent runs without NODE_EXTRA_CA_CERTS',
    );
  });

  after(async () => {
    try {
      await client?.command('workload.delete', { ref: WORKLOAD, volumes: true }).catch(() => undefined);
    } finally {
      await agent?.stop();
      await removeLabelled(runLabel).catch(() => undefined);
      await hub?.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(agentDir, { recursive: true, force: true });
    }
  });

  test('without --hub-ca the pairing is refused: the certificate is not trusted, and how to fix it', async () => {
    const code = await newCode();
    const r = await pair(code);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /hub's certificate at https:\/\/127\.0\.0\.1:\d+ is not trusted/);
    assert.match(r.stderr, /private CA/);
    assert.ok(r.stderr.includes(new URL('/api/relay-ca.pem', hub.url).toString()), r.stderr);
    assert.match(r.stderr, /lattice pair --hub-ca/);
    assert.match(r.stderr, /"Hub CA certificate \(PEM\)"/, 'names the console field too');
    // The console gets the same error, on the CA field.
    await assert.rejects(
      client.command('hub.pair', { hubUrl: hub.url, code }),
      (err: LatticeError) => err.code === 'invalid_argument' && err.field === 'hubCaPem',
    );
    assert.equal((await settings()).hub.url, null, 'not paired');
    // The hub serves the CA where the message says (what the owner downloads).
    const served = await hubCall<string>('GET', '/api/relay-ca.pem', { text: true });
    assert.equal(served.status, 200);
    assert.match(served.body, /-----BEGIN CERTIFICATE-----/, 'the CA is downloadable there');
    // And the dashboard's pairing code says so, pointing to that download.
    const fresh = await hubCall<{ code: string; hubCaUrl?: string }>('POST', '/api/devices/pairing', {
      token: user.accessToken,
      body: {},
    });
    assert.equal(fresh.status, 201);
    assert.equal(fresh.body.hubCaUrl, new URL('/api/relay-ca.pem', hub.url).toString());
  });

  test('a bad PEM is refused naming the field, and nothing changes', async () => {
    const code = await newCode();
    writeFileSync(file('garbage.pem'), 'this is not a certificate\n');
    writeFileSync(
      file('broken.pem'),
      '-----BEGIN CERTIFICATE-----\nTUlJQm9nb24=\n-----END CERTIFICATE-----\n',
    );
    const cases: [string, RegExp][] = [
      ['garbage.pem', /no PEM certificate/],
      ['broken.pem', /does not parse as X\.509/],
      ['leaf.pem', /is not a CA certificate/],
      ['ca.key', /private key/],
    ];
    for (const [name, why] of cases) {
      const r = await pair(code, '--hub-ca', file(name));
      assert.equal(r.code, 1, `${name}: ${r.stdout}`);
      assert.match(
        r.stderr,
        new RegExp(`--hub-ca ${file(name)}: Hub CA certificate \\(hubCaPem\\)`),
        r.stderr,
      );
      assert.match(r.stderr, why, r.stderr);
      await assert.rejects(
        client.command('hub.pair', { hubUrl: hub.url, code, hubCaPem: readFileSync(file(name), 'utf8') }),
        (err: LatticeError) => err.code === 'invalid_argument' && err.field === 'hubCaPem',
      );
    }
    const missing = await pair(code, '--hub-ca', file('nope.pem'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--hub-ca .*nope\.pem: cannot read it \(ENOENT\)/);
    // A real CA, but not the hub's: refused by TLS, saying so.
    const other = await pair(code, '--hub-ca', file('other-ca.pem'));
    assert.equal(other.code, 1);
    assert.match(other.stderr, /not issued by the Hub CA certificate given/);
    assert.equal((await settings()).hub.url, null, 'still not paired');
    assert.deepEqual(await devices(), [], 'the hub has no device');
    // Nothing was spent either: the same code pairs (next test) once the CA is right.
    const ok = await pair(code, '--hub-ca', file('ca.pem'), '--json');
    assert.equal(ok.code, 0, ok.stderr);
    await client.command('hub.unpair', {});
  });

  test('with --hub-ca the agent pairs, its control link connects, and a relay share carries a page', async () => {
    const r = await pair(await newCode(), '--hub-ca', file('ca.pem'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const { deviceId } = JSON.parse(r.stdout) as { deviceId: string };
    await waitFor('the control link up', async () => (await settings()).hub.connected, 20_000);
    assert.equal((await settings()).hub.privateCa, true);
    const online = await waitFor('the device online at the hub', async () =>
      (await devices()).find((d) => d.id === deviceId && d.online),
    );
    assert.equal(online.name, 'private-ca-box');

    const w = await client.command('workload.deploy', {
      template: 'custom',
      name: WORKLOAD,
      image: FIXTURE_IMAGES.nginx,
      ports: [{ container: 80 }],
    });
    assert.equal(w.status, 'running');
    const share = await client.command('share.create', { workload: WORKLOAD, via: 'relay', expires: '1h' });
    assert.match(share.url ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    // The visitor's bytes go through the hub's TLS, then a relay stream the agent dialled over wss://.
    const page = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      request(share.url!, { ca: caPem }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(page.status, 200);
    assert.ok(page.body.length > 0, 'a page came back');
    await client.command('share.revoke', { ref: share.id });
  });

  test('after a restart the agent reconnects with the stored CA; unpairing forgets it', async () => {
    await agent!.stop();
    agent = await startAgentProcess(agentDir, agentEnv);
    client = AgentClient.connect(agentDir);
    await waitFor('the control link up again', async () => (await settings()).hub.connected, 20_000);
    await client.command('hub.unpair', {});
    const after = await settings();
    assert.equal(after.hub.url, null);
    assert.notEqual(after.hub.privateCa, true, 'the CA went with the hub');
  });
});
