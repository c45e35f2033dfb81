// What every HubStore must do, run against the store of this run: SQLite by default, PostgreSQL with
// LATTICE_HUB_DATABASE=postgres (scripts/run-tests.mjs runs this file both ways).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkloadState } from '../../shared';
import type { HubStore } from '../../server/store/hub-store';
import { openTestStore, testStoreKind } from '../helpers/hub-test-store';

const withStore = async (fn: (store: HubStore) => Promise<void>) => {
  const store = await openTestStore();
  try {
    await store.createUser({ id: 'amy', email: 'Amy@Example.com', passwordHash: 'h1' });
    await store.createDevice({ id: 'amy-laptop', userId: 'amy', name: 'laptop', tokenId: 't1' });
    await fn(store);
  } finally {
    await store.close();
  }
};
const later = (s: number) => new Date(Date.now() + s * 1000).toISOString();
const workload = (id: string, status = 'running') => ({ id, name: id, status }) as unknown as WorkloadState;

describe(`the hub store (${testStoreKind()})`, () => {
  test('users: e-mail unique whatever its case, found whatever its case; token versions count up', async () => {
    await withStore(async (store) => {
      assert.equal(
        await store.createUser({ id: 'x', email: 'amy@example.COM', passwordHash: 'h' }),
        'email_taken',
      );
      assert.equal((await store.userByEmail('AMY@example.com'))?.id, 'amy');
      assert.equal(await store.bumpTokenVersion('amy'), 1);
      assert.equal(await store.bumpTokenVersion('amy'), 2);
      await store.setPassword('amy', 'h2');
      const amy = await store.userById('amy');
      assert.equal(amy?.passwordHash, 'h2');
      assert.equal(amy?.tokenVersion, 2);
      assert.equal(await store.userById('nobody'), undefined);
    });
  });

  test('refresh tokens are consumed once; reuse and unknown tokens are told apart', async () => {
    await withStore(async (store) => {
      await store.addRefreshToken({ jti: 'r1', userId: 'amy', expiresAt: later(60) });
      const both = await Promise.all([
        store.consumeRefreshToken('r1', 'amy'),
        store.consumeRefreshToken('r1', 'amy'),
      ]);
      assert.deepEqual(both.sort(), ['ok', 'reused']);
      assert.equal(await store.consumeRefreshToken('r2', 'amy'), 'unknown');
      await store.addRefreshToken({ jti: 'r3', userId: 'amy', expiresAt: later(60) });
      await store.revokeRefreshTokens('amy');
      assert.equal(await store.consumeRefreshToken('r3', 'amy'), 'reused');
    });
  });

  test('pairing codes redeem once and not after expiry; devices list without the revoked', async () => {
    await withStore(async (store) => {
      const now = new Date().toISOString();
      await store.addPairingCode({ codeHash: 'c1', userId: 'amy', expiresAt: later(60) });
      await store.addPairingCode({ codeHash: 'c2', userId: 'amy', expiresAt: later(-1) });
      const redeemed = await Promise.all([
        store.redeemPairingCode('c1', now),
        store.redeemPairingCode('c1', now),
      ]);
      assert.deepEqual(redeemed.filter(Boolean), ['amy'], 'one of two racing redeems wins');
      assert.equal(await store.redeemPairingCode('c2', now), undefined);
      await store.createDevice({ id: 'amy-pc', userId: 'amy', name: 'pc', tokenId: 't2' });
      await store.touchDevice('amy-pc', now);
      assert.equal((await store.deviceById('amy-pc'))?.lastSeenAt, now);
      await store.revokeDevice('amy-laptop');
      assert.equal((await store.deviceById('amy-laptop'))?.revoked, true);
      assert.deepEqual(
        (await store.devicesOfUser('amy')).map((d) => d.id),
        ['amy-pc'],
      );
    });
  });

  test('a command id keeps its first result; the audit log lists newest first', async () => {
    await withStore(async (store) => {
      const entry = { deviceId: 'amy-laptop', commandId: 'c1', userId: 'amy', name: 'workload.list' };
      await store.saveCommandResult({ ...entry, result: { ok: true, value: [1] } });
      await store.saveCommandResult({ ...entry, result: { ok: true, value: [2] } });
      assert.deepEqual((await store.commandResult('amy-laptop', 'c1'))?.result, { ok: true, value: [1] });
      for (const id of ['a1', 'a2', 'a3']) {
        await store.audit({
          userId: 'amy',
          deviceId: 'amy-laptop',
          commandId: id,
          commandName: 'workload.list',
          ok: id !== 'a2',
          errorCode: id === 'a2' ? 'timeout' : null,
          at: new Date().toISOString(),
        });
      }
      const log = await store.auditLog('amy', 2);
      assert.deepEqual(
        log.map((e) => [e.commandId, e.ok, e.errorCode]),
        [
          ['a3', true, null],
          ['a2', false, 'timeout'],
        ],
      );
    });
  });

  test('results and audit entries of one turn are written together; a bad row fails alone; two results of one id keep the first', async () => {
    await withStore(async (store) => {
      const at = new Date().toISOString();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const entry = { deviceId: 'amy-laptop', commandId: `t${i}`, userId: 'amy', name: 'workload.list' };
        writes.push(store.saveCommandResult({ ...entry, result: { ok: true, value: [i] } }));
        writes.push(
          store.audit({
            ...entry,
            commandName: entry.name,
            ok: i % 2 === 0,
            errorCode: i % 2 ? 'timeout' : null,
            at,
          }),
        );
      }
      // In the same turn: a second result for t0 (the first stays) and an audit row the schema refuses.
      writes.push(
        store.saveCommandResult({
          deviceId: 'amy-laptop',
          commandId: 't0',
          userId: 'amy',
          name: 'workload.list',
          result: { ok: true, value: ['late'] },
        }),
      );
      const bad = store.audit({
        userId: 'amy',
        deviceId: 'amy-laptop',
        commandId: 'bad',
        commandName: null as unknown as string,
        ok: true,
        errorCode: null,
        at,
      });
      const settled = await Promise.allSettled([...writes, bad]);
      assert.deepEqual(
        settled.map((r) => r.status),
        [...writes.map(() => 'fulfilled'), 'rejected'],
      );
      for (let i = 0; i < 20; i++)
        assert.deepEqual((await store.commandResult('amy-laptop', `t${i}`))?.result, {
          ok: true,
          value: [i],
        });
      const log = await store.auditLog('amy', 50);
      assert.deepEqual(
        log.map((e) => e.commandId),
        Array.from({ length: 20 }, (_, i) => `t${19 - i}`),
      );
      assert.deepEqual(
        log.filter((e) => !e.ok).map((e) => e.errorCode),
        Array.from({ length: 10 }, () => 'timeout'),
      );
    });
  });

  test('a command lookup reads the account, the device and the stored result at once, each or none', async () => {
    await withStore(async (store) => {
      await store.bumpTokenVersion('amy');
      await store.createUser({ id: 'bob', email: 'bob@example.com', passwordHash: 'h' });
      await store.saveCommandResult({
        deviceId: 'amy-laptop',
        commandId: 'c1',
        userId: 'amy',
        name: 'workload.list',
        result: { ok: true, value: [1] },
      });
      const laptop = await store.deviceById('amy-laptop');
      const amy = await store.userById('amy');
      const found = await store.commandLookup('amy', 'amy-laptop', 'c1');
      assert.deepEqual(found.user, { id: 'amy', email: amy?.email, tokenVersion: amy?.tokenVersion });
      assert.deepEqual(found.device, laptop);
      assert.deepEqual(found.stored, await store.commandResult('amy-laptop', 'c1'));
      // What each of the three reads would say on its own: the device whoever asks, no result yet.
      const other = await store.commandLookup('bob', 'amy-laptop', 'c2');
      assert.equal(other.user?.id, 'bob');
      assert.deepEqual(other.device, laptop);
      assert.equal(other.stored, undefined);
      // The result belongs to the device: the same id on another device is another command.
      await store.createDevice({ id: 'bob-pc', userId: 'bob', name: 'pc', tokenId: 't2' });
      assert.equal((await store.commandLookup('bob', 'bob-pc', 'c1')).stored, undefined);
      await store.revokeDevice('amy-laptop');
      assert.equal((await store.commandLookup('amy', 'amy-laptop', 'c1')).device?.revoked, true);
      assert.deepEqual(await store.commandLookup('nobody', 'no-device', 'c1'), {
        user: undefined,
        device: undefined,
        stored: undefined,
      });
    });
  });

  test('inventory is replaced, upserted and removed per device; capacity kept per device', async () => {
    await withStore(async (store) => {
      const at = new Date().toISOString();
      await store.replaceInventory('amy-laptop', [workload('w1'), workload('w2')], at);
      await store.upsertInventory('amy-laptop', workload('w1', 'stopped'), at);
      await store.removeInventory('amy-laptop', 'w2');
      const inv = await store.inventoryOfUser('amy');
      assert.deepEqual(
        inv.map((r) => [r.deviceId, r.workload.id, r.workload.status]),
        [['amy-laptop', 'w1', 'stopped']],
      );
      await store.replaceInventory('amy-laptop', [workload('w3')], at);
      assert.deepEqual(
        (await store.inventoryOfUser('amy')).map((r) => r.workload.id),
        ['w3'],
      );
      const capacity = { cpus: 4, memoryBytes: 8e9 } as never;
      await store.saveCapacity('amy-laptop', capacity, at);
      await store.saveCapacity('amy-laptop', capacity, at);
      assert.deepEqual(
        (await store.capacitiesOfUser('amy')).map((c) => c.capacity),
        [capacity],
      );
    });
  });

  test('queued commands: one per id, delivered once when two hubs race, expired past their time', async () => {
    await withStore(async (store) => {
      const row = {
        id: 'q1',
        userId: 'amy',
        deviceId: 'amy-laptop',
        name: 'workload.stop',
        args: { id: 'w1' },
        summary: 'stop w1',
        ref: 'w1',
        createdAt: new Date().toISOString(),
        expiresAt: later(60),
      };
      assert.equal(await store.enqueueCommand(row), true);
      assert.equal(await store.enqueueCommand(row), false, 'the same id again is refused');
      assert.equal(await store.enqueueCommand({ ...row, id: 'q2', expiresAt: later(-1) }), true);
      assert.deepEqual(
        (await store.undeliveredCommands('amy-laptop')).map((r) => r.id),
        ['q1', 'q2'],
      );
      const deliveredAt = new Date().toISOString();
      const raced = await Promise.all(
        [1, 2].map(() =>
          store.transitionCommand('amy', 'q1', ['pending'], {
            status: 'delivered',
            deliveredAt,
            dropArgs: true,
          }),
        ),
      );
      assert.equal(raced.filter(Boolean).length, 1, 'exactly one delivery wins');
      const done = await store.transitionCommand('amy', 'q1', ['delivered'], {
        status: 'done',
        result: { ok: true, value: null },
        finishedAt: deliveredAt,
      });
      assert.equal(done?.status, 'done');
      assert.equal(done?.args, null);
      assert.equal(done?.ref, 'w1', 'the reference outlives the arguments');
      assert.deepEqual(done?.result, { ok: true, value: null });
      assert.deepEqual(
        (await store.expireCommands(new Date().toISOString())).map((r) => r.id),
        ['q2'],
      );
      assert.deepEqual(
        (await store.queuedCommandsOfUser('amy')).map((r) => [r.id, r.status]),
        [
          ['q2', 'expired'],
          ['q1', 'done'],
        ],
      );
      assert.deepEqual(
        (await store.queuedCommandsOfUser('amy', { status: 'done' })).map((r) => r.id),
        ['q1'],
      );
      assert.deepEqual(
        (await store.queuedCommandsOfUser('amy', { deviceId: 'other' })).map((r) => r.id),
        [],
      );
      assert.equal((await store.queuedCommand('amy', 'q1'))?.deliveredAt, deliveredAt);
    });
  });

  test("new shares racing for an account's last relay slot: exactly one gets it, the others hear account_full", async () => {
    await withStore(async (store) => {
      const share = (shareId: string, port: number) => ({
        shareId,
        userId: 'amy',
        deviceId: 'amy-laptop',
        port,
        kind: 'tcp' as const,
        expiresAt: null,
      });
      assert.equal(await store.reserveNewRelayPort(share('sh_first', 20600), 2), 'reserved');
      // A taken port, and a share id that is reserved already, are port_taken, whatever the cap.
      assert.equal(await store.reserveNewRelayPort(share('sh_other', 20600), 5), 'port_taken');
      assert.equal(await store.reserveNewRelayPort(share('sh_first', 20699), 5), 'port_taken');
      // Six reads at once first, so a pooled store has a connection ready for each racer.
      await Promise.all(Array.from({ length: 6 }, () => store.relayAssignments()));
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.reserveNewRelayPort(share(`sh_race${i}`, 20610 + i), 2)),
      );
      assert.deepEqual(
        outcomes.filter((o) => o === 'reserved').length,
        1,
        `one racer wins the last slot: ${outcomes.join(', ')}`,
      );
      assert.equal(outcomes.filter((o) => o === 'account_full').length, 5);
      assert.equal((await store.relayAssignments()).filter((a) => a.userId === 'amy').length, 2);
      // Another account is not held back by amy's.
      await store.createUser({ id: 'bob', email: 'bob@example.com', passwordHash: 'h' });
      await store.createDevice({ id: 'bob-pc', userId: 'bob', name: 'pc', tokenId: 'tb' });
      assert.equal(
        await store.reserveNewRelayPort({ ...share('sh_bob', 20650), userId: 'bob', deviceId: 'bob-pc' }, 2),
        'reserved',
      );
    });
  });

  test('two shares racing for one relay port: exactly one gets it', async () => {
    await withStore(async (store) => {
      const won = await Promise.all(
        ['sh_a', 'sh_b', 'sh_c'].map((shareId) =>
          store.reserveRelayPort({
            shareId,
            userId: 'amy',
            deviceId: 'amy-laptop',
            port: 20500,
            kind: 'tcp',
            expiresAt: null,
          }),
        ),
      );
      assert.equal(won.filter(Boolean).length, 1);
      assert.equal((await store.relayAssignments()).length, 1);
    });
  });
});
