// What the relay TLS tests share: the test certificates, and psql run where a client downloaded the
// share's CA file.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Share } from '../../shared';
import type { ProcessResult } from './share-support';

const PSQL = '/usr/bin/psql';

/** psql run where the share's CA file was downloaded (the string names it relative to the client). */
export function psqlIn(cwd: string, args: string[], input = ''): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PSQL, ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', ...args], { cwd, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Downloads the share's CA where a client would (its caUrl) and returns the folder. */
export async function downloadCa(share: Share): Promise<string> {
  assert.ok(share.hubTls?.caUrl, `the share offers its CA: ${JSON.stringify(share.hubTls)}`);
  const res = await fetch(share.hubTls.caUrl);
  assert.equal(res.status, 200);
  const pem = await res.text();
  assert.equal(pem, share.hubTls.caPem, 'the same CA in the share and at its URL');
  const dir = mkdtempSync(join(tmpdir(), 'lattice-client-'));
  writeFileSync(join(dir, 'lattice-relay-ca.pem'), pem);
  return dir;
}

/** A test CA, and leaves it signs for 127.0.0.1/localhost; a second, unrelated CA for impostors. */
export function makeTestCertificates(dir: string): void {
  const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    ossl([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=lattice ${ca} test`,
    ]);
  }
  writeFileSync(
    join(dir, 'leaf.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n',
  );
  for (const [leaf, ca] of [
    ['leaf', 'ca'],
    ['pebble-api', 'ca'],
    ['impostor', 'other-ca'],
  ]) {
    ossl(['req', ...ec, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', '/CN=127.0.0.1']);
    ossl([
      'x509',
      '-req',
      '-in',
      `${leaf}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${leaf}.pem`,
      '-days',
      '2',
      '-extfile',
      'leaf.ext',
    ]);
  }
}
