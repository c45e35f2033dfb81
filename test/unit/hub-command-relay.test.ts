// The command relay with a result read outside it: the commands route reads the account, the device
// and the command id's stored result in one query before relay() runs, so relay() must not trust a
// "no result" read while a command with the same id left flight — that command's result was stored
// after the read began. Over the hub store of this run (SQLite, or PostgreSQL with
// LATTICE_HUB_DATABASE=postgres) and a stand-in agent socket that answers every command.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type WebSocket from 'ws';
import type { HubToAgent, Result } from '../../shared';
import { CommandRelay } from '../../server/command-relay';
import { AgentConnection, Presence } from '../../server/presence';
import type { HubStore } from '../../server/store/hub-store';
import { openTestStore, testStoreKind } from '../helpers/hub-test-store';
import { sampleWorkload } from '../helpers/samples';

const stores: HubStore[] = [];
after(() => Promise.all(stores.map((s) => s.close())));

const user = { id: 'amy', email: 'amy@example.com' };
const device = { id: 'amy-laptop', name: 'laptop' };

/** A relay over a fresh store, its device online; `answer` is what the agent sends back. */
async function rig(answer: (n: number) => Result<unknown>) {
  const store = await openTestStore();
  stores.push(store);
  await store.createUser({ id: user.id, email: user.email, passwordHash: 'h' });
  await store.createDevice({ id: device.id, userId: user.id, name: device.name, tokenId: 't' });
  const sent: Extract<HubToAgent, { type: 'command' }>[] = [];
  const socket = {
    readyState: 1,
    bufferedAmount: 0,
    send(text: string) {
      const msg = JSON.parse(text) as HubToAgent;
      if (msg.type !== 'command') return;
      sent.push(msg);
      setImmediate(() => conn.pending.get(msg.id)?.resolve(answer(sent.length)));
    },
  };
  const conn = new AgentConnection(device.id, user.id, socket as unknown as WebSocket, 1 << 20);
  const presence = new Presence(1 << 20);
  presence.addAgent(conn);
  const relay = new CommandRelay(store, presence, pino({ level: 'silent' }), () => 5_000);
  return { store, relay, sent };
}

/** The agent's n-th answer: a contract-valid workload list that tells the runs apart. */
const list = (n: number): Result<unknown> => ({
  ok: true,
  value: [sampleWorkload({ id: `w${n}`, name: `run-${n}` })],
});

describe(`command relay with a lookup read before it (${testStoreKind()})`, () => {
  test('a duplicate that finished while the lookup was read is answered from the store, not run again', async () => {
    const { store, relay, sent } = await rig(list);
    const cmd = { id: 'c1', name: 'workload.list', args: {} };
    const watch = relay.watchResult(device.id, cmd.id);
    // Read while nothing is stored yet; the first run then starts, is answered and stored.
    const lookup = await store.commandLookup(user.id, device.id, cmd.id);
    assert.equal(lookup.stored, undefined);
    const first = await relay.relay(user, device, cmd);
    const second = await relay.relay(user, device, cmd, { lookup: { stored: lookup.stored, watch } });
    watch.release();
    assert.equal(sent.length, 1, 'the agent got the command once');
    assert.deepEqual(second, first);
  });

  test('a lookup with nothing leaving flight meanwhile is taken as read: a stored result is the answer', async () => {
    const { store, relay, sent } = await rig(list);
    const cmd = { id: 'c2', name: 'workload.list', args: {} };
    const first = await relay.relay(user, device, cmd);
    const watch = relay.watchResult(device.id, cmd.id);
    const lookup = await store.commandLookup(user.id, device.id, cmd.id);
    const again = await relay.relay(user, device, cmd, { lookup: { stored: lookup.stored, watch } });
    watch.release();
    assert.equal(sent.length, 1);
    assert.deepEqual(again, first);
    // A new id with an empty lookup runs.
    const next = { id: 'c3', name: 'workload.list', args: {} };
    const nextWatch = relay.watchResult(device.id, next.id);
    const empty = await store.commandLookup(user.id, device.id, next.id);
    const ran = await relay.relay(user, device, next, { lookup: { stored: empty.stored, watch: nextWatch } });
    nextWatch.release();
    assert.equal(sent.length, 2);
    assert.deepEqual(ran, list(2));
  });
});
