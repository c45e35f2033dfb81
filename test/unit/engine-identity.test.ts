// How an engine is named for its workloads (docker/engine.ts) and when a row counts as another
// engine's (workload-view.ts): pure functions, no Docker. The behaviour against a real engine is in
// test/integration/docker-engine-identity.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineLabel, identityOf } from '../../electron/agent/docker/engine';
import { elsewhereMessage, isElsewhere } from '../../electron/agent/workload-view';
import type { WorkloadRow } from '../../electron/agent/store';

const row = (engineId: string | null, engineLabel: string | null = null) =>
  ({ engineId, engineLabel }) as WorkloadRow;

test('an engine is its daemon ID; the label names the context and host, or the host alone', () => {
  const colima = { host: 'unix:///Users/me/.colima/default/docker.sock', context: 'colima' };
  assert.deepEqual(identityOf({ ID: 'abc-123', Name: 'colima' }, colima), {
    id: 'abc-123',
    label: '"colima" (unix:///Users/me/.colima/default/docker.sock)',
  });
  assert.equal(
    engineLabel({ host: 'unix:///var/run/docker.sock', context: 'default' }),
    'unix:///var/run/docker.sock',
  );
  // A daemon that reports no ID (some Podman versions) is known by its name and endpoint.
  assert.equal(
    identityOf({ ID: '', Name: 'podman-vm' }, { host: 'unix:///run/podman.sock', context: 'default' }).id,
    'name:podman-vm@unix:///run/podman.sock',
  );
});

test("a row is another engine's only when both engines are known and differ", () => {
  const here = { id: 'A', label: 'unix:///var/run/docker.sock' };
  assert.equal(isElsewhere(row('A'), here), false);
  assert.equal(isElsewhere(row('B'), here), true);
  assert.equal(isElsewhere(row(null), here), false, 'a row from before engines were recorded');
  assert.equal(isElsewhere(row('B'), undefined), false, 'no engine has answered yet');
});

test('the message names the engine, and says so when another daemon now answers at its address', () => {
  assert.equal(
    elsewhereMessage(row('B', '"colima" (unix:///c.sock)'), { label: 'unix:///var/run/docker.sock' }),
    'On Docker engine "colima" (unix:///c.sock); switch to it in Settings to manage this workload',
  );
  assert.match(
    elsewhereMessage(row('B', 'unix:///var/run/docker.sock'), { label: 'unix:///var/run/docker.sock' }),
    /another daemon answered there \(reset or reinstalled\?\)/,
  );
});
