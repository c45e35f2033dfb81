// Which data dir the CLI and the agent use: --data-dir, then LATTICE_DATA_DIR, then the per-user config dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import envPaths from 'env-paths';
import { ensureDataDir, resolveDataDir } from '../../electron/agent/data-dir';

test('--data-dir beats LATTICE_DATA_DIR, which beats the OS config dir', () => {
  assert.equal(resolveDataDir('rel/dir', { LATTICE_DATA_DIR: '/env/dir' }), resolve('rel/dir'));
  assert.equal(resolveDataDir(undefined, { LATTICE_DATA_DIR: '/env/dir' }), '/env/dir');
  const fallback = resolveDataDir(undefined, {});
  assert.equal(fallback, envPaths('lattice', { suffix: '' }).config);
  assert.match(fallback, /lattice$/);
});

test('ensureDataDir creates the dir 0700 and tightens an existing open one', () => {
  const base = mkdtempSync(join(tmpdir(), 'lattice-dd-'));
  try {
    const fresh = ensureDataDir(join(base, 'a', 'b'));
    assert.equal(statSync(fresh).mode & 0o777, 0o700);
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    ensureDataDir(open);
    assert.equal(statSync(open).mode & 0o777, 0o700);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
