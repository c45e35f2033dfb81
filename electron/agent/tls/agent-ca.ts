// The agent's own certificate authority. It signs the server certificates of the databases the
// agent runs, so a Postgres share is encrypted end to end even when nothing between the visitor and
// the container holds a certificate (ngrok TCP, a hub without one). Its key never leaves the
// computer: sealed in the store like every other secret, opened only to sign.
//
// ECDSA P-256 throughout: every libpq and OpenSSL since 1.0 speaks it, and keys are made in
// milliseconds. X.509 encoding is @peculiar/x509's, on Node's WebCrypto.
import { randomBytes, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
// @peculiar/x509 2 resolves its parts through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { SecretBox } from '../secrets';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** Where the sealed CA lives in the store's `secrets` table (also its sealing context). */
export const CA_SECRET = 'tls.ca';
/** The CA outlives every certificate it signs by far; renewing it would orphan the handed-out roots. */
const CA_DAYS = 3650;
/** Server certificates: a year, renewed a month before they end (see needsRenewal). */
export const SERVER_CERT_DAYS = 365;
export const RENEW_BEFORE_DAYS = 30;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** The CA certificate, for a client that wants `sslmode=verify-ca`. */
  caPem: string;
  serial: string;
  notAfter: string;
}

export interface ServerCertRequest {
  /** Shown in the subject; also a SAN when it is a DNS name. */
  commonName: string;
  dnsNames?: string[];
  ips?: string[];
  days?: number;
}

/** The `secrets` table, as far as the CA needs it (Store['secrets'] satisfies it). */
export interface SecretSlot {
  get(name: string): string | undefined;
  set(name: string, sealed: string | null): void;
}

interface StoredCa {
  certPem: string;
  keyPem: string;
}

const toPem = (der: ArrayBuffer, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;

const fromPem = (pem: string): ArrayBuffer => {
  const b64 = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
};

/** A positive serial of 16 random bytes (RFC 5280 allows up to 20 octets). */
const randomSerial = () => {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
};

export class AgentCa {
  private constructor(
    readonly certPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
  ) {}

  /** The CA of this data directory: opened from the store, or made (and sealed) on first use. */
  static async loadOrCreate(secrets: SecretSlot, box: SecretBox): Promise<AgentCa> {
    const sealed = secrets.get(CA_SECRET);
    if (sealed) {
      const stored = box.openJson<StoredCa>(sealed, CA_SECRET);
      const key = await crypto.subtle.importKey('pkcs8', fromPem(stored.keyPem), EC, false, ['sign']);
      return new AgentCa(stored.certPem, new x509.X509Certificate(stored.certPem), key);
    }
    const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `CN=Lattice agent CA ${randomBytes(4).toString('hex')}, O=Lattice`,
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + CA_DAYS * DAY_MS),
      signingAlgorithm: SIGNING,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const certPem = cert.toString('pem') + '\n';
    const keyPem = toPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    secrets.set(CA_SECRET, box.sealJson({ certPem, keyPem } satisfies StoredCa, CA_SECRET));
    return new AgentCa(certPem, cert, keys.privateKey);
  }

  /** A server certificate and its fresh key, signed by this CA. */
  async issueServerCert(req: ServerCertRequest): Promise<IssuedCert> {
    const commonName = req.commonName.trim();
    if (!commonName || /[,=+<>#;"\\]/.test(commonName)) {
      throw new Error(`Cannot issue a certificate for the name "${req.commonName}"`);
    }
    const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = Date.now();
    const notAfter = new Date(now + (req.days ?? SERVER_CERT_DAYS) * DAY_MS);
    const names: x509.JsonGeneralName[] = [
      ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(req.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const serial = randomSerial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${commonName}`,
      issuer: this.cert.subject,
      notBefore: new Date(now - 5 * 60_000),
      notAfter,
      signingAlgorithm: SIGNING,
      publicKey: keys.publicKey,
      signingKey: this.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return {
      certPem: cert.toString('pem') + '\n',
      keyPem: toPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
      caPem: this.certPem,
      serial,
      notAfter: notAfter.toISOString(),
    };
  }
}

/** Whether a certificate ends within the renewal window (or is not a certificate we can read). */
export function needsRenewal(certPem: string, now = Date.now()): boolean {
  try {
    const cert = new NodeX509(certPem);
    return Date.parse(cert.validTo) - now < RENEW_BEFORE_DAYS * DAY_MS;
  } catch {
    return true;
  }
}
