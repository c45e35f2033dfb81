// TLS at the hub for every share kind, and ACME (issue 12). The agent and the test's own clients must
// trust the test CA and pebble's root for the hub's HTTPS/WSS, and Node reads extra CAs only at
// process start (NODE_EXTRA_CA_CERTS); so this file makes the certificates and starts pebble, then
// runs the cases (relay-tls.cases.ts, relay-acme.cases.ts) in a child `node --test` that trusts them.
// Every case is a real client we did not write: psql, pg, @aws-sdk/client-s3, openssl s_client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../helpers/net';
import { makeTestCertificates } from './relay-tls-support';

const ROOT = new URL('../..', import.meta.url).pathname;

function fetchPem(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: new Agent({ ca }) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`)),
      );
    }).on('error', reject);
  });
}

test('TLS on the relay and ACME (cases run with the test CAs trusted)', { timeout: 900_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-relay-tls-'));
  let pebble: ReturnType<typeof spawn> | undefined;
  try {
    makeTestCertificates(dir);
    const ca = readFileSync(join(dir, 'ca.pem'));
    const [acmePort, mgmtPort] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: join(dir, 'pebble-api.pem'),
          privateKey: join(dir, 'pebble-api.key'),
          httpPort: 5002,
          tlsPort: 5001,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    let pebbleLog = '';
    pebble = spawn('/usr/bin/pebble', ['-config', join(dir, 'pebble.json')], {
      env: {
        ...process.env,
        PEBBLE_VA_ALWAYS_VALID: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
        PEBBLE_VA_NOSLEEP: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    pebble.stdout!.on('data', (d) => (pebbleLog += d));
    pebble.stderr!.on('data', (d) => (pebbleLog += d));
    const directory = `https://127.0.0.1:${acmePort}/dir`;
    await waitFor('pebble to answer', () => fetchPem(directory, ca).then(() => true), 20_000, 200).catch(
      (err) => {
        throw new Error(`${(err as Error).message}\n${pebbleLog}`);
      },
    );
    // Pebble makes a fresh root at each start; its management port hands it out.
    writeFileSync(join(dir, 'pebble-root.pem'), await fetchPem(`https://127.0.0.1:${mgmtPort}/roots/0`, ca));
    writeFileSync(
      join(dir, 'trusted.pem'),
      Buffer.concat([ca, Buffer.from('\n'), readFileSync(join(dir, 'pebble-root.pem'))]),
    );

    const cases = ['relay-tls.cases.ts', 'relay-acme.cases.ts'].map((f) =>
      join(ROOT, 'test', 'integration', f),
    );
    const only = process.env.LATTICE_RELAY_TLS_CASES?.split(',');
    // The child is a test run of its own, not a file of this one (node:test marks that in the env).
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-reporter=spec',
        ...cases.filter((c) => !only || only.some((o) => c.includes(o))),
      ],
      {
        cwd: ROOT,
        env: {
          ...env,
          NODE_EXTRA_CA_CERTS: join(dir, 'trusted.pem'),
          LATTICE_RELAY_TLS_DIR: dir,
          LATTICE_PEBBLE_DIRECTORY: directory,
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, 'every TLS and ACME case passes (their output is above)');
  } finally {
    pebble?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
