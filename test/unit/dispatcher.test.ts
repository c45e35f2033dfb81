// The one dispatcher: validation, door checks, result shaping and idempotency of remote command ids,
// with a real SQLite store and stub handlers (no Docker).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { LatticeError, type CommandContext, type Workload } from '../../shared';
import { createDispatcher, type Handlers } from '../../electron/agent/dispatcher';
import { openStore } from '../../electron/agent/store';
import { SecretBox } from '../../electron/agent/secrets';

const dir = mkdtempSync(join(tmpdir(), 'lattice-dispatch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = join(dir, 'agent.db');
const box = new SecretBox(randomBytes(32));
const logger = pino({ level: 'silent' });

const workload = (name: string): Workload => ({
  id: `id-${name}`,
  name,
  template: 'postgres',
  image: 'postgres:16',
  status: 'running',
  ports: [],
  volumes: [],
  restart: 'unless-stopped',
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
  origin: 'remote',
  password: 'S3cretPasswordValueXYZ',
});

function setup() {
  const store = openStore(dbPath);
  let deploys = 0;
  const handlers = new Proxy({} as Handlers, {
    get: (_t, name: string) => {
      if (name === 'workload.deploy')
        return async (args: { name?: string }) => {
          deploys++;
          await new Promise((r) => setTimeout(r, 50));
          return workload(args.name ?? 'x');
        };
      if (name === 'workload.list') return async () => [{ not: 'a workload' }];
      if (name === 'workload.get')
        return async () => {
          throw new LatticeError('not_found', 'No workload named "zz"', 'ref');
        };
      return async () => ({ ok: true });
    },
  });
  const dispatch = createDispatcher({ handlers, store, box, logger });
  return { store, dispatch, deploys: () => deploys };
}

const remote = (commandId?: string): CommandContext => ({
  door: 'remote',
  user: { id: 'u', email: 'u@example.com' },
  commandId,
});

test('unknown command, bad arguments and localOnly commands are refused with clear codes', async () => {
  const { dispatch, store } = setup();
  try {
    await assert.rejects(dispatch('nope' as 'workload.list', {}, { door: 'local' }), {
      code: 'unknown_command',
    });
    await assert.rejects(
      dispatch('workload.deploy', { template: 'postgres', hostPort: 0 }, { door: 'local' }),
      {
        code: 'invalid_argument',
        field: 'hostPort',
      },
    );
    await assert.rejects(dispatch('settings.set', { lanAccess: true }, remote()), { code: 'forbidden' });
    await assert.rejects(dispatch('workload.get', { ref: 'zz' }, { door: 'local' }), {
      code: 'not_found',
      field: 'ref',
    });
    // A handler result that does not match the contract never leaves the agent.
    await assert.rejects(dispatch('workload.list', {}, { door: 'local' }), { code: 'internal' });
  } finally {
    store.close();
  }
});

test('a repeated remote command id runs once, concurrently or later, and survives a restart', async () => {
  const first = setup();
  const [a, b] = await Promise.all([
    first.dispatch('workload.deploy', { template: 'postgres', name: 'one' }, remote('cmd-1')),
    first.dispatch('workload.deploy', { template: 'postgres', name: 'one' }, remote('cmd-1')),
  ]);
  assert.deepEqual(a, b);
  assert.equal(first.deploys(), 1);
  const c = await first.dispatch('workload.deploy', { template: 'postgres', name: 'two' }, remote('cmd-1'));
  assert.deepEqual(c, a, 'the first result, even for different arguments');
  assert.equal(first.deploys(), 1);
  // The id is bound to its command.
  await assert.rejects(first.dispatch('workload.list', {}, remote('cmd-1')), { code: 'conflict' });
  // Errors are remembered too.
  await assert.rejects(first.dispatch('workload.get', { ref: 'zz' }, remote('cmd-2')), { code: 'not_found' });
  first.store.close();

  const second = setup();
  const d = await second.dispatch('workload.deploy', { template: 'postgres', name: 'one' }, remote('cmd-1'));
  assert.deepEqual(d, a);
  assert.equal(second.deploys(), 0);
  await assert.rejects(second.dispatch('workload.get', { ref: 'zz' }, remote('cmd-2')), {
    code: 'not_found',
  });
  // Local calls and remote calls without an id are not deduplicated.
  await second.dispatch(
    'workload.deploy',
    { template: 'postgres', name: 'one' },
    { door: 'local', commandId: 'cmd-1' },
  );
  await second.dispatch('workload.deploy', { template: 'postgres', name: 'one' }, remote());
  assert.equal(second.deploys(), 2);
  second.store.close();

  // The stored results carry credentials: sealed, never in clear.
  for (const f of ['agent.db', 'agent.db-wal']) {
    try {
      assert.ok(!readFileSync(join(dir, f)).includes('S3cretPasswordValueXYZ'), f);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
});
