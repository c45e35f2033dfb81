// The safeStorage-backed key provider, with a fake safeStorage (the real one needs Electron and a keyring).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PROTECTED_KEY_FILE,
  createSafeStorageKeyProvider,
  type SafeStorageLike,
} from '../../electron/main/key-protection';

const MAGIC = Buffer.from('FAKEKEYRING');

function fakeSafeStorage(
  backend: ReturnType<NonNullable<SafeStorageLike['getSelectedStorageBackend']>> = 'gnome_libsecret',
  available = true,
): SafeStorageLike & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString: (text: string) => {
      calls.push('encrypt');
      return Buffer.concat([MAGIC, Buffer.from(text, 'utf8').map((b) => b ^ 0x5a)]);
    },
    decryptString: (data: Buffer) => {
      calls.push('decrypt');
      if (!data.subarray(0, MAGIC.length).equals(MAGIC))
        throw new Error('Error while decrypting the ciphertext');
      return Buffer.from(data.subarray(MAGIC.length).map((b) => b ^ 0x5a)).toString('utf8');
    },
  };
}

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-key-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('safeStorage key provider', () => {
  test('with a keyring: a new key is stored encrypted, never in plain, and read back the same', () => {
    const dir = dataDir();
    const storage = fakeSafeStorage();
    const provider = createSafeStorageKeyProvider(storage, 'linux');
    assert.equal(provider.protection, 'safeStorage');
    const key = provider.loadOrCreateKey(dir);
    assert.equal(key.length, 32);
    assert.equal(existsSync(join(dir, 'secret.key')), false, 'no plain key file');
    const stored = readFileSync(join(dir, PROTECTED_KEY_FILE));
    assert.equal(stored.includes(key), false);
    assert.equal(stored.includes(Buffer.from(key.toString('hex'))), false, 'not the hex either');
    assert.equal(statSync(join(dir, PROTECTED_KEY_FILE)).mode & 0o077, 0, 'file is private');
    const again = createSafeStorageKeyProvider(fakeSafeStorage(), 'linux').loadOrCreateKey(dir);
    assert.ok(again.equals(key));
  });

  test('Linux basic_text backend is reported as such, so the console can warn', () => {
    assert.equal(
      createSafeStorageKeyProvider(fakeSafeStorage('basic_text'), 'linux').protection,
      'basic_text',
    );
    assert.equal(
      createSafeStorageKeyProvider(fakeSafeStorage('kwallet5'), 'linux').protection,
      'safeStorage',
    );
    // The backend query is Linux-only; elsewhere the OS keychain is always there.
    assert.equal(
      createSafeStorageKeyProvider(fakeSafeStorage('basic_text'), 'darwin').protection,
      'safeStorage',
    );
  });

  test("a headless agent's plain key is taken over: same key, now encrypted, plain file gone", () => {
    const dir = dataDir();
    const headlessKey = randomBytes(32);
    writeFileSync(join(dir, 'secret.key'), headlessKey, { mode: 0o600 });
    const key = createSafeStorageKeyProvider(fakeSafeStorage(), 'linux').loadOrCreateKey(dir);
    assert.ok(key.equals(headlessKey), 'secrets sealed before stay readable');
    assert.equal(existsSync(join(dir, 'secret.key')), false);
    assert.ok(existsSync(join(dir, PROTECTED_KEY_FILE)));
  });

  test('no keyring at all: falls back to the 0600 file, like the headless agent', () => {
    const dir = dataDir();
    const provider = createSafeStorageKeyProvider(fakeSafeStorage('unknown', false), 'linux');
    assert.equal(provider.protection, 'file');
    const key = provider.loadOrCreateKey(dir);
    assert.ok(readFileSync(join(dir, 'secret.key')).equals(key));
    assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);
  });

  test('an encrypted key with the keyring unavailable is a clear error, not a new key', () => {
    const dir = dataDir();
    createSafeStorageKeyProvider(fakeSafeStorage(), 'linux').loadOrCreateKey(dir);
    const locked = createSafeStorageKeyProvider(fakeSafeStorage('unknown', false), 'linux');
    assert.throws(() => locked.loadOrCreateKey(dir), /encrypted with the OS keyring, which is not available/);
    assert.equal(existsSync(join(dir, 'secret.key')), false, 'no second key was made');
  });

  test('an encrypted key this keyring cannot open, or of the wrong size, is refused', () => {
    const dir = dataDir();
    writeFileSync(join(dir, PROTECTED_KEY_FILE), 'garbage');
    assert.throws(
      () => createSafeStorageKeyProvider(fakeSafeStorage(), 'linux').loadOrCreateKey(dir),
      /cannot be decrypted with this user's keyring/,
    );
    const storage = fakeSafeStorage();
    writeFileSync(join(dir, PROTECTED_KEY_FILE), storage.encryptString('abcd'));
    assert.throws(() => createSafeStorageKeyProvider(storage, 'linux').loadOrCreateKey(dir), /32-byte key/);
  });
});
