// A share survives restarts without the owner doing anything. Real `lattice hub` and `lattice agent`
// processes, killed with SIGKILL: the hub comes back (same data dir and relay range) and the agent
// re-opens the share on the same public port; the agent comes back and re-opens it from its store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Share } from '../../shared';
import { requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { pgConnect, portAnswers, startProcessStack, type ProcessStack } from './share-support';

const WORKLOAD = 'share-restart-pg';

/** One round trip through the share, as a visitor: insert a row, count the rows. */
async function visit(share: Share, who: string): Promise<number> {
  const c = await pgConnect(share.connectionString!);
  try {
    await c.query('CREATE TABLE IF NOT EXISTS guestbook (who text)');
    await c.query('INSERT INTO guestbook VALUES ($1)', [who]);
    return (await c.query('SELECT count(*)::int AS n FROM guestbook')).rows[0].n as number;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('shares across restarts', () => {
  let stack: ProcessStack;
  let share: Share;

  before(async () => {
    await requireFixtureImages('postgres');
    // Several ports, and another share opened first, so "same port" is not just "first port of the range".
    stack = await startProcessStack({ relaySpan: 5 });
    const w = await stack.run('workload.deploy', { template: 'postgres', name: WORKLOAD });
    stack.workloadIds.push(w.id);
    const decoy = await stack.run('share.create', { workload: WORKLOAD, via: 'relay', expires: '1h' });
    share = await stack.run('share.create', { workload: WORKLOAD, via: 'relay', expires: '24h' });
    await stack.run('share.revoke', { ref: decoy.id });
    assert.notEqual(share.publicPort, stack.relayPorts.from);
    assert.equal(await visit(share, 'before'), 1);
  });
  after(async () => {
    await stack?.cleanup();
  });

  test('after a hub restart the share works again on the same port, by itself', async () => {
    await stack.killHub();
    assert.equal(await portAnswers(share.publicPort!), false, 'the relay port died with the hub');
    await stack.startHub();
    await waitFor(
      'the share to answer again through the restarted hub',
      () => visit(share, 'after hub restart'),
      45_000,
      250,
    );
    const listed = (await stack.run('share.list', {})).find((s) => s.id === share.id);
    assert.equal(listed?.status, 'active');
    assert.equal(listed?.publicPort, share.publicPort);
    assert.equal(listed?.connectionString, share.connectionString);
  });

  test('after an agent restart the share comes back', async () => {
    await stack.killAgent();
    await stack.startAgent();
    await waitFor(
      'the share to answer through the restarted agent',
      () => visit(share, 'after agent restart'),
      45_000,
      250,
    );
    const listed = (await stack.run('share.list', {})).find((s) => s.id === share.id);
    assert.equal(listed?.status, 'active');
    assert.equal(listed?.connectionString, share.connectionString);
    assert.equal(await visit(share, 'once more'), 4);
  });

  test('with both down at once, the share comes back on the same port when they return', async () => {
    await stack.killAgent();
    await stack.killHub();
    await stack.startHub();
    await stack.startAgent();
    await waitFor('the share to answer after both restarts', () => visit(share, 'after both'), 45_000, 250);
    const listed = (await stack.run('share.list', {})).find((s) => s.id === share.id);
    assert.equal(listed?.publicPort, share.publicPort);
  });

  test('a share revoked after the restarts is really gone', async () => {
    assert.deepEqual((await stack.run('share.revoke', { ref: share.id })).revoked, [share.id]);
    assert.equal(await portAnswers(share.publicPort!), false);
    assert.deepEqual(await stack.run('share.list', {}), []);
  });
});
