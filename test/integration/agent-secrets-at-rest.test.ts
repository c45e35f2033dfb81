// No plaintext secret in any file of the data directory: database, WAL, shared memory, logs, key file.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { requireFixtureImages } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';

let t: TestAgent;
before(async () => {
  await requireFixtureImages('postgres', 'minio');
  t = await startTestAgent();
});
after(async () => {
  await t?.cleanup();
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function scan(dir: string, secrets: string[]): string[] {
  const hits: string[] = [];
  for (const file of files(dir)) {
    const bytes = readFileSync(file);
    for (const s of secrets) {
      for (const form of [Buffer.from(s, 'utf8'), Buffer.from(s, 'utf16le')]) {
        if (bytes.includes(form)) hits.push(`${file} contains ${s.slice(0, 4)}…`);
      }
    }
  }
  return hits;
}

describe('secrets at rest', () => {
  it('generated passwords, the ngrok token and remote results are never stored in clear', async () => {
    const local = { door: 'local' as const };
    const pgW = await t.agent.dispatch('workload.deploy', { template: 'postgres', name: 'sr-pg' }, local);
    const remote = {
      door: 'remote' as const,
      user: { id: 'u', email: 'o@example.com' },
      commandId: 'sr-cmd-1',
    };
    const minio = await t.agent.dispatch('workload.deploy', { template: 'minio', name: 'sr-minio' }, remote);
    const token = 'ngrok-token-2xYzSuperSecretValue123';
    await t.agent.dispatch('settings.set', { ngrokAuthtoken: token }, local);
    const s = await t.agent.dispatch('settings.get', {}, local);
    assert.equal(s.ngrokConfigured, true);
    assert.ok(!JSON.stringify(s).includes(token));
    // Logs and lists that touch the credentials.
    await t.agent.dispatch('workload.list', {}, local);
    await t.agent.dispatch('workload.get', { ref: 'sr-pg' }, { ...remote, commandId: 'sr-cmd-2' });

    const secrets = [pgW.password!, minio.secretKey!, token];
    assert.ok(
      files(t.dataDir).some((f) => f.endsWith('-wal')),
      'the WAL exists while the agent runs',
    );
    assert.deepEqual(scan(t.dataDir, secrets), [], 'while running (WAL included)');
    await t.agent.close();
    assert.deepEqual(scan(t.dataDir, secrets), [], 'after close');
    const agentLog = readFileSync(join(t.dataDir, 'logs', 'agent.log'), 'utf8');
    assert.match(agentLog, /sr-pg/, 'the log did record the deploy');
  });
});
