// The CLI bundle (scripts/cli-bundle.mjs): a build is current as soon as it is made (its recorded
// inputs all exist and are older), and zod sits in a file of its own beside the entry, so a command
// that never validates does not read it. The relay byte streams' worker thread is a file beside the
// agent's bundle too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { buildCliBundle, freshCliBundle } from '../../scripts/cli-bundle.mjs';
import { PUMP_WORKER_BUNDLE } from '../../electron/agent/tunnels/relay-stream-thread';
import { streamThroughWorkerFile } from '../helpers/pump-worker';

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

test('the relay byte streams worker is beside the agent bundle, which looks for it there, and pumps a stream', async () => {
  const entry = await buildCliBundle();
  const dir = dirname(entry);
  const current = JSON.parse(readFileSync(join(dirname(dir), 'current.json'), 'utf8'));
  assert.ok(
    current.inputs.includes('electron/agent/tunnels/relay-stream-worker.ts'),
    'the worker is an input',
  );
  const worker = join(dir, PUMP_WORKER_BUNDLE);
  assert.ok(existsSync(worker), `${worker} exists`);
  // `lattice agent` runs the agent's own bundle, which finds the worker next to its __filename.
  const agent = readFileSync(join(dir, 'electron-agent-run-agent.cjs'), 'utf8');
  assert.ok(agent.includes(JSON.stringify(PUMP_WORKER_BUNDLE)), 'the agent bundle names the worker file');
  assert.match(agent, /__filename/);
  // The worker bundled stream-pump.ts; what it requires at run time is Node's own.
  const required = [...readFileSync(worker, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  assert.ok(required.length > 0 && required.every((name) => name.startsWith('node:')), required.join());
  const stats = await streamThroughWorkerFile(worker);
  assert.notEqual(stats.threadId, threadId);
  assert.equal(stats.joined, 1);
});
