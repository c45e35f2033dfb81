// The secrets key, protected by the OS keyring through Electron's safeStorage. The agent's own
// headless provider keeps the key in a 0600 file; in the app the key is stored encrypted instead,
// and a key a headless run created earlier is taken over (encrypted, then the plain file removed),
// so the secrets already sealed with it stay readable.
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SafeStorage } from 'electron';
import type { KeyProtection } from '../../shared';
import { fileKeyProvider, KEY_FILE, PROTECTED_KEY_FILE, type KeyProvider } from '../agent';

export { PROTECTED_KEY_FILE };

export type SafeStorageLike = Pick<
  SafeStorage,
  'isEncryptionAvailable' | 'encryptString' | 'decryptString'
> & {
  getSelectedStorageBackend?: SafeStorage['getSelectedStorageBackend'];
};

/**
 * How the key will be protected. On Linux without a keyring Electron falls back to `basic_text`, a
 * hard-coded password: the console has to say so, because that is no better than a file.
 */
export function keyProtectionOf(safeStorage: SafeStorageLike, platform: NodeJS.Platform): KeyProtection {
  if (platform === 'linux' && safeStorage.getSelectedStorageBackend?.() === 'basic_text') return 'basic_text';
  return safeStorage.isEncryptionAvailable() ? 'safeStorage' : 'file';
}

function writeFileExclusive(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function checkKey(key: Buffer, where: string): Buffer {
  if (key.length !== 32)
    throw new Error(`${where} does not hold a 32-byte key (${key.length} bytes); refusing to use it`);
  return key;
}

/** A KeyProvider backed by safeStorage. Call after the app's `ready` (safeStorage needs it on Linux). */
export function createSafeStorageKeyProvider(
  safeStorage: SafeStorageLike,
  platform: NodeJS.Platform = process.platform,
): KeyProvider {
  const protection = keyProtectionOf(safeStorage, platform);
  return {
    protection,
    loadOrCreateKey(dataDir: string): Buffer {
      const protectedPath = join(dataDir, PROTECTED_KEY_FILE);
      const plainPath = join(dataDir, KEY_FILE);
      if (!safeStorage.isEncryptionAvailable()) {
        if (existsSync(protectedPath)) {
          throw new Error(
            'The secrets key is encrypted with the OS keyring, which is not available now. ' +
              'Unlock the keyring (or log in to the desktop session) and start Lattice again.',
          );
        }
        // No keyring at all: the same 0600 file as a headless agent.
        return fileKeyProvider.loadOrCreateKey(dataDir);
      }
      if (existsSync(protectedPath)) {
        const stored = readFileSync(protectedPath);
        let hex: string;
        try {
          hex = safeStorage.decryptString(stored);
        } catch (err) {
          throw new Error(`${protectedPath} cannot be decrypted with this user's keyring: ${String(err)}`);
        }
        return checkKey(Buffer.from(hex, 'hex'), protectedPath);
      }
      // Take over a key a headless run made, or make a new one.
      const key = existsSync(plainPath) ? checkKey(readFileSync(plainPath), plainPath) : randomBytes(32);
      writeFileExclusive(protectedPath, safeStorage.encryptString(key.toString('hex')));
      // Only once the encrypted copy reads back as the same key is the plain one removed.
      const check = Buffer.from(safeStorage.decryptString(readFileSync(protectedPath)), 'hex');
      if (!check.equals(key)) throw new Error(`${protectedPath} did not read back as the key just written`);
      if (existsSync(plainPath)) rmSync(plainPath);
      return key;
    },
  };
}
