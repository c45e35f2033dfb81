// The `lattice` CLI as a child process against a local API backed by a fake agent (no Docker):
// output shapes, one-line errors, exit codes, and the message when no agent runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LatticeError, type CommandContext } from '../../shared';
import type { Agent } from '../../electron/agent/agent';
import { startLocalApi, type LocalApi } from '../../electron/agent/local-api';
import { sampleWorkload } from '../helpers/samples';

const root = new URL('../..', import.meta.url).pathname;
// The program alone (bin/lattice.mjs also loads the hub's commands, which these tests do not need). A file,
// not `node -e`: node would read a first argument `inspect` as its own debugger command.
const driverDir = mkdtempSync(join(tmpdir(), 'lattice-cli-driver-'));
const driver = join(driverDir, 'lattice.mts');
writeFileSync(
  driver,
  `const { buildProgram } = await import(${JSON.stringify(join(root, 'electron/agent/cli/program.ts'))});\n` +
    'await buildProgram().parseAsync(process.argv);\n',
);

function lattice(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', driver, ...args], {
      cwd: root,
      env: { ...process.env, LATTICE_DATA_DIR: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const db = sampleWorkload({
  volumes: [{ source: 'lattice-db-data', target: '/var/lib/postgresql/data', kind: 'volume' }],
  connectionString: 'postgres://u:p@127.0.0.1:15432/app',
});

describe('lattice CLI', () => {
  let dataDir: string;
  let emptyDir: string;
  let api: LocalApi;
  const calls: { name: string; args: unknown }[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lattice-cli-'));
    emptyDir = mkdtempSync(join(tmpdir(), 'lattice-cli-empty-'));
    const agent: Agent = {
      dataDir,
      ownerId: 'owner',
      dispatch: (async (name: string, args: unknown, _ctx: CommandContext) => {
        calls.push({ name, args });
        const ref = (args as { ref?: string })?.ref;
        if (ref !== undefined && ref !== 'db')
          throw new LatticeError('not_found', `No workload named "${ref}"`);
        if (name === 'workload.list') return [db];
        if (name === 'workload.deploy') return db;
        if (name === 'workload.stop') return { ...db, status: 'stopped' };
        if (name === 'workload.delete') return { id: 'w1', volumesRemoved: true };
        if (name === 'workload.logs')
          return { lines: [{ stream: 'stdout', text: 'ready to accept connections' }] };
        return db;
      }) as Agent['dispatch'],
      onEvent: () => () => undefined,
      followLogs: async () => () => undefined,
      wake: async () => undefined,
      close: async () => undefined,
    };
    api = await startLocalApi(agent, { port: 0 });
  });
  after(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
    rmSync(driverDir, { recursive: true, force: true });
  });

  test('no agent running: one clear line and exit 1', async () => {
    const r = await lattice(['ls', '--data-dir', emptyDir]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `error: No Lattice agent is running for ${emptyDir} — start one with \`lattice agent\`\n`,
    );
    assert.equal(r.stdout, '');
  });

  test('bad flags fail before the agent is asked anything', async () => {
    const before = calls.length;
    const r = await lattice(['deploy', 'custom', '--image', 'x', '-p', 'abc', '--data-dir', dataDir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: -p abc: "abc" is not a port number\n');
    const unknown = await lattice(['ls', '--colour', '--data-dir', dataDir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: unknown option '--colour'[^\n]*\n$/);
    const port = await lattice(['agent', '--api-port', 'abc', '--data-dir', emptyDir]);
    assert.equal(port.code, 1);
    assert.equal(port.stderr, 'error: --api-port abc: must be a port number (0 picks a free one)\n');
    assert.equal(calls.length, before);
  });

  test('ls --json prints the workloads; ls prints a table', async () => {
    const json = await lattice(['ls', '--json', '--data-dir', dataDir]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [db]);
    const human = await lattice(['ls', '--data-dir', dataDir]);
    assert.match(human.stdout, /^NAME\s+TEMPLATE\s+STATUS\s+PORTS\s+IMAGE\n/);
    assert.match(human.stdout, /db\s+postgres\s+running\s+127\.0\.0\.1:15432->5432\/tcp\s+postgres:16/);
  });

  test('deploy sends the parsed args and prints the workload', async () => {
    const r = await lattice(['deploy', 'postgres', '--name', 'db', '--json', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).connectionString, db.connectionString);
    assert.deepEqual(calls.at(-1), { name: 'workload.deploy', args: { template: 'postgres', name: 'db' } });
    const human = await lattice(['deploy', 'postgres', '--data-dir', dataDir]);
    assert.match(human.stdout, /connection\s+postgres:\/\/u:p@127\.0\.0\.1:15432\/app/);
  });

  test('verbs map to commands; agent errors are one line with exit 1', async () => {
    const stop = await lattice(['stop', 'db', '--data-dir', dataDir]);
    assert.equal(stop.stdout, 'db: stopped\n');
    const rm = await lattice(['rm', 'db', '--volumes', '--data-dir', dataDir]);
    assert.equal(rm.code, 0);
    assert.deepEqual(calls.at(-1), { name: 'workload.delete', args: { ref: 'db', volumes: true } });
    const logs = await lattice(['logs', 'db', '--tail', '5', '--data-dir', dataDir]);
    assert.equal(logs.stdout, 'ready to accept connections\n');
    assert.deepEqual(calls.at(-1), { name: 'workload.logs', args: { ref: 'db', tail: 5 } });
    const missing = await lattice(['inspect', 'nosuch', '--data-dir', dataDir]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error: No workload named "nosuch"\n');
  });
});
