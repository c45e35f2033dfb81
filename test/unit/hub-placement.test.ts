// Placement (server/placement.ts): which computer `node: "auto"` picks, and the error that names every
// computer's reason when none fits; `lattice deploy --share` flags (cli/deploy-args.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeInfo } from '../../shared';
import { placeableMemory } from '../../server/inventory';
import { findNode, placeAuto } from '../../server/placement';
import { shareFromFlags } from '../../electron/agent/cli/deploy-args';

const MIB = 1024 ** 2;

function node(name: string, over: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id: `dev_${name}`,
    name,
    online: true,
    lastSeenAt: '2026-11-26T10:00:00.000Z',
    capacityAt: '2026-11-26T10:00:00.000Z',
    cpus: 4,
    memoryTotalBytes: 16_384 * MIB,
    memoryFreeBytes: 8_192 * MIB,
    diskFreeBytes: 100_000 * MIB,
    runningWorkloads: 0,
    allowsRemoteDeploy: true,
    remoteDeployMemoryCapBytes: null,
    placeableMemoryBytes: 8_192 * MIB,
    workloads: 0,
    ...over,
  };
}

describe('placement', () => {
  test('auto picks the computer with the most memory free for remote deploys', () => {
    const nodes = [
      node('small', { placeableMemoryBytes: 1_024 * MIB }),
      node('big', { placeableMemoryBytes: 4_096 * MIB }),
      node('mid', { placeableMemoryBytes: 2_048 * MIB }),
    ];
    assert.equal(placeAuto(nodes).name, 'big');
    // Ties go to the name, so the choice is stable.
    assert.equal(placeAuto([node('b'), node('a')]).name, 'a');
  });

  test("the owner's cap lowers what a computer offers, by what remote workloads already use", () => {
    const capacity = {
      cpus: 2,
      memoryTotalBytes: 16_384 * MIB,
      memoryFreeBytes: 8_192 * MIB,
      diskFreeBytes: null,
      runningWorkloads: 1,
      allowsRemoteDeploy: true,
      remoteDeployMemoryCapBytes: 512 * MIB,
      remoteMemoryUsedBytes: 200 * MIB,
    };
    assert.equal(placeableMemory(capacity), 312 * MIB);
    assert.equal(placeableMemory({ ...capacity, remoteMemoryUsedBytes: 900 * MIB }), 0);
    assert.equal(placeableMemory({ ...capacity, remoteDeployMemoryCapBytes: null }), 8_192 * MIB);
    assert.equal(placeableMemory({ ...capacity, memoryFreeBytes: 100 * MIB }), 100 * MIB);
  });

  test('none fits: the error names every computer and why', () => {
    const nodes = [
      node('laptop', { online: false }),
      node('desk', { allowsRemoteDeploy: false }),
      node('pi', { remoteDeployMemoryCapBytes: 64 * MIB, placeableMemoryBytes: 0 }),
      node('new', { capacityAt: null, placeableMemoryBytes: null }),
      node('tight', { placeableMemoryBytes: 100 * MIB }),
    ];
    assert.throws(
      () => placeAuto(nodes, 256 * MIB),
      (err: Error & { code?: string; field?: string }) => {
        assert.equal(err.code, 'conflict');
        assert.equal(err.field, 'node');
        assert.match(err.message, /"laptop": offline/);
        assert.match(err.message, /"desk": does not allow remote deploys/);
        assert.match(err.message, /"pi": only 0 MiB free for remote deploys \(capped at 64 MiB\)/);
        assert.match(err.message, /"new": has not reported its capacity yet/);
        assert.match(
          err.message,
          /"tight": only 100 MiB free for remote deploys, this deploy asks for 256 MiB/,
        );
        return true;
      },
    );
    assert.throws(() => placeAuto([]), /No computer in this account: pair one first/);
  });

  test('a computer by id or by name; an unknown or ambiguous one is named', () => {
    const nodes = [
      node('alpha'),
      node('beta'),
      { ...node('twin'), id: 'dev_t1' },
      { ...node('twin'), id: 'dev_t2' },
    ];
    assert.equal(findNode(nodes, 'dev_beta').name, 'beta');
    assert.equal(findNode(nodes, 'ALPHA').id, 'dev_alpha');
    assert.throws(() => findNode(nodes, 'gamma'), /No computer "gamma" in this account/);
    assert.throws(
      () => findNode(nodes, 'twin'),
      /2 computers are named "twin"; use its id \(dev_t1, dev_t2\)/,
    );
  });
});

describe('lattice deploy --share flags', () => {
  test('map to workload.deploy share', () => {
    assert.equal(shareFromFlags({}), undefined);
    assert.deepEqual(shareFromFlags({ share: true }), {});
    assert.deepEqual(shareFromFlags({ share: 'relay', shareExpires: '7d', shareReadOnly: true }), {
      via: 'relay',
      expires: '7d',
      readOnly: true,
    });
  });

  test('bad ones are named', () => {
    assert.throws(() => shareFromFlags({ share: 'smoke' }), /--share smoke: use relay or ngrok/);
    assert.throws(
      () => shareFromFlags({ share: true, shareExpires: '2d' }),
      /--share-expires 2d: use 1h, 24h, 7d or never/,
    );
    assert.throws(() => shareFromFlags({ shareReadOnly: true }), /go with --share/);
  });
});
