// The hub's certificate is checked before it serves anything: a key of another certificate, a chain
// out of order, a CA that did not issue it, or ACME flags that cannot work are refused with a line
// that says which; what clients must trust is worked out from the chain.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates } from '../integration/relay-tls-support';
import { checkCertificate, HubCertificate } from '../../server/tls/hub-certificate';
import { checkAcmeOptions } from '../../server/tls/acme-options';
import { renewalDue } from '../../server/tls/acme';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('the hub certificate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-cert-unit-'));
  makeTestCertificates(dir);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');

  test('a leaf with its CA: clients get that CA; with its chain ending in the root, the same', () => {
    assert.deepEqual(checkCertificate(read('leaf.pem'), read('leaf.key'), read('ca.pem')), {
      publiclyTrusted: false,
      caPem: new X509Certificate(read('ca.pem')).toString(),
    });
    const t = checkCertificate(read('leaf.pem') + read('ca.pem'), read('leaf.key'));
    assert.equal(t.publiclyTrusted, false);
    assert.match(t.caPem!, /BEGIN CERTIFICATE/);
  });

  test('bad input is refused with what is wrong', () => {
    assert.throws(
      () => checkCertificate(read('leaf.pem'), read('impostor.key')),
      /does not belong to the certificate/,
    );
    assert.throws(
      () => checkCertificate(read('leaf.pem'), read('leaf.key'), read('other-ca.pem')),
      /not issued by the given CA/,
    );
    assert.throws(() => checkCertificate(read('leaf.pem'), read('leaf.key')), /--tls-ca/);
    assert.throws(
      () => checkCertificate(read('leaf.pem') + read('other-ca.pem'), read('leaf.key')),
      /chain was not issued/,
    );
    assert.throws(() => checkCertificate('nothing', read('leaf.key')), /no PEM certificate/);
    assert.throws(
      () => HubCertificate.fromFiles({ certFile: join(dir, 'missing.pem'), keyFile: join(dir, 'leaf.key') }),
      /cannot read the certificate/,
    );
  });

  test('renewal is due in the last third of the lifetime', () => {
    const pair = { certPem: read('leaf.pem'), keyPem: read('leaf.key') };
    assert.equal(renewalDue(pair), false);
    assert.equal(renewalDue(pair, Date.now() + 1.5 * 86_400_000), true);
  });

  test('ACME flags that cannot work are refused, also by `lattice hub`', () => {
    assert.throws(
      () => checkAcmeOptions({ email: 'a@b.c' }),
      /--acme-email and --acme-directory go together/,
    );
    assert.throws(() => checkAcmeOptions({ email: 'nope', directoryUrl: 'https://x/dir' }), /not an email/);
    assert.throws(() => checkAcmeOptions({ email: 'a@b.c', directoryUrl: 'http://x/dir' }), /https/);
    const hub = (args: string[]) => {
      try {
        execFileSync(
          process.execPath,
          [join(ROOT, 'bin', 'lattice.mjs'), 'hub', '--data-dir', join(dir, 'hub'), '--port', '0', ...args],
          { stdio: 'pipe', timeout: 30_000 },
        );
        return '';
      } catch (err) {
        return String((err as { stderr: Buffer }).stderr);
      }
    };
    assert.match(hub(['--acme-email', 'ops@example.com']), /--acme-email and --acme-directory go together/);
    assert.match(
      hub(['--tls-cert', join(dir, 'leaf.pem'), '--tls-key', join(dir, 'impostor.key')]),
      /does not belong to the certificate/,
    );
  });

  test.after(() => rmSync(dir, { recursive: true, force: true }));
});
