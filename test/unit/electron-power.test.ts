// Sleep and wake: resume wakes the agent; a live share (with the setting on) holds off suspension.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { AgentEvent, Share } from '../../shared';
import { SnapshotStore } from '../../electron/main/agent-snapshot';
import { createPowerController } from '../../electron/main/power';
import type { Agent } from '../../electron/agent/agent';
import { sampleShare } from '../helpers/samples';

const share = (status: Share['status']): Share =>
  sampleShare({ status, publicPort: undefined, connectionString: undefined });

class FakeBlocker {
  next = 1;
  readonly active = new Set<number>();
  readonly started: string[] = [];
  start(type: 'prevent-app-suspension' | 'prevent-display-sleep') {
    this.started.push(type);
    const id = this.next++;
    this.active.add(id);
    return id;
  }
  stop(id: number) {
    if (!this.active.delete(id)) throw new Error(`stop of unknown blocker ${id}`);
    return true;
  }
  isStarted(id: number) {
    return this.active.has(id);
  }
}

function fakeAgent(keepAwakeWhileSharing: boolean) {
  const listeners = new Set<(e: AgentEvent) => void>();
  let wakes = 0;
  const agent = {
    wake: async () => void wakes++,
    onEvent: (fn: (e: AgentEvent) => void) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    dispatch: async (name: string) => {
      if (name === 'settings.get') {
        return {
          lanAccess: false,
          ngrokConfigured: false,
          allowedImages: [],
          allowedBindRoots: [],
          keepAwakeWhileSharing,
          startAtLogin: false,
          paused: false,
          dataDir: '/tmp/x',
          hub: { url: null, deviceId: null, connected: false },
        };
      }
      if (name === 'system.info')
        return { agentVersion: '0', dataDir: '/tmp/x', docker: { available: true }, keyProtection: 'file' };
      return [];
    },
  } as unknown as Agent;
  return { agent, emit: (e: AgentEvent) => listeners.forEach((l) => l(e)), wakes: () => wakes };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function setup(keepAwake: boolean) {
  const powerMonitor = new EventEmitter();
  const blocker = new FakeBlocker();
  const fake = fakeAgent(keepAwake);
  const power = createPowerController({
    powerMonitor: powerMonitor as never,
    powerSaveBlocker: blocker,
    agent: fake.agent,
  });
  const store = new SnapshotStore(fake.agent);
  store.onChange((s) => power.update(s));
  await store.start();
  return { powerMonitor, blocker, power, store, ...fake };
}

describe('power', () => {
  test('resume from sleep wakes the agent at once', async () => {
    const { powerMonitor, wakes, power } = await setup(true);
    assert.equal(wakes(), 0);
    powerMonitor.emit('resume');
    powerMonitor.emit('resume');
    assert.equal(wakes(), 2);
    power.dispose();
    powerMonitor.emit('resume');
    assert.equal(wakes(), 2, 'no wake after dispose');
  });

  test('a share becoming active starts one app-suspension blocker; its removal stops it', async () => {
    const { blocker, emit, power } = await setup(true);
    assert.equal(blocker.active.size, 0);
    emit({ type: 'share.changed', share: share('opening') });
    emit({ type: 'share.changed', share: share('active') });
    await settle();
    assert.deepEqual(blocker.started, ['prevent-app-suspension'], 'started once, not per event');
    assert.equal(blocker.active.size, 1);
    assert.equal(power.keepingAwake, true);
    emit({ type: 'share.removed', id: 's1' });
    await settle();
    assert.equal(blocker.active.size, 0);
    assert.equal(power.keepingAwake, false);
  });

  test('a revoked or expired share releases the blocker too', async () => {
    const { blocker, emit } = await setup(true);
    emit({ type: 'share.changed', share: share('active') });
    await settle();
    assert.equal(blocker.active.size, 1);
    emit({ type: 'share.changed', share: share('expired') });
    await settle();
    assert.equal(blocker.active.size, 0);
  });

  test('with keepAwakeWhileSharing off nothing is blocked', async () => {
    const { blocker, emit } = await setup(false);
    emit({ type: 'share.changed', share: share('active') });
    await settle();
    assert.equal(blocker.started.length, 0);
  });

  test('turning the setting off while sharing releases the blocker', async () => {
    const { blocker, emit } = await setup(true);
    emit({ type: 'share.changed', share: share('active') });
    await settle();
    assert.equal(blocker.active.size, 1);
    // A settings change from any door (the CLI included) reaches the app as an event.
    emit({
      type: 'settings.changed',
      settings: await fakeAgent(false).agent.dispatch('settings.get', {}, { door: 'local' }),
    });
    await settle();
    assert.equal(blocker.active.size, 0);
  });
});
