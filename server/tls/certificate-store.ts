// Where the hub keeps what ACME gave it: `tls/` in its data directory (0700), the account key, the
// certificate chain and its key (0600), so a restart serves the same certificate without asking the
// CA again.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificatePair } from './hub-certificate';

export class CertificateStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'tls');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  private write(name: string, text: string): void {
    // Written aside and renamed: a crash never leaves half a key where the hub reads it at start.
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, join(this.dir, name));
  }

  private read(name: string): string | undefined {
    const file = join(this.dir, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  accountKey(): string | undefined {
    return this.read('acme-account.key');
  }

  saveAccountKey(pem: string): void {
    this.write('acme-account.key', pem);
  }

  certificate(): CertificatePair | undefined {
    const certPem = this.read('cert.pem');
    const keyPem = this.read('key.pem');
    return certPem && keyPem ? { certPem, keyPem } : undefined;
  }

  saveCertificate(pair: CertificatePair): void {
    // The key first: a cert.pem never sits next to a key.pem it does not match for long.
    this.write('key.pem', pair.keyPem);
    this.write('cert.pem', pair.certPem);
  }
}
