// The hub's account-wide API end to end: a real hub (relay on), two real `lattice agent` processes with
// their own data dirs paired into one account, the fixture Postgres image. A client we did not write
// (@trpc/client) and curl drive every procedure: placement with `node: "auto"`, the inventory across
// both computers, an offline computer's workloads and a queued start that runs when it is back,
// deploy-and-share answered with a connection string psql uses, and a second account that sees none of it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { HubRouter } from '../../server/api/trpc-router';
import type { AuditEntry } from '../../server/store/hub-store';
import type { InventoryWorkload, NodeInfo } from '../../shared';
import { AgentClient } from '../../electron/agent/cli/agent-client';
import { removeLabelled, requireFixtureImages } from '../helpers/docker';
import { freePortBlock, waitFor } from '../helpers/net';
import { lattice, runLabels, startAgentProcess, type AgentProcess } from '../helpers/agent-process';
import { api, startTestHub, type TestHub } from './hub-fixtures';
import { run } from './share-support';

const PASSWORD = 'a long enough password';
const MIB = 1024 ** 2;
// Container names are global in Docker: this run's own, so a parallel run cannot collide with it.
const RUN = randomBytes(3).toString('hex');
const ORDERS = `api-orders-${RUN}`;
const LEDGER = `api-ledger-${RUN}`;
const NOTES = `api-notes-${RUN}`;
const CLI_SHARED = `cli-shared-${RUN}`;

type Client = ReturnType<typeof createTRPCClient<HubRouter>>;
const trpc = (hub: TestHub, token?: string): Client =>
  createTRPCClient<HubRouter>({
    links: [httpLink({ url: `${hub.url}/trpc`, headers: token ? { authorization: `Bearer ${token}` } : {} })],
  });

/** The contract's error code a procedure failed with (`error.data.lattice.code`). */
async function latticeCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TRPCClientError, String(err));
    return (err.data as { lattice?: { code: string } }).lattice?.code ?? `no lattice code: ${err.message}`;
  }
  assert.fail('the procedure succeeded');
}

interface Computer {
  name: string;
  dir: string;
  proc?: AgentProcess;
  client: AgentClient;
  deviceId: string;
}

describe('hub API: two real agents, one account', () => {
  const { env, runLabel } = runLabels();
  const agentEnv = { ...env, LATTICE_LOG_LEVEL: 'warn' };
  let hub: TestHub;
  let me: Client;
  let token: string;
  const computers: Record<'alpha' | 'beta', Computer> = {} as never;

  const nodes = () => me.node.list.query();
  const nodeNamed = async (name: string): Promise<NodeInfo> => (await nodes()).find((n) => n.name === name)!;
  const listed = async (name: string): Promise<InventoryWorkload | undefined> =>
    (await me.workload.list.query()).find((w) => w.name === name);

  async function startComputer(c: Computer): Promise<void> {
    c.proc = await startAgentProcess(c.dir, agentEnv);
    c.client = AgentClient.connect(c.dir);
  }

  before(async () => {
    await requireFixtureImages('postgres');
    hub = await startTestHub({
      host: '127.0.0.1',
      relayPorts: await freePortBlock(4),
      publicHost: '127.0.0.1',
      heartbeatMs: 1000,
    });
    for (const name of ['alpha', 'beta'] as const) {
      computers[name] = {
        name,
        dir: mkdtempSync(join(tmpdir(), `lattice-hubapi-${name}-`)),
        client: undefined as never,
        deviceId: '',
      };
      await startComputer(computers[name]);
    }
  });

  after(async () => {
    try {
      await Promise.all(Object.values(computers).map((c) => c.proc?.stop()));
    } finally {
      // Only what this file's agents created carries this run's label.
      await removeLabelled(runLabel).catch(() => undefined);
      await hub?.stop();
      for (const c of Object.values(computers)) rmSync(c.dir, { recursive: true, force: true });
    }
  });

  test('@trpc/client registers, signs in and reads user.me; curl speaks the same API', async () => {
    const anonymous = trpc(hub);
    const email = `owner-${process.pid}@example.com`;
    const registered = await anonymous.user.register.mutate({ email, password: PASSWORD });
    assert.equal(registered.registered, true);
    const session = await anonymous.user.login.mutate({ email, password: PASSWORD });
    token = session.accessToken;
    me = trpc(hub, token);
    assert.deepEqual(await me.user.me.query(), session.user);
    assert.equal(await latticeCode(anonymous.user.me.query()), 'unauthorized');
    assert.equal(
      await latticeCode(anonymous.user.register.mutate({ email: 'not-an-email', password: PASSWORD })),
      'invalid_argument',
    );

    // The shapes the original design listed, with curl.
    const curlRegister = await run('curl', [
      '-sS',
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ email: `curl-${process.pid}@example.com`, password: PASSWORD }),
      '-w',
      '\n%{http_code}',
      `${hub.url}/trpc/user.register`,
    ]);
    const [registerBody, registerStatus] = curlRegister.stdout.split('\n');
    assert.equal(registerStatus, '200', curlRegister.stdout + curlRegister.stderr);
    assert.equal(JSON.parse(registerBody).result.data.registered, true);
    const curlList = await run('curl', [
      '-sS',
      '-H',
      `authorization: Bearer ${token}`,
      '-w',
      '\n%{http_code}',
      `${hub.url}/trpc/workload.list`,
    ]);
    const [listBody, listStatus] = curlList.stdout.split('\n');
    assert.equal(listStatus, '200', curlList.stdout + curlList.stderr);
    assert.deepEqual(JSON.parse(listBody).result.data, []);
    // A state change that is not JSON is refused before it is read, as on /api.
    const form = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      '-H',
      `authorization: Bearer ${token}`,
      '--data',
      'ref=x',
      `${hub.url}/trpc/workload.stop`,
    ]);
    assert.equal(form.stdout, '415');
  });

  test('both computers pair into the account and report their capacity', async () => {
    for (const c of Object.values(computers)) {
      const code = await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', { token });
      c.deviceId = (
        await c.client.command('hub.pair', { hubUrl: hub.url, code: code.body.code, name: c.name })
      ).deviceId;
    }
    const both = await waitFor('both computers online with capacity', async () => {
      const list = await nodes();
      return list.length === 2 && list.every((n) => n.online && n.capacityAt !== null) && list;
    });
    for (const n of both) {
      assert.ok(n.cpus! >= 1);
      assert.ok(n.memoryTotalBytes! > n.memoryFreeBytes! && n.memoryFreeBytes! > 0);
      assert.ok(n.diskFreeBytes! > 0);
      assert.equal(n.allowsRemoteDeploy, true);
      assert.equal(n.remoteDeployMemoryCapBytes, null);
    }
    // The owner caps what remote deploys may use on alpha: beta now has the most memory for them.
    await computers.alpha.client.command('settings.set', { remoteDeployMemoryCapBytes: '64m' });
    const alpha = await waitFor('alpha reports its cap', async () => {
      const n = await nodeNamed('alpha');
      return n.remoteDeployMemoryCapBytes === 64 * MIB && n;
    });
    assert.ok(alpha.placeableMemoryBytes! <= 64 * MIB);
    assert.ok((await nodeNamed('beta')).placeableMemoryBytes! > 64 * MIB);
  });

  test('node "auto" places both deploys on the computer with more free memory; deploy+share gives a psql-ready string', async () => {
    const first = await me.workload.deploy.mutate({
      template: 'postgres',
      name: ORDERS,
      node: 'auto',
      share: { via: 'relay', expires: '1h' },
    });
    assert.equal(first.node.name, 'beta');
    assert.equal(first.workload?.status, 'running');
    assert.equal(first.shareError, undefined, JSON.stringify(first.shareError));
    assert.ok(first.share?.connectionString, JSON.stringify(first.share));
    assert.equal(first.share.status, 'active');
    // A client we did not write, through the hub's relay port, at once.
    const psql = await run('psql', ['-X', '-At', '-c', 'select 40 + 2', first.share.connectionString!]);
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout.trim(), '42');

    const second = await me.workload.deploy.mutate({
      template: 'postgres',
      name: LEDGER,
      node: 'auto',
    });
    assert.equal(second.node.name, 'beta');
    assert.equal(second.share, undefined);

    // An explicit computer is taken at its word (alpha's cap still leaves room for one more).
    const third = await me.workload.deploy.mutate({ template: 'postgres', name: NOTES, node: 'alpha' });
    assert.equal(third.node.name, 'alpha');
    assert.equal(third.workload?.status, 'running');

    const all = await waitFor('the inventory lists all three', async () => {
      const list = await me.workload.list.query();
      return list.length === 3 && list.every((w) => w.status === 'running') && list;
    });
    assert.deepEqual(all.map((w) => `${w.node.name}/${w.name}`).sort(), [
      `alpha/${NOTES}`,
      `beta/${LEDGER}`,
      `beta/${ORDERS}`,
    ]);
    for (const w of all) {
      assert.equal(w.node.online, true);
      // The hub keeps no secrets.
      assert.equal((w as Record<string, unknown>).password, undefined);
      assert.equal((w as Record<string, unknown>).connectionString, undefined);
    }
    assert.deepEqual(
      (await me.workload.list.query({ node: 'alpha' })).map((w) => w.name),
      [NOTES],
    );
    assert.deepEqual(
      (await me.share.list.query()).map((s) => `${s.node.name}/${s.workloadName}`),
      [`beta/${ORDERS}`],
    );
  });

  test('every workload procedure on an online computer', async () => {
    const got = await me.workload.get.query({ ref: NOTES });
    assert.equal(got.workload.node.name, 'alpha');
    assert.ok(got.live?.password, 'live details carry the credentials for the owner');
    assert.equal(got.liveUnavailable, undefined);
    const logs = await me.workload.logs.query({ ref: NOTES, tail: 20 });
    assert.ok(logs.lines.length > 0);
    const shared = await me.share.create.mutate({ workload: LEDGER, via: 'relay', expires: '1h' });
    assert.equal(shared.node.name, 'beta');
    const revoked = await me.share.revoke.mutate({ ref: shared.id });
    assert.deepEqual(revoked.revoked, [shared.id]);
    const restarted = await me.workload.restart.mutate({ ref: LEDGER });
    assert.equal(restarted.value?.status, 'running');
    // DELETE /trpc/workload.delete is the mutation too.
    const del = await run('curl', [
      '-sS',
      '-X',
      'DELETE',
      '-H',
      `authorization: Bearer ${token}`,
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ ref: LEDGER, volumes: true }),
      '-w',
      '\n%{http_code}',
      `${hub.url}/trpc/workload.delete`,
    ]);
    const [delBody, delStatus] = del.stdout.split('\n');
    assert.equal(delStatus, '200', del.stdout);
    assert.equal(JSON.parse(delBody).result.data.value.volumesRemoved, true);
    await waitFor('the deleted workload leaves the inventory', async () => !(await listed(LEDGER)));
    assert.equal(await latticeCode(me.workload.get.query({ ref: LEDGER })), 'not_found');
    // A name on no computer, and a computer that is not there: clear errors naming them.
    assert.equal(await latticeCode(me.workload.stop.mutate({ ref: 'nope' })), 'not_found');
    assert.equal(
      await latticeCode(me.workload.deploy.mutate({ template: 'postgres', node: 'gamma' })),
      'not_found',
    );
  });

  test('`lattice deploy --share`: a share that cannot be made leaves the workload deployed and says why', async () => {
    // No ngrok authtoken on beta: the share fails, the deploy stands.
    const cli = await lattice(
      [
        'deploy',
        'postgres',
        '--name',
        CLI_SHARED,
        '--share',
        'ngrok',
        '--share-read-only',
        '--json',
        '--data-dir',
        computers.beta.dir,
      ],
      agentEnv,
    );
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, new RegExp(`${CLI_SHARED} is deployed but not shared: .*ngrok`, 'i'));
    const printed = JSON.parse(cli.stdout) as { status: string; shareError?: { code: string } };
    assert.equal(printed.status, 'running');
    assert.equal(printed.shareError?.code, 'share_failed');
    const listedNow = await waitFor('the CLI-deployed workload in the inventory, on beta', () =>
      listed(CLI_SHARED),
    );
    assert.equal(listedNow.node.name, 'beta');
    // A bad flag is named before anything is deployed.
    const bad = await lattice([
      'deploy',
      'postgres',
      '--share',
      'carrier-pigeon',
      '--data-dir',
      computers.beta.dir,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--share carrier-pigeon: use relay or ngrok/);
  });

  test('alpha stops: its workloads stay listed, offline, with their last state; a queued start runs once when it is back', async () => {
    const stopped = await me.workload.stop.mutate({ ref: NOTES });
    assert.equal(stopped.value?.status, 'stopped');
    await waitFor(
      'the stopped state in the inventory',
      async () => (await listed(NOTES))?.status === 'stopped',
    );
    await computers.alpha.proc!.stop();
    await waitFor('alpha offline', async () => !(await nodeNamed('alpha')).online);

    const offline = await listed(NOTES);
    assert.equal(offline?.node.online, false);
    assert.equal(offline?.node.name, 'alpha');
    assert.equal(offline?.status, 'stopped');
    assert.ok(offline!.ageSeconds >= 0 && offline!.observedAt);
    const details = await me.workload.get.query({ ref: NOTES });
    assert.equal(details.live, null);
    assert.match(details.liveUnavailable ?? '', /live details unavailable.*alpha.*offline/i);

    // Without `queue` an offline computer fails fast; with it the command waits.
    assert.equal(await latticeCode(me.workload.start.mutate({ ref: NOTES })), 'device_offline');
    const queued = await me.workload.start.mutate({ ref: NOTES, queue: true });
    assert.equal(queued.queued?.status, 'pending');
    assert.equal(queued.node.online, false);
    const expires = Date.parse(queued.queued!.expiresAt) - Date.parse(queued.queued!.createdAt);
    assert.equal(expires, 24 * 3600_000, 'the default expiry is 24 h');
    // A second queued command, cancelled while pending, never runs.
    const extra = await me.workload.restart.mutate({ ref: NOTES, queue: true, queueExpires: '1h' });
    const cancelled = await me.queue.cancel.mutate({ id: extra.queued!.id });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await listed(NOTES))?.pendingCommands, 1);
    assert.deepEqual(
      (await me.queue.list.query({ status: 'pending' })).map((q) => q.id),
      [queued.queued!.id],
    );

    await startComputer(computers.alpha);
    const done = await waitFor(
      'the queued start answered',
      async () => {
        const q = (await me.queue.list.query()).find((c) => c.id === queued.queued!.id);
        return q && (q.status === 'done' || q.status === 'failed') && q;
      },
      90_000,
    );
    assert.equal(done.status, 'done', JSON.stringify(done.result));
    assert.equal((done.result as { ok: true; value: { status: string } }).value.status, 'running');
    assert.equal((done.result as { value: Record<string, unknown> }).value.password, undefined);
    const back = await waitFor('the started workload running and online', async () => {
      const w = await listed(NOTES);
      return w?.status === 'running' && w.node.online && w;
    });
    assert.equal(back.pendingCommands, 0);
    assert.equal((await me.workload.get.query({ ref: NOTES })).live?.status, 'running');
    // Ran once: one audit entry for the id, and the cancelled one never reached the computer.
    const audit = await api<AuditEntry[]>(hub, 'GET', '/api/audit', { token });
    assert.equal(audit.body.filter((e) => e.commandId === queued.queued!.id).length, 1);
    assert.equal(audit.body.filter((e) => e.commandId === extra.queued!.id).length, 0);
    assert.equal(await latticeCode(me.queue.cancel.mutate({ id: queued.queued!.id })), 'conflict');
  });

  test('a second account sees none of it, on any procedure', async () => {
    const anonymous = trpc(hub);
    const email = `other-${process.pid}@example.com`;
    await anonymous.user.register.mutate({ email, password: PASSWORD });
    const other = trpc(hub, (await anonymous.user.login.mutate({ email, password: PASSWORD })).accessToken);
    const alphaId = computers.alpha.deviceId;
    const [queued] = await me.queue.list.query();
    assert.ok(queued);

    assert.deepEqual(await other.workload.list.query(), []);
    assert.deepEqual(await other.node.list.query(), []);
    assert.deepEqual(await other.queue.list.query(), []);
    assert.deepEqual(await other.share.list.query(), []);
    for (const ref of [NOTES, ORDERS]) {
      assert.equal(await latticeCode(other.workload.get.query({ ref })), 'not_found');
      assert.equal(await latticeCode(other.workload.logs.query({ ref })), 'not_found');
      assert.equal(await latticeCode(other.workload.start.mutate({ ref })), 'not_found');
      assert.equal(await latticeCode(other.workload.stop.mutate({ ref, queue: true })), 'not_found');
      assert.equal(await latticeCode(other.workload.restart.mutate({ ref })), 'not_found');
      assert.equal(await latticeCode(other.workload.delete.mutate({ ref })), 'not_found');
      assert.equal(await latticeCode(other.share.create.mutate({ workload: ref })), 'not_found');
      assert.equal(await latticeCode(other.share.revoke.mutate({ ref })), 'not_found');
    }
    for (const node of ['alpha', alphaId]) {
      assert.equal(await latticeCode(other.workload.list.query({ node })), 'not_found');
      assert.equal(
        await latticeCode(other.workload.deploy.mutate({ template: 'postgres', node })),
        'not_found',
      );
      assert.equal(await latticeCode(other.workload.get.query({ ref: NOTES, node })), 'not_found');
    }
    assert.equal(await latticeCode(other.workload.deploy.mutate({ template: 'postgres' })), 'conflict');
    assert.equal(await latticeCode(other.queue.cancel.mutate({ id: queued.id })), 'not_found');
    // And the owner's view is unchanged by all of that.
    assert.equal((await me.workload.list.query()).length, 3);
  });
});
