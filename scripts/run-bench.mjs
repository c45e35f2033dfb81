#!/usr/bin/env node
// Runs every bench (through tsx) one after the other: a bench/<name>.ts, or a bench/<name>/ folder
// run from its index.ts; arguments filter by name (`npm run bench relay`, `npm run bench hub`).
// bench/support/ holds their helpers, not benches.
// Benchmarks print their numbers; they never fail on timings, only on errors.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = readdirSync(join(root, 'bench'))
  .map((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts') ? f : join(f, 'index.ts')))
  .filter((f) => f.endsWith('.ts') && existsSync(join(root, 'bench', f)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error(`No benchmarks in bench/ ${filters.join(' ')}`);
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  console.log(`\n== bench/${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', file)], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
