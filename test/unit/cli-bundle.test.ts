// The CLI bundle (scripts/cli-bundle.mjs): a build is current as soon as it is made (its recorded
// inputs all exist and are older), and zod sits in a file of its own beside the entry, so a command
// that never validates does not read it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildCliBundle, freshCliBundle } from '../../scripts/cli-bundle.mjs';

const root = new URL('../..', import.meta.url).pathname;

test('a new build is current, lists only files that exist, and keeps zod beside the entry', async () => {
  const entry = await buildCliBundle();
  // Another process may have rebuilt since; either way the current build must be fresh.
  assert.ok(freshCliBundle(), 'the bundle just built is not seen as stale');
  const current = JSON.parse(readFileSync(join(dirname(dirname(entry)), 'current.json'), 'utf8'));
  for (const input of current.inputs) assert.ok(existsSync(join(root, input)), `input ${input} exists`);
  const zod = join(dirname(entry), 'zod.cjs');
  assert.ok(existsSync(zod));
  assert.ok(statSync(entry).size < statSync(zod).size / 2, 'zod is not in the entry bundle');
  assert.match(readFileSync(entry, 'utf8'), /require\("\.\/zod\.cjs"\)/);
});
