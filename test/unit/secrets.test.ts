// AES-256-GCM secrets: round trip, tamper detection, context binding, and the 0600 key file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { fileKeyProvider, KEY_FILE, PROTECTED_KEY_FILE, SecretBox } from '../../electron/agent/secrets';

test('seal and open round trip; every seal uses a fresh IV', () => {
  const box = new SecretBox(randomBytes(32));
  const a = box.seal('hunter2-ünïcode', 'ctx');
  const b = box.seal('hunter2-ünïcode', 'ctx');
  assert.notEqual(a, b);
  assert.ok(!a.includes('hunter2'));
  assert.equal(box.open(a, 'ctx'), 'hunter2-ünïcode');
  assert.deepEqual(box.openJson(box.sealJson({ x: [1, 2] })), { x: [1, 2] });
});

test('a tampered value, another context or another key fails to open', () => {
  const box = new SecretBox(randomBytes(32));
  const sealed = box.seal('secret value', 'workload:1');
  const raw = Buffer.from(sealed.slice(3), 'base64');
  for (const i of [0, 14, raw.length - 1]) {
    const bad = Buffer.from(raw);
    bad[i] ^= 1;
    assert.throws(() => box.open(`v1:${bad.toString('base64')}`, 'workload:1'), /authentication/);
  }
  assert.throws(() => box.open(sealed, 'workload:2'), /authentication/);
  assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'workload:1'), /authentication/);
  assert.throws(() => box.open('v2:abc'), /format/);
  assert.throws(() => new SecretBox(randomBytes(16)), /32 bytes/);
});

test('the file key provider creates a 0600 32-byte key and reloads the same key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-key-'));
  try {
    const key = fileKeyProvider.loadOrCreateKey(dir);
    assert.equal(key.length, 32);
    const path = join(dir, KEY_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(fileKeyProvider.loadOrCreateKey(dir), key);
    assert.deepEqual(readFileSync(path), key);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key file readable by others is tightened to 0600; a wrong-size key is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-key-'));
  try {
    const path = join(dir, KEY_FILE);
    const key = randomBytes(32);
    writeFileSync(path, key);
    chmodSync(path, 0o644);
    assert.deepEqual(fileKeyProvider.loadOrCreateKey(dir), key);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    writeFileSync(path, randomBytes(16));
    assert.throws(() => fileKeyProvider.loadOrCreateKey(dir), /32-byte/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a headless agent refuses to mint a new key where the app keeps the real one in the keyring', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-key-'));
  writeFileSync(join(dir, PROTECTED_KEY_FILE), 'sealed-by-safeStorage');
  assert.throws(() => fileKeyProvider.loadOrCreateKey(dir), /protected by the Lattice app/);
  assert.equal(existsSync(join(dir, KEY_FILE)), false);
});
