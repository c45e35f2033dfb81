#!/usr/bin/env node
// Runs the test suites with Node's own runner (through tsx), in a fixed order: unit, integration, e2e.
// `npm test` runs all of them; `npm run test:unit` / `test:e2e` one suite. Extra arguments are file filters.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const SUITES = ['unit', 'integration', 'e2e'];
const [suiteArg, ...filters] = process.argv.slice(2);
const suites = suiteArg && SUITES.includes(suiteArg) ? [suiteArg] : SUITES;
if (suiteArg && !SUITES.includes(suiteArg)) filters.unshift(suiteArg);

function find(dir) {
  let out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (/\.test\.tsx?$/.test(entry)) out.push(path);
  }
  return out;
}

const files = suites
  .flatMap((s) => {
    try {
      return find(join(root, 'test', s)).sort();
    } catch {
      return [];
    }
  })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .map((f) => relative(root, f));

if (files.length === 0) {
  console.error(`No test files found for ${suites.join(', ')} ${filters.join(' ')}`);
  process.exit(1);
}

// The full run (`npm test`) also gates on types and lint, before the suites, so the runner's counts
// stay the last lines printed.
if (!suiteArg && filters.length === 0) {
  for (const script of ['typecheck', 'lint']) {
    console.log(`\n▶ npm run ${script}`);
    const r = spawnSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`npm run ${script} failed`);
      process.exit(r.status ?? 1);
    }
  }
}

// A test that hangs fails after this instead of holding the run until CI's own limit.
const TEST_TIMEOUT = '--test-timeout=600000';

// Unit tests create nothing in Docker, so only runs with Docker suites sweep leftovers.
const sweep = () =>
  suites.some((s) => s !== 'unit') &&
  spawnSync('node', ['--import', 'tsx', 'test/helpers/sweep.ts'], { cwd: root, stdio: 'inherit' });
sweep();
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.LATTICE_TEST_CONCURRENCY ?? 2}`,
    TEST_TIMEOUT,
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, LATTICE_TEST: '1' } },
);
// The hub's tests once more with its state in PostgreSQL instead of SQLite (test/helpers/postgres-server.ts
// starts a real PostgreSQL 15 per file): every hub test file that starts a hub or a store through the test
// fixtures. The cluster files run on PostgreSQL already; hub-startup, the certificate, token and placement
// units test SQLite files or no store at all.
const HUB_POSTGRES_FILES = [
  'test/unit/hub-store-contract.test.ts',
  'test/unit/hub-store.test.ts',
  'test/unit/share-relay.test.ts',
  'test/unit/hub-limits.test.ts',
  'test/unit/hub-command-relay.test.ts',
  'test/unit/hub-link.test.ts',
  'test/integration/hub-security.test.ts',
  'test/integration/hub-command-ids.test.ts',
  'test/integration/hub-abuse.test.ts',
  'test/integration/hub-agent.test.ts',
  'test/integration/hub-openapi.test.ts',
  'test/integration/hub-queue.test.ts',
  'test/integration/hub-trpc-limits.test.ts',
  'test/integration/hub-upgrade-refusal.test.ts',
  'test/integration/hub-relay-ownership.test.ts',
  'test/integration/hub-api-agents.test.ts',
];
const postgresFiles = HUB_POSTGRES_FILES.filter((f) => files.includes(f));
let postgresStatus = 0;
if (postgresFiles.length > 0) {
  console.log(
    `\n▶ the hub's tests again against PostgreSQL (LATTICE_HUB_DATABASE=postgres): ${postgresFiles.length} files`,
  );
  const again = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${process.env.LATTICE_TEST_CONCURRENCY ?? 2}`,
      TEST_TIMEOUT,
      '--test-reporter=spec',
      ...postgresFiles,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, LATTICE_TEST: '1', LATTICE_HUB_DATABASE: 'postgres' },
    },
  );
  postgresStatus = again.status ?? 1;
}
sweep();
process.exit((result.status ?? 1) || postgresStatus);
