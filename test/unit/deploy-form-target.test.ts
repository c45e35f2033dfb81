// The one deploy form on both faces, rendered to HTML by React: the dashboard's account-wide deploy
// shows the target picker (Auto first, then each computer with what it offers a remote deploy); the
// console and one computer's view do not; both offer "Share when ready".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { NodeInfo } from '../../shared';
import { ApiContext } from '../../renderer/src/api/api-context';
import type { ConsoleApi } from '../../renderer/src/api/console-api';
import type { DeployPlacement } from '../../renderer/src/components/deploy-form-model';

// As in deploy-form-rows.test.ts: the .tsx module is loaded by a path TypeScript does not follow, and
// tsx compiles it with the classic JSX runtime, hence the global React.
(globalThis as { React?: typeof React }).React = React;
const FORM_MODULE = '../../renderer/src/components/DeployForm.tsx';
const { DeployForm } = (await import(FORM_MODULE)) as {
  DeployForm: (props: { template: 'postgres'; placement?: DeployPlacement }) => React.ReactElement;
};
const { createElement } = React;

const node = (name: string, extra: Partial<NodeInfo>): NodeInfo => ({
  id: `id-${name}`,
  name,
  online: true,
  lastSeenAt: null,
  capacityAt: '2026-11-26T10:00:00.000Z',
  cpus: 2,
  memoryTotalBytes: 8 * 1024 ** 3,
  memoryFreeBytes: 2 * 1024 ** 3,
  diskFreeBytes: 1e10,
  runningWorkloads: 0,
  allowsRemoteDeploy: true,
  remoteDeployMemoryCapBytes: null,
  placeableMemoryBytes: 2 * 1024 ** 3,
  workloads: 0,
  ...extra,
});

test('the dashboard deploy picks a target: Auto, then each computer with what it offers', () => {
  const placement: DeployPlacement = {
    nodes: [
      node('alpha', { placeableMemoryBytes: 64 * 1024 ** 2 }),
      node('beta', {}),
      node('gamma', { online: false }),
      node('delta', { allowsRemoteDeploy: false }),
      node('eps', { capacityAt: null, placeableMemoryBytes: null }),
    ],
    takenNames: ['postgres-1'],
    deploy: async () => ({ ok: false, error: { code: 'internal', message: 'not in this test' } }),
  };
  const html = renderToStaticMarkup(createElement(DeployForm, { template: 'postgres', placement }));
  const options = [...html.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) =>
    m.slice(1),
  );
  assert.deepEqual(options.slice(0, 6), [
    ['auto', 'Auto'],
    ['id-alpha', 'alpha — 64 MB free'],
    ['id-beta', 'beta — 2.0 GB free'],
    ['id-gamma', 'gamma — offline'],
    ['id-delta', 'delta — remote deploys off'],
    ['id-eps', 'eps — capacity not reported yet'],
  ]);
  assert.match(html, /<select[^>]*data-field="target"/);
  // The suggested name skips names taken on any computer of the account.
  assert.match(html, /value="postgres-2"/);
  assert.match(html, /data-testid="deploy-share"/);
});

test("the console (and one computer's view) deploy where it is: no target picker, the same share choice", () => {
  const scope = { api: {} as ConsoleApi, base: '', remote: false };
  const html = renderToStaticMarkup(
    createElement(ApiContext.Provider, { value: scope }, createElement(DeployForm, { template: 'postgres' })),
  );
  assert.doesNotMatch(html, /data-testid="deploy-target"/);
  assert.doesNotMatch(html, /data-field="target"/);
  assert.match(html, /data-testid="deploy-share"/);
  assert.match(html, /Share when ready/);
});
