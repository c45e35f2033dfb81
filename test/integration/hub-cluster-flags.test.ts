// `lattice hub --database/--bus`: a malformed value, --bus without --database, or an unreachable
// PostgreSQL ends the command with one line saying what was wrong (exit code not 0); so does a
// cluster hub without an address agents can dial (--advertise-url). An unreachable NATS:
// hub-cluster.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net';

const root = new URL('../..', import.meta.url).pathname;

function hub(...args: string[]): { status: number | null; stderr: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-hub-flags-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['bin/lattice.mjs', 'hub', '--data-dir', dataDir, '--port', '0', ...args],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    return { status: r.status, stderr: r.stderr.trim() };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('lattice hub cluster flags', () => {
  test('malformed values are refused before anything starts, naming the flag', () => {
    const db = hub('--database', 'mysql://h/db');
    assert.notEqual(db.status, 0);
    assert.match(
      db.stderr,
      /--database <url>' argument 'mysql:\/\/h\/db' is invalid\. must be a postgres:\/\/ URL, not mysql:/,
    );
    const bus = hub('--database', 'postgres://u@127.0.0.1/db', '--bus', 'localhost:4222');
    assert.notEqual(bus.status, 0);
    assert.match(
      bus.stderr,
      /--bus <url>' argument 'localhost:4222' is invalid\. must be a nats:\/\/ \(or tls:\/\/\) URL/,
    );
    const alone = hub('--bus', 'nats://127.0.0.1:4222');
    assert.notEqual(alone.status, 0);
    assert.match(alone.stderr, /--bus connects hubs that share one --database/);
  });

  test("a cluster hub needs an address agents can dial: --advertise-url on a wildcard --host, of the hub's own scheme", () => {
    const cluster = ['--database', 'postgres://u@127.0.0.1:1/db', '--bus', 'nats://127.0.0.1:1'];
    const wildcard = hub(...cluster, '--host', '0.0.0.0');
    assert.notEqual(wildcard.status, 0);
    assert.match(
      wildcard.stderr,
      /^lattice hub: --advertise-url is needed with --bus when the hub listens on 0\.0\.0\.0/,
    );
    const scheme = hub(...cluster, '--advertise-url', 'https://hub-a.internal:8080');
    assert.notEqual(scheme.status, 0);
    assert.match(
      scheme.stderr,
      /--advertise-url must start with http:\/\/ like the hub itself \(got https:\/\/\)/,
    );
    const bad = hub(...cluster, '--advertise-url', 'hub-a');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--advertise-url <url>' argument 'hub-a' is invalid/);
  });

  test('an unreachable PostgreSQL ends the start with one line naming it, password masked', async () => {
    const port = await freePort();
    const db = hub('--database', `postgres://lattice:s3cret@127.0.0.1:${port}/lattice`);
    assert.notEqual(db.status, 0);
    assert.equal(
      db.stderr,
      `lattice hub: cannot reach PostgreSQL at postgres://lattice:***@127.0.0.1:${port}/lattice (ECONNREFUSED)`,
    );
  });
});
