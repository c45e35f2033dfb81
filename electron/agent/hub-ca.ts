// The private CA of a self-hosted hub, given by the owner at pairing (`lattice pair --hub-ca FILE`, the
// console's "Hub CA certificate (PEM)"): checked here before anything changes, kept with the hub
// settings, and turned into the `ca` list of every TLS connection to the hub (pairing, control link,
// relay streams). Node's `ca` option REPLACES the trusted roots of that connection — NODE_EXTRA_CA_CERTS
// included — so the list is Node's bundled roots plus this CA: a public hub keeps working, and
// verification is never turned off. Without a CA given, connections keep Node's defaults.
import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { LatticeError } from '../../shared';

/** The `hub.pair` argument the CA travels in; errors about it name this field. */
export const HUB_CA_FIELD = 'hubCaPem';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function refuse(why: string): LatticeError {
  return new LatticeError('invalid_argument', `Hub CA certificate (${HUB_CA_FIELD}): ${why}`, HUB_CA_FIELD);
}

/**
 * Checks that `pem` holds one or more X.509 CA certificates, valid now, and nothing secret. Returns
 * them re-encoded (one PEM block each, nothing else), as they are stored.
 */
export function parseHubCa(pem: string, now: Date = new Date()): string {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    throw refuse('it holds a private key; give only the CA certificate (and keep its key to yourself)');
  }
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw refuse('no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----" …)');
  }
  const out: string[] = [];
  blocks.forEach((block, i) => {
    const which = blocks.length > 1 ? `certificate ${i + 1}` : 'the certificate';
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (err) {
      throw refuse(`${which} does not parse as X.509 (${(err as Error).message})`);
    }
    const named = `${which} (${cert.subject.replace(/\n/g, ', ')})`;
    if (!cert.ca) {
      throw refuse(
        `${named} is not a CA certificate (no CA:TRUE basic constraint): give the CA that issued the hub's certificate, not the hub's own certificate`,
      );
    }
    if (new Date(cert.validTo) < now) throw refuse(`${named} expired on ${cert.validTo}`);
    if (new Date(cert.validFrom) > now) throw refuse(`${named} is not valid before ${cert.validFrom}`);
    out.push(cert.toString().trim());
  });
  return `${out.join('\n')}\n`;
}

/** The `ca` option for TLS to the hub: Node's bundled roots plus the stored CA; undefined without one. */
export function hubTlsCa(caPem: string | undefined): string[] | undefined {
  if (!caPem) return undefined;
  return [...rootCertificates, ...(caPem.match(CERT_BLOCK) ?? [])];
}

/** OpenSSL's verdicts that mean "signed by no CA this connection trusts" (not expiry, not a wrong name). */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** The OpenSSL code when `err` (or its cause, as fetch and ws wrap it) says the hub's certificate is untrusted. */
export function untrustedCertificateCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && UNTRUSTED.has(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}
