// Settings changed through any door reach every listener (tray, power blocker, consoles) as an event,
// so a change made with the CLI shows in the app at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentEvent } from '../../shared';
import { requireDocker } from '../helpers/docker';
import { startTestAgent, type TestAgent } from '../helpers/agent';

let t: TestAgent;
before(async () => {
  await requireDocker();
  t = await startTestAgent();
});
after(() => t?.cleanup());

test('settings.set emits settings.changed with the new settings, and no secret', async () => {
  const events: AgentEvent[] = [];
  const off = t.agent.onEvent((e) => events.push(e));
  try {
    const result = await t.agent.dispatch(
      'settings.set',
      { keepAwakeWhileSharing: true, ngrokAuthtoken: 'tok_secret_value_123' },
      { door: 'local' },
    );
    assert.equal(result.keepAwakeWhileSharing, true);
    const changed = events.find((e) => e.type === 'settings.changed');
    assert.ok(changed && changed.type === 'settings.changed', 'no settings.changed event');
    assert.deepEqual(changed.settings, result);
    assert.equal(changed.settings.ngrokConfigured, true);
    assert.ok(!JSON.stringify(changed).includes('tok_secret_value_123'));
  } finally {
    off();
  }
});

test('a refused settings change emits nothing', async () => {
  const events: AgentEvent[] = [];
  const off = t.agent.onEvent((e) => events.push(e));
  try {
    await assert.rejects(t.agent.dispatch('settings.set', { lanAccess: 'yes' }, { door: 'local' }));
    await assert.rejects(t.agent.dispatch('settings.set', { lanAccess: true }, { door: 'remote' }));
    assert.equal(events.filter((e) => e.type === 'settings.changed').length, 0);
  } finally {
    off();
  }
});
