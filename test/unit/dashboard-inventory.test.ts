// The dashboard's account-wide view without a browser: ages in words and on the local clock, the
// grouping by computer, which queued commands wait on which workload, the hub's placement reasons on
// the deploy form, the form's share and target, the tRPC envelope, and the store fed by hub events.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InventoryWorkload, NodeInfo, QueuedCommand } from '../../shared';
import {
  ageAt,
  formatAge,
  groupByNode,
  lifecycleFor,
  observedLocally,
  queuedFor,
  queuedOutcome,
  queueToShow,
} from '../../renderer/src/store/inventory-model';
import {
  emptyForm,
  formFieldFor,
  hubDeployInput,
  placementReasons,
  targetError,
  validateForm,
} from '../../renderer/src/components/deploy-form-model';
import { procedureRequest, readProcedureReply } from '../../renderer/src/api/trpc-reply';
import { applyDashboardEvent } from '../../renderer/src/store/dashboard-events';
import { resetStores, useLattice } from '../../renderer/src/store/store';

const node = (name: string, online: boolean, extra: Partial<NodeInfo> = {}): NodeInfo => ({
  id: `id-${name}`,
  name,
  online,
  lastSeenAt: null,
  capacityAt: '2026-11-26T10:00:00.000Z',
  cpus: 4,
  memoryTotalBytes: 8 * 1024 ** 3,
  memoryFreeBytes: 4 * 1024 ** 3,
  diskFreeBytes: 1e11,
  runningWorkloads: 0,
  allowsRemoteDeploy: true,
  remoteDeployMemoryCapBytes: null,
  placeableMemoryBytes: 4 * 1024 ** 3,
  workloads: 0,
  ...extra,
});

const workload = (name: string, on: NodeInfo, extra: Partial<InventoryWorkload> = {}): InventoryWorkload => ({
  id: `w-${name}-${on.name}`,
  name,
  template: 'postgres',
  image: 'postgres:16',
  status: 'running',
  ports: [],
  volumes: [],
  restart: 'unless-stopped',
  createdAt: '2026-11-26T09:00:00.000Z',
  updatedAt: '2026-11-26T09:00:00.000Z',
  origin: 'remote',
  node: { id: on.id, name: on.name, online: on.online },
  observedAt: '2026-11-26T10:00:00.000Z',
  ageSeconds: 0,
  pendingCommands: 0,
  ...extra,
});

const queued = (extra: Partial<QueuedCommand>): QueuedCommand => ({
  id: 'q1',
  nodeId: 'id-alpha',
  nodeName: 'alpha',
  name: 'workload.start',
  summary: '"orders"',
  ref: 'orders',
  status: 'pending',
  result: null,
  createdAt: '2026-11-26T10:00:00.000Z',
  expiresAt: '2026-11-27T10:00:00.000Z',
  deliveredAt: null,
  finishedAt: null,
  ...extra,
});

beforeEach(() => resetStores());

test('ages read as words, from seconds to days', () => {
  assert.equal(formatAge(0), 'less than a minute');
  assert.equal(formatAge(59), 'less than a minute');
  assert.equal(formatAge(60), '1 min');
  assert.equal(formatAge(3599), '59 min');
  assert.equal(formatAge(3600), '1 h');
  assert.equal(formatAge(47 * 3600), '47 h');
  assert.equal(formatAge(3 * 86_400), '3 days');
  assert.equal(formatAge(-5), 'less than a minute', 'a clock running backwards is not a negative age');
});

test("a state's age counts on the local clock from the hub's age, whatever the hub's clock says", () => {
  const alpha = node('alpha', false);
  // The hub's clock is a day off; it said the state was 10 minutes old when it answered.
  const w = workload('orders', alpha, { observedAt: '2020-01-01T00:00:00.000Z', ageSeconds: 600 });
  const received = 1_000_000_000;
  const local = observedLocally(w, received);
  assert.equal(ageAt(local, received), 600);
  assert.equal(ageAt(local, received + 5 * 60_000), 900);
  assert.equal(formatAge(ageAt(local, received + 5 * 60_000)), '15 min');
});

test('the inventory groups by computer name, every computer included, workloads by name', () => {
  const alpha = node('alpha', true);
  const beta = node('beta', false);
  const empty = node('gamma', true);
  const now = 0;
  const list = [
    workload('zeta', beta),
    workload('orders', alpha),
    workload('apple', beta),
    // A computer the node list does not know yet still gets its group, named as the workload says.
    workload('x', node('delta', true, { id: 'id-delta' })),
  ].map((w) => observedLocally(w, now));
  const groups = groupByNode(list, [beta, empty, alpha]);
  assert.deepEqual(
    groups.map((g) => [g.node.name, g.node.online, g.workloads.map((w) => w.name)]),
    [
      ['alpha', true, ['orders']],
      ['beta', false, ['apple', 'zeta']],
      ['delta', true, ['x']],
      ['gamma', true, []],
    ],
  );
});

test('queued commands are matched to their workload by computer and reference, waiting ones only', () => {
  const alpha = node('alpha', false);
  const orders = workload('orders', alpha);
  const commands = [
    queued({ id: 'a', createdAt: '2026-11-26T10:05:00.000Z' }),
    queued({ id: 'b', name: 'workload.stop', createdAt: '2026-11-26T10:01:00.000Z' }),
    queued({ id: 'by-id', summary: `"${orders.id}"`, ref: orders.id }),
    queued({ id: 'done', status: 'done' }),
    queued({ id: 'cancelled', status: 'cancelled' }),
    queued({ id: 'other-computer', nodeId: 'id-beta' }),
    queued({ id: 'other-name', summary: '"orders-2"', ref: 'orders-2' }),
    queued({ id: 'deploy', name: 'workload.deploy', summary: 'postgres "orders"', ref: null }),
    // Matched by its reference, not by the words of its summary.
    queued({ id: 'summary-only', summary: '"orders"', ref: 'invoices' }),
  ];
  assert.deepEqual(
    queuedFor(orders, commands).map((c) => c.id),
    ['by-id', 'b', 'a'],
  );
});

test('the queue panel shows waiting commands oldest first, then the latest finished ones', () => {
  const list = queueToShow(
    [
      queued({ id: 'new', createdAt: '2026-11-26T11:00:00.000Z' }),
      queued({ id: 'old', createdAt: '2026-11-26T09:00:00.000Z', status: 'delivered' }),
      queued({ id: 'f1', status: 'done', finishedAt: '2026-11-26T08:00:00.000Z' }),
      queued({ id: 'f2', status: 'failed', finishedAt: '2026-11-26T12:00:00.000Z' }),
      queued({ id: 'f3', status: 'expired', finishedAt: '2026-11-26T10:00:00.000Z' }),
    ],
    2,
  );
  assert.deepEqual(
    list.map((c) => c.id),
    ['old', 'new', 'f2', 'f3'],
  );
  assert.equal(
    queuedOutcome(
      queued({
        status: 'failed',
        result: { ok: false, error: { code: 'not_found', message: 'No workload "x"' } },
      }),
    ),
    'failed: No workload "x"',
  );
});

test('lifecycle actions follow the state: start when down, stop when up, nothing while it changes', () => {
  assert.deepEqual(lifecycleFor('running'), { start: false, stop: true, restart: true });
  assert.deepEqual(lifecycleFor('exited'), { start: true, stop: false, restart: true });
  assert.deepEqual(lifecycleFor('creating'), { start: false, stop: false, restart: false });
});

test("the hub's no-fit answer becomes one reason per computer", () => {
  const message =
    'No computer can take this deploy — "alpha": offline; "beta": only 12 MiB free for remote deploys (capped at 64 MiB); "my laptop": does not allow remote deploys';
  assert.deepEqual(placementReasons(message), [
    { node: 'alpha', reason: 'offline' },
    { node: 'beta', reason: 'only 12 MiB free for remote deploys (capped at 64 MiB)' },
    { node: 'my laptop', reason: 'does not allow remote deploys' },
  ]);
  assert.deepEqual(placementReasons('No computer "gamma" in this account'), []);
  // The hub names the field `node`; the form shows it at the target picker.
  assert.equal(formFieldFor(emptyForm('postgres', 'pg'), ['node']), 'target');
});

test('the target picker: an offline computer needs the deploy queued; auto and online ones go to the hub', () => {
  const nodes = [node('alpha', false), node('beta', true)];
  const form = emptyForm('postgres', 'pg-1');
  assert.equal(targetError(form, nodes), undefined);
  assert.equal(targetError({ ...form, target: 'id-beta' }, nodes), undefined);
  assert.match(targetError({ ...form, target: 'id-alpha' }, nodes) ?? '', /"alpha" is offline.*queue/);
  assert.equal(targetError({ ...form, target: 'id-alpha', queue: true }, nodes), undefined);
  assert.match(targetError({ ...form, target: 'id-gone' }, nodes) ?? '', /choose Auto/);
});

test('"Share when ready" becomes workload.deploy\'s share; the hub deploy adds node and queue', () => {
  const plain = validateForm(emptyForm('postgres', 'pg-1'));
  assert.equal(plain.args && 'share' in plain.args, false, 'no share unless asked');
  const form = {
    ...emptyForm('postgres', 'pg-1'),
    share: { enabled: true, via: 'relay' as const, expires: '7d' as const, readOnly: true },
  };
  const { args, errors } = validateForm(form);
  assert.deepEqual(errors, {});
  assert.deepEqual(args, {
    template: 'postgres',
    name: 'pg-1',
    hostPort: undefined,
    share: { via: 'relay', expires: '7d', readOnly: true },
  });
  // The computer's default via is left out, so the agent picks (relay when paired).
  const byDefault = validateForm({ ...form, share: { ...form.share, via: '' as const } });
  assert.equal((byDefault.args as { share: { via?: string } }).share.via, undefined);
  assert.deepEqual(hubDeployInput(args!, { ...form, target: 'id-alpha', queue: true }), {
    ...args,
    node: 'id-alpha',
    queue: true,
  });
  assert.equal(hubDeployInput(args!, form).node, 'auto');
  assert.equal('queue' in hubDeployInput(args!, form), false);
});

test('procedures travel as tRPC does: queries GET with ?input=, mutations POST a JSON body', () => {
  assert.deepEqual(procedureRequest('workload.list', undefined), {
    method: 'GET',
    path: '/trpc/workload.list',
  });
  assert.deepEqual(procedureRequest('workload.get', { ref: 'a b' }), {
    method: 'GET',
    path: `/trpc/workload.get?input=${encodeURIComponent('{"ref":"a b"}')}`,
  });
  assert.deepEqual(procedureRequest('queue.cancel', { id: 'q1' }), {
    method: 'POST',
    path: '/trpc/queue.cancel',
    body: { id: 'q1' },
  });
});

test("tRPC replies become Results: the contract's error body, and outputs checked against the contract", () => {
  const error = readProcedureReply('workload.deploy', 409, {
    error: {
      message: 'No computer can take this deploy',
      data: { lattice: { code: 'conflict', message: 'No computer can take this deploy', field: 'node' } },
    },
  });
  assert.deepEqual(error, {
    ok: false,
    error: { code: 'conflict', message: 'No computer can take this deploy', field: 'node' },
  });
  const list = readProcedureReply('node.list', 200, { result: { data: [node('alpha', true)] } });
  assert.equal(list.ok && list.value[0].name, 'alpha');
  const wrong = readProcedureReply('node.list', 200, { result: { data: [{ id: 1 }] } });
  assert.equal(wrong.ok, false);
  assert.match(!wrong.ok ? wrong.error.message : '', /does not match the contract/);
  const bare = readProcedureReply('user.me', 401, { error: { message: 'nope' } });
  assert.deepEqual(bare, { ok: false, error: { code: 'unauthorized', message: 'nope' } });
});

test('hub events keep the store current: presence, live states without credentials, removals, the queue', () => {
  const alpha = node('alpha', true);
  const s = useLattice.getState();
  s.setNodes([alpha]);
  s.setInventory([workload('orders', alpha, { ageSeconds: 30 })], 100_000);
  const key = `${alpha.id}/w-orders-alpha`;
  assert.equal(useLattice.getState().inventory[key].observedAtMs, 70_000);

  // It goes offline: the workload stays, marked offline; no reload is needed for that.
  assert.equal(
    applyDashboardEvent({ type: 'presence', deviceId: alpha.id, online: false, lastSeenAt: 'then' }),
    false,
  );
  assert.equal(useLattice.getState().inventory[key].node.online, false);
  assert.equal(useLattice.getState().nodes[alpha.id].lastSeenAt, 'then');
  // Back online: its fresh inventory went to the hub, so the dashboard reloads.
  assert.equal(
    applyDashboardEvent({ type: 'presence', deviceId: alpha.id, online: true, lastSeenAt: null }),
    true,
  );

  const live = {
    ...workload('orders', alpha),
    status: 'stopped',
    password: 'secret',
    connectionString: 'postgres://u:secret@x/db',
  };
  applyDashboardEvent(
    {
      type: 'device.event',
      deviceId: alpha.id,
      event: { type: 'workload.changed', workload: live } as never,
    },
    200_000,
  );
  const after = useLattice.getState().inventory[key] as unknown as Record<string, unknown>;
  assert.equal(after.status, 'stopped');
  assert.equal(after.observedAtMs, 200_000);
  assert.equal(after.password, undefined, 'the account-wide view keeps no credentials');
  assert.equal(after.connectionString, undefined);

  assert.equal(
    applyDashboardEvent({ type: 'queue.changed', command: queued({ id: 'q9', nodeId: alpha.id }) }),
    false,
  );
  assert.equal(useLattice.getState().queue.q9.status, 'pending');
  assert.equal(
    applyDashboardEvent({
      type: 'queue.changed',
      command: queued({ id: 'q9', nodeId: alpha.id, status: 'done' }),
    }),
    true,
    'a finished command changes counts the hub keeps: reload',
  );

  applyDashboardEvent({
    type: 'device.event',
    deviceId: alpha.id,
    event: { type: 'workload.removed', id: 'w-orders-alpha', name: 'orders' },
  });
  assert.deepEqual(useLattice.getState().inventory, {});
  // Signing out forgets the account's inventory.
  useLattice.getState().setHubUser(null);
  assert.deepEqual(useLattice.getState().nodes, {});
});
