// `lattice hub` as a process: one database in its data directory, and a clear refusal (exit code and
// one line) when that database was written by a newer hub.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lattice } from '../helpers/agent-process';

const root = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'lattice-hub-start-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('lattice hub start-up', () => {
  test('a hub.db with a newer schema: exit code 1 and one line naming the file and the versions', async () => {
    const dataDir = tempDir();
    const db = new Database(join(dataDir, 'hub.db'));
    db.pragma('user_version = 99');
    db.close();

    const r = await lattice(['hub', '--data-dir', dataDir, '--port', '0'], { LATTICE_LOG_LEVEL: 'warn' });
    assert.equal(r.code, 1, `exit code; stderr:\n${r.stderr}`);
    // The launcher may first say it is rebuilding the CLI bundle; the hub's own word is one line, last.
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('lattice hub:')).length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at |Error:/m, 'no stack trace');
    assert.match(
      lines.at(-1)!,
      /^lattice hub: .*hub\.db is at schema version 99, newer than this hub knows \(\d+\); run the Lattice version that wrote it/,
    );
    assert.doesNotMatch(r.stdout, /listening on/);
    // The refusal touched nothing: still the newer version.
    const check = new Database(join(dataDir, 'hub.db'), { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 99);
    check.close();
  });

  test('a running hub keeps one database (hub.db, no relay.db) and its signing key in the data dir', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, ['bin/lattice.mjs', 'hub', '--data-dir', dataDir, '--port', '0'], {
      cwd: root,
      env: { ...process.env, LATTICE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`hub not ready in 60 s:\n${out}`)), 60_000);
        child.stdout.on('data', () => {
          if (!/listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) return;
          clearTimeout(timer);
          resolve();
        });
        void exited.then((code) => reject(new Error(`hub exited (${code}):\n${out}`)));
      });
      const files = readdirSync(dataDir).sort();
      const databases = files.filter((f) => f.endsWith('.db'));
      assert.deepEqual(databases, ['hub.db'], `files: ${files.join(', ')}`);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'SIGTERM stops the hub cleanly');
  });
});
