// The private hub CA given at pairing (electron/agent/hub-ca.ts): what is accepted, what is refused and
// why (always on the hubCaPem field), and the `ca` list keeping Node's public roots beside it. The
// end-to-end proof with a real hub and agent is test/integration/agent-private-hub-ca.test.ts.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { LatticeError } from '../../shared';
import { hubTlsCa, parseHubCa, untrustedCertificateCode } from '../../electron/agent/hub-ca';
import { makeTestCertificates } from '../integration/relay-tls-support';

describe('hub CA', () => {
  const pem: Record<string, string> = {};
  before(() => {
    const dir = mkdtempSync(join(tmpdir(), 'lattice-hub-ca-unit-'));
    makeTestCertificates(dir);
    for (const name of ['ca.pem', 'other-ca.pem', 'leaf.pem', 'ca.key']) {
      pem[name] = readFileSync(join(dir, name), 'utf8');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const refusedOnField = (why: RegExp) => (err: LatticeError) =>
    err.code === 'invalid_argument' && err.field === 'hubCaPem' && why.test(err.message);

  test('one or more CA certificates are accepted, re-encoded, text around them dropped', () => {
    assert.equal(parseHubCa(pem['ca.pem']).trim(), pem['ca.pem'].trim());
    const two = parseHubCa(`# our CAs\n${pem['ca.pem']}\nsome comment\n${pem['other-ca.pem']}`);
    assert.equal(two.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
    assert.doesNotMatch(two, /comment|our CAs/);
  });

  test('refused on the field: no certificate, a broken one, a leaf, a private key, an expired CA', () => {
    assert.throws(() => parseHubCa('hello'), refusedOnField(/no PEM certificate/));
    assert.throws(
      () => parseHubCa('-----BEGIN CERTIFICATE-----\nTUlJQm9nb24=\n-----END CERTIFICATE-----\n'),
      refusedOnField(/does not parse as X\.509/),
    );
    assert.throws(() => parseHubCa(pem['leaf.pem']), refusedOnField(/not a CA certificate/));
    assert.throws(
      () => parseHubCa(pem['ca.pem'] + pem['leaf.pem']),
      refusedOnField(/certificate 2 .* not a CA/),
    );
    assert.throws(() => parseHubCa(pem['ca.pem'] + pem['ca.key']), refusedOnField(/private key/));
    const later = new Date(Date.now() + 3 * 86_400_000); // the test certificates last two days
    assert.throws(() => parseHubCa(pem['ca.pem'], later), refusedOnField(/expired on/));
  });

  test('the ca list is the public roots plus the given CA; none given: Node defaults', () => {
    assert.equal(hubTlsCa(undefined), undefined);
    const ca = hubTlsCa(parseHubCa(pem['ca.pem']))!;
    assert.equal(ca.length, rootCertificates.length + 1);
    assert.deepEqual(ca.slice(0, rootCertificates.length), [...rootCertificates]);
    assert.equal(ca.at(-1)!.trim(), pem['ca.pem'].trim());
  });

  test('untrusted-certificate verdicts are found on the error or its cause; others are not', () => {
    assert.equal(
      untrustedCertificateCode({ code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      'SELF_SIGNED_CERT_IN_CHAIN',
    );
    assert.equal(
      untrustedCertificateCode({ cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } }),
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    );
    assert.equal(untrustedCertificateCode({ code: 'CERT_HAS_EXPIRED' }), undefined);
    assert.equal(untrustedCertificateCode({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), undefined);
    assert.equal(untrustedCertificateCode(new Error('ECONNREFUSED')), undefined);
  });
});
