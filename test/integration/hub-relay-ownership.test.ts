// Relay ports are owned, on a real hub (port 0, real SQLite, real control sockets): a reserved port
// belongs to its share's account until the share ends, whoever asks and however long its device is
// away. The takeover this prevents: with a two-port range, one account waiting out another's offline
// grace period used to be handed the other's port (and its visitors' passwords).
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { HubToAgent } from '../../shared';
import { freePortBlock, waitFor } from '../helpers/net';
import {
  api,
  closed,
  connectFakeAgent,
  pairDevice,
  registerUser,
  startTestHub,
  type TestHub,
} from './hub-fixtures';

type RelayReply = Extract<HubToAgent, { type: 'relay.opened' | 'relay.error' }>;
type FakeAgent = Awaited<ReturnType<typeof connectFakeAgent>>;

/** Sends relay.open over the agent's control socket and waits for the hub's answer to it. */
async function relayOpen(agent: FakeAgent, shareId: string, preferredPort?: number): Promise<RelayReply> {
  const requestId = randomUUID();
  agent.send({ type: 'relay.open', requestId, shareId, kind: 'tcp', preferredPort, expiresAt: null });
  return waitFor(
    `the hub's answer to relay.open ${shareId}`,
    () =>
      agent.received.find(
        (m): m is RelayReply =>
          (m.type === 'relay.opened' || m.type === 'relay.error') && m.requestId === requestId,
      ),
    10_000,
    10,
  );
}

const portOf = (reply: RelayReply): number => {
  assert.equal(reply.type, 'relay.opened', JSON.stringify(reply));
  const port = (reply as Extract<RelayReply, { type: 'relay.opened' }>).publicPort;
  assert.equal(typeof port, 'number', 'a TCP share has a public port');
  return port!;
};
const errorCode = (reply: RelayReply) => (reply.type === 'relay.error' ? reply.error.code : 'opened');

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

const hubs: TestHub[] = [];
const sockets: FakeAgent[] = [];
afterEach(async () => {
  for (const a of sockets.splice(0)) a.ws.terminate();
});
after(async () => {
  for (const h of hubs) await h.stop();
});

async function hubWithTwoPorts(caps: { devices?: number; relayShares?: number } = {}) {
  const relayPorts = await freePortBlock(2);
  const hub = await startTestHub({
    relayPorts,
    publicHost: '127.0.0.1',
    relay: { offlineGraceMs: 100 },
    accountCaps: caps,
  });
  hubs.push(hub);
  return { hub, relayPorts };
}

async function account(hub: TestHub) {
  const user = await registerUser(hub);
  const device = await pairDevice(hub, user.accessToken);
  const connectAgent = async () => {
    const agent = await connectFakeAgent(hub, device.deviceToken);
    sockets.push(agent);
    return agent;
  };
  return { user, device, agent: await connectAgent(), connectAgent };
}

describe('relay ports belong to their share’s account', () => {
  test('a full range is the requester’s relay_ports_exhausted, before and after the owner goes away; the owner gets its port back', async () => {
    const { hub, relayPorts } = await hubWithTwoPorts();
    const victim = await account(hub);
    const attacker = await account(hub);

    const victimPort = portOf(await relayOpen(victim.agent, 'sh_victim'));
    const attackerPort = portOf(await relayOpen(attacker.agent, 'sh_attacker'));
    assert.deepEqual([victimPort, attackerPort].sort(), [relayPorts.from, relayPorts.to]);

    const full = await relayOpen(attacker.agent, 'sh_attacker_2');
    assert.equal(errorCode(full), 'relay_ports_exhausted');
    assert.match(full.type === 'relay.error' ? full.error.message : '', /reserved by another share/);

    // The victim's computer goes away; after the grace period its listener closes...
    victim.agent.ws.close();
    await closed(victim.agent.ws);
    await waitFor('the victim’s listener to close', async () => !(await listening(victimPort)), 10_000, 20);
    // ...and the attacker, asking again — even for that very port — still finds the range full.
    assert.equal(errorCode(await relayOpen(attacker.agent, 'sh_attacker_3')), 'relay_ports_exhausted');
    assert.equal(
      errorCode(await relayOpen(attacker.agent, 'sh_attacker_4', victimPort)),
      'relay_ports_exhausted',
    );
    assert.equal(await listening(victimPort), false, 'nobody listens on the victim’s port');

    // The victim's agent reconnects and re-opens its share: same port.
    const back = await victim.connectAgent();
    assert.equal(portOf(await relayOpen(back, 'sh_victim', victimPort)), victimPort);
    assert.equal(await listening(victimPort), true);
  });

  test('closing a share frees its port for anyone; another account cannot close it', async () => {
    const { hub } = await hubWithTwoPorts();
    const amy = await account(hub);
    const bob = await account(hub);
    const amyPort = portOf(await relayOpen(amy.agent, 'sh_amy'));
    portOf(await relayOpen(bob.agent, 'sh_bob'));

    bob.agent.send({ type: 'relay.close', shareId: 'sh_amy' });
    assert.equal(errorCode(await relayOpen(bob.agent, 'sh_bob_2')), 'relay_ports_exhausted');
    assert.equal(await listening(amyPort), true, 'amy’s share is still open');

    amy.agent.send({ type: 'relay.close', shareId: 'sh_amy' });
    await waitFor('amy’s listener to close', async () => !(await listening(amyPort)), 10_000, 20);
    assert.equal(portOf(await relayOpen(bob.agent, 'sh_bob_3')), amyPort);
  });

  test('removing a device from the account ends its shares and frees their ports', async () => {
    const { hub } = await hubWithTwoPorts();
    const amy = await account(hub);
    const bob = await account(hub);
    const amyPort = portOf(await relayOpen(amy.agent, 'sh_amy'));
    portOf(await relayOpen(bob.agent, 'sh_bob'));

    const removed = await api(hub, 'DELETE', `/api/devices/${amy.device.deviceId}`, {
      token: amy.user.accessToken,
    });
    assert.equal(removed.status, 200);
    assert.equal(await listening(amyPort), false);
    assert.equal(portOf(await relayOpen(bob.agent, 'sh_bob_2')), amyPort);
  });
});

describe('per-account caps', () => {
  test('relay shares: the account’s next share is quota_exceeded while the range still has room', async () => {
    const { hub } = await hubWithTwoPorts({ relayShares: 1 });
    const amy = await account(hub);
    portOf(await relayOpen(amy.agent, 'sh_1'));
    const over = await relayOpen(amy.agent, 'sh_2');
    assert.equal(errorCode(over), 'quota_exceeded');
    assert.match(over.type === 'relay.error' ? over.error.message : '', /already holds 1 relay shares/);
    // Re-opening the share it holds is not a new share.
    assert.equal(errorCode(await relayOpen(amy.agent, 'sh_1')), 'opened');
    const bob = await account(hub);
    assert.equal(errorCode(await relayOpen(bob.agent, 'sh_bob')), 'opened');
  });

  test('devices: pairing past the cap is refused with quota_exceeded, and room returns after a removal', async () => {
    const { hub } = await hubWithTwoPorts({ devices: 1 });
    const amy = await account(hub);
    const refused = await api<{ ok: false; error: { code: string; message: string } }>(
      hub,
      'POST',
      '/api/devices/pairing',
      { token: amy.user.accessToken },
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'quota_exceeded');
    assert.match(refused.body.error.message, /already has 1 devices/);

    await api(hub, 'DELETE', `/api/devices/${amy.device.deviceId}`, { token: amy.user.accessToken });
    const again = await pairDevice(hub, amy.user.accessToken, 'second');
    assert.match(again.deviceId, /\S/);
  });

  test('devices: a code made while the account had room is refused at redemption once it is full', async () => {
    const { hub } = await hubWithTwoPorts({ devices: 1 });
    const user = await registerUser(hub);
    const code = await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', {
      token: user.accessToken,
    });
    await pairDevice(hub, user.accessToken, 'first');
    const late = await api<{ error: { code: string } }>(hub, 'POST', '/api/devices/pair', {
      body: { code: code.body.code, name: 'second' },
    });
    assert.equal(late.status, 403);
    assert.equal(late.body.error.code, 'quota_exceeded');
  });
});
