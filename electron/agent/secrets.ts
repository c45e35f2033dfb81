// Secrets at rest: AES-256-GCM with a random 96-bit IV per value. The key comes from a KeyProvider:
// Electron's safeStorage in the app, a 0600 file in the data directory when headless.
import { chmodSync, existsSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyProtection } from '../../shared';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Where the AES-256-GCM key for secrets comes from: `fileKeyProvider` below, or the app's safeStorage one. */
export interface KeyProvider {
  protection: KeyProtection;
  /** Returns the 32-byte key, creating and persisting it on first use. */
  loadOrCreateKey(dataDir: string): Buffer;
}

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error(`The secrets key must be 32 bytes, got ${key.length}`);
  }

  /**
   * `context` is bound as additional authenticated data, so a sealed value copied into another row
   * (another workload's credentials, another setting) fails to open instead of being used there.
   */
  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `${VERSION}:${Buffer.concat([iv, tag, body]).toString('base64')}`;
  }

  open(sealed: string, context = ''): string {
    const [version, payload] = sealed.split(':', 2);
    if (version !== VERSION || !payload) throw new Error('Sealed secret has an unknown format');
    const raw = Buffer.from(payload, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('Sealed secret is truncated');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new Error('Sealed secret failed authentication (tampered, or sealed with another key)');
    }
  }

  sealJson(value: unknown, context = ''): string {
    return this.seal(JSON.stringify(value), context);
  }

  openJson<T>(sealed: string, context = ''): T {
    return JSON.parse(this.open(sealed, context)) as T;
  }
}

export const KEY_FILE = 'secret.key';
/** Where the tray app keeps the key once it has taken it over, encrypted by the OS keyring (safeStorage). */
export const PROTECTED_KEY_FILE = 'secret.key.safestorage';

/**
 * Headless key storage: 32 random bytes in `<dataDir>/secret.key`, mode 0600. A key file readable by
 * others is tightened back to 0600 on load (the data directory itself is 0700, so the exposure was
 * local); a key file we cannot tighten or of the wrong size is refused rather than used.
 */
export const fileKeyProvider: KeyProvider = {
  protection: 'file',
  loadOrCreateKey(dataDir: string): Buffer {
    const path = join(dataDir, KEY_FILE);
    if (!existsSync(path) && existsSync(join(dataDir, PROTECTED_KEY_FILE))) {
      // A fresh key here would make every stored credential unreadable: the real one is in the keyring.
      throw new Error(
        `The secrets key of ${dataDir} is protected by the Lattice app (OS keyring); ` +
          'start the app, or use another --data-dir for a headless agent.',
      );
    }
    if (!existsSync(path)) {
      const key = randomBytes(32);
      // 'wx' fails if another process created it in between; then we read theirs below.
      try {
        const fd = openSync(path, 'wx', 0o600);
        try {
          writeSync(fd, key);
        } finally {
          closeSync(fd);
        }
        return key;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) {
      chmodSync(path, 0o600);
      if (statSync(path).mode & 0o077) {
        throw new Error(`${path} is readable by other users (mode ${mode.toString(8)}) and cannot be fixed`);
      }
    }
    const key = readFileSync(path);
    if (key.length !== 32)
      throw new Error(`${path} is not a 32-byte key (${key.length} bytes); refusing to use it`);
    return key;
  },
};
