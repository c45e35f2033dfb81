// Files the agent and the hub create are the owner's alone: 0600, folders 0700, whatever the umask
// (the usual 022 would make them world-readable), including logs/agent.log and files that existed
// with a looser mode before.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../electron/agent/logger';
import { runLabels, startAgentProcess } from '../helpers/agent-process';
import { pairDevice, registerUser, startTestHub } from './hub-fixtures';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'lattice-modes-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
process.umask(0o022);

/** Every file and folder under `root` (root included) with its permission bits. */
function modes(root: string): Map<string, number> {
  const out = new Map<string, number>([[root, statSync(root).mode & 0o777]]);
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    out.set(path, statSync(path).mode & 0o777);
  }
  return out;
}

function assertPrivate(root: string, mustInclude: string[]): void {
  const all = modes(root);
  for (const name of mustInclude) assert.ok(all.has(join(root, name)), `${name} was created`);
  for (const [path, mode] of all) {
    const want = statSync(path).isDirectory() ? 0o700 : 0o600;
    assert.equal(mode.toString(8), want.toString(8), path);
  }
}

test('the agent log: logs/ is 0700 and agent.log 0600, also when they existed with looser modes', () => {
  const fresh = tempDir();
  createLogger(fresh, { LATTICE_LOG_LEVEL: 'silent' }).info('hello');
  assertPrivate(join(fresh, 'logs'), ['agent.log']);

  const loose = tempDir();
  mkdirSync(join(loose, 'logs'), { mode: 0o755 });
  writeFileSync(join(loose, 'logs', 'agent.log'), '{"old":"line"}\n', { mode: 0o644 });
  chmodSync(join(loose, 'logs'), 0o755);
  createLogger(loose, { LATTICE_LOG_LEVEL: 'silent' }).info('hello again');
  assertPrivate(join(loose, 'logs'), ['agent.log']);
});

test('a running agent’s data dir holds only 0600 files and 0700 folders', async () => {
  const dataDir = join(tempDir(), 'agent');
  const agent = await startAgentProcess(dataDir, runLabels().env);
  try {
    assertPrivate(dataDir, ['logs/agent.log', 'api-token']);
  } finally {
    await agent.stop();
  }
  assertPrivate(dataDir, ['logs/agent.log']);
});

test('a hub’s data dir holds only 0600 files and 0700 folders', async () => {
  const dataDir = join(tempDir(), 'hub');
  const hub = await startTestHub({ dataDir });
  try {
    const user = await registerUser(hub);
    await pairDevice(hub, user.accessToken);
    assertPrivate(dataDir, ['hub.db', 'hub.db-wal']);
  } finally {
    await hub.stop();
  }
  assertPrivate(dataDir, ['hub.db']);

  // A data dir and database that existed looser are tightened before the hub opens them.
  chmodSync(dataDir, 0o755);
  chmodSync(join(dataDir, 'hub.db'), 0o644);
  const again = await startTestHub({ dataDir });
  try {
    assertPrivate(dataDir, ['hub.db', 'hub.db-wal']);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  } finally {
    await again.stop();
  }
});
