// The hub's one certificate, shared by its API server and every relay port. It is swapped in place
// when ACME renews it: the API server gets `setSecureContext`, relay listeners read `context` for
// each new connection, so open connections keep their session and new ones get the new certificate.
// What clients must trust to verify it (the system store, or a CA file the hub offers) is worked out
// here once, from the chain, so connection strings can say `sslmode=verify-full`.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/** How a client verifies the hub's certificate. */
export interface HubTrust {
  /** The chain ends at a CA in the public trust stores (libpq `sslrootcert=system`). */
  publiclyTrusted: boolean;
  /** Otherwise the CA clients must be given (served at `/api/relay-ca.pem`). */
  caPem?: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitChain(pem: string): X509Certificate[] {
  return (pem.match(PEM_BLOCK) ?? []).map((block) => new X509Certificate(block));
}

function selfSigned(cert: X509Certificate): boolean {
  return cert.subject === cert.issuer && cert.verify(cert.publicKey);
}

let publicRoots: X509Certificate[] | undefined;

/** Whether the chain's last certificate was issued by (or is) a root of Node's public bundle. */
function chainsToPublicRoot(chain: X509Certificate[]): boolean {
  publicRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  const last = chain[chain.length - 1];
  return publicRoots.some(
    (root) =>
      root.fingerprint256 === last.fingerprint256 || (last.checkIssued(root) && last.verify(root.publicKey)),
  );
}

/**
 * Checks that the key belongs to the leaf and each certificate of the chain was issued by the next,
 * and works out what clients must trust. `caPem` (from `--tls-ca`) is the operator's answer; without
 * it a chain to a public root needs nothing, a chain ending in a self-signed certificate offers that
 * one, and anything else is refused with what to give.
 */
export function checkCertificate(certPem: string, keyPem: string, caPem?: string): HubTrust {
  const chain = splitChain(certPem);
  if (chain.length === 0) throw new Error('the certificate file holds no PEM certificate');
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`the private key cannot be read: ${(err as Error).message}`);
  }
  if (!chain[0].checkPrivateKey(key)) throw new Error('the private key does not belong to the certificate');
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey))
      throw new Error(`certificate ${i + 1} of the chain was not issued by the one after it`);
  }
  if (caPem !== undefined) {
    const cas = splitChain(caPem);
    if (cas.length === 0) throw new Error('the CA file holds no PEM certificate');
    const last = chain[chain.length - 1];
    const issuer = cas.find(
      (ca) =>
        ca.fingerprint256 === last.fingerprint256 || (last.checkIssued(ca) && last.verify(ca.publicKey)),
    );
    if (!issuer) throw new Error('the certificate was not issued by the given CA (--tls-ca)');
    return { publiclyTrusted: false, caPem: issuer.toString() };
  }
  if (chainsToPublicRoot(chain)) return { publiclyTrusted: true };
  const last = chain[chain.length - 1];
  if (selfSigned(last)) return { publiclyTrusted: false, caPem: last.toString() };
  throw new Error(
    'the certificate does not chain to a publicly trusted CA and its file holds no root: give the CA that issued it with --tls-ca',
  );
}

export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

export class HubCertificate {
  private listeners = new Set<(pair: CertificatePair) => void>();
  private current: { pair: CertificatePair; context: SecureContext; trust: HubTrust; notAfter: Date };

  constructor(
    pair: CertificatePair,
    private readonly caPem?: string,
  ) {
    this.current = HubCertificate.build(pair, caPem);
  }

  static fromFiles(files: { certFile: string; keyFile: string; caFile?: string }): HubCertificate {
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
    };
    const pair = { certPem: read(files.certFile, 'certificate'), keyPem: read(files.keyFile, 'private key') };
    const ca = files.caFile ? read(files.caFile, 'CA file') : undefined;
    try {
      return new HubCertificate(pair, ca);
    } catch (err) {
      throw new Error(`--tls-cert ${files.certFile}: ${(err as Error).message}`);
    }
  }

  private static build(pair: CertificatePair, caPem?: string) {
    const trust = checkCertificate(pair.certPem, pair.keyPem, caPem);
    const context = createSecureContext({ cert: pair.certPem, key: pair.keyPem });
    return { pair, context, trust, notAfter: new Date(splitChain(pair.certPem)[0].validTo) };
  }

  /** The context for a new TLS connection (relay sockets read it per connection). */
  get context(): SecureContext {
    return this.current.context;
  }

  get pair(): CertificatePair {
    return this.current.pair;
  }

  get trust(): HubTrust {
    return this.current.trust;
  }

  get notAfter(): Date {
    return this.current.notAfter;
  }

  get fingerprint256(): string {
    return splitChain(this.current.pair.certPem)[0].fingerprint256;
  }

  /** Swaps in a renewed certificate (checked first); servers that subscribed switch their context. */
  replace(pair: CertificatePair): void {
    this.current = HubCertificate.build(pair, this.caPem);
    for (const l of this.listeners) l(pair);
  }

  /** Called with each new certificate; returns the unsubscribe. */
  onChange(listener: (pair: CertificatePair) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
