// kill -9 of the agent process at several points of a postgres deploy, then a restart: no duplicate
// container, no lost row, an intact database, and a workload that ends running (or recovers with start).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type Docker from 'dockerode';
import Database from 'better-sqlite3';
import pg from 'pg';
import { AgentEvent, DATA_FILES, type Workload } from '../../shared';
import { DB_FILE } from '../../electron/agent/create-agent';
import { removeLabelled, requireFixtureImages } from '../helpers/docker';
import { waitFor } from '../helpers/net';
import { latticeJson, runLabels, startAgentProcess, type AgentProcess } from '../helpers/agent-process';

const IN_PROGRESS = new Set(['creating', 'pulling', 'starting']);

/** Where to pull the plug, and how to notice we got there. */
type KillPoint =
  | { label: string; onStatus: 'creating' | 'starting' }
  | { label: string; onContainer: true }
  | { label: string; afterMs: number };

const KILL_POINTS: KillPoint[] = [
  { label: 'right after the row is written (creating)', onStatus: 'creating' },
  { label: 'as soon as the container exists', onContainer: true },
  { label: 'during the health wait (starting)', onStatus: 'starting' },
  { label: '300 ms into the deploy', afterMs: 300 },
  { label: '900 ms into the deploy', afterMs: 900 },
];

async function pgLogin(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
}

/** Starts a deploy through the API and follows its events; the request dies with the agent. */
function deployWatching(
  agent: AgentProcess,
  dataDir: string,
  name: string,
  onEvent: (e: AgentEvent) => void,
): { close(): void } {
  const token = readFileSync(join(dataDir, DATA_FILES.apiToken), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}` };
  const events = request(new URL('/api/events', agent.url), { headers, agent: false }, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(': connected')) {
          const body = JSON.stringify({ template: 'postgres', name });
          const deploy = request(new URL('/api/workloads/deploy', agent.url), {
            method: 'POST',
            agent: false,
            headers: { ...headers, 'content-type': 'application/json' },
          });
          deploy.on('response', (r) => r.resume());
          deploy.on('error', () => undefined);
          deploy.end(body);
        }
        for (const line of block.split('\n')) {
          if (line.startsWith('data: ')) onEvent(AgentEvent.parse(JSON.parse(line.slice(6))));
        }
      }
    });
    res.on('error', () => undefined);
  });
  events.on('error', () => undefined);
  events.end();
  return { close: () => events.destroy() };
}

describe('agent killed with SIGKILL in the middle of a deploy', () => {
  let docker: Docker;
  let dataDir: string;
  let agent: AgentProcess | undefined;
  const { env, runLabel } = runLabels();
  const suffix = randomBytes(3).toString('hex');
  const deployed: string[] = [];

  before(async () => {
    docker = await requireFixtureImages('postgres');
    dataDir = mkdtempSync(join(tmpdir(), 'lattice-crash-'));
    agent = await startAgentProcess(dataDir, env);
  });

  after(async () => {
    await agent?.stop('SIGKILL');
    await removeLabelled(runLabel);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const containersOf = async (id: string) =>
    docker.listContainers({ all: true, filters: { label: [`lattice.workload=${id}`] } });

  KILL_POINTS.forEach((point, i) => {
    test(`kill -9 ${point.label}, restart: one container, row kept, ends running`, async () => {
      const name = `crash${i}-${suffix}`;
      deployed.push(name);
      const current = agent!;
      let id: string | undefined;
      let lastStatus: string | undefined;
      let statusAtKill: string | undefined;
      let killed = false;
      const kill = () => {
        if (killed) return;
        killed = true;
        statusAtKill = lastStatus;
        current.child.kill('SIGKILL');
      };
      let poll: NodeJS.Timeout | undefined;
      const watch = deployWatching(current, dataDir, name, (event) => {
        if (event.type !== 'workload.changed' || event.workload.name !== name) return;
        id ??= event.workload.id;
        lastStatus = event.workload.status;
        if ('onStatus' in point && event.workload.status === point.onStatus) kill();
        if ('onContainer' in point && !poll) {
          poll = setInterval(() => {
            containersOf(id!).then(
              (c) => c.length > 0 && kill(),
              () => undefined,
            );
          }, 15);
        }
      });
      if ('afterMs' in point) setTimeout(kill, point.afterMs);
      try {
        await waitFor(`the kill point "${point.label}"`, () => killed, 60_000, 5);
        await current.stop('SIGKILL');
      } finally {
        clearInterval(poll);
        watch.close();
      }

      // Otherwise this would test a restart, not a crash.
      assert.notEqual(statusAtKill, 'running', 'the deploy had already finished when the agent was killed');

      agent = await startAgentProcess(dataDir, env);
      if (statusAtKill === undefined) {
        // Killed before the agent said anything about this deploy: either it had written the row
        // (and the restart resumes it) or nothing of it may exist.
        const list = await latticeJson<Workload[]>(['ls', '--data-dir', dataDir]);
        if (!list.some((w) => w.name === name)) {
          const stray = await docker.listContainers({ all: true, filters: { name: [`lattice-${name}`] } });
          assert.equal(stray.length, 0, 'a container without a row');
          deployed.pop();
          return;
        }
      }
      // The reconciler resumes the interrupted deploy; wait until it settles.
      const settled = await waitFor(
        `${name} to settle after the restart`,
        async () => {
          const list = await latticeJson<Workload[]>(['ls', '--data-dir', dataDir]);
          const w = list.find((x) => x.name === name);
          return w && !IN_PROGRESS.has(w.status) ? w : undefined;
        },
        90_000,
        250,
      );
      if (id) assert.equal(settled.id, id, 'the row changed identity');
      assert.ok((await containersOf(settled.id)).length <= 1, 'more than one container for one workload');

      let final = settled;
      if (settled.status !== 'running') {
        assert.ok(settled.message, `status ${settled.status} without a reason`);
        final = await latticeJson<Workload>(['start', name, '--data-dir', dataDir]);
      }
      assert.equal(final.status, 'running', `${name} ended ${final.status}: ${final.message ?? ''}`);
      assert.equal((await containersOf(final.id)).length, 1, 'not exactly one container');
      await waitFor(
        `${name} to accept a login`,
        () => pgLogin(final.connectionString!).then(() => true),
        30_000,
        250,
      );
    });
  });

  test('after all that: every row present, one container each, integrity_check ok', async () => {
    const list = await latticeJson<Workload[]>(['ls', '--data-dir', dataDir]);
    for (const name of deployed) {
      const w = list.find((x) => x.name === name);
      assert.ok(w, `row for ${name} lost`);
      assert.equal((await containersOf(w.id)).length, 1, `${name}: not exactly one container`);
    }
    assert.equal(await agent!.stop('SIGTERM'), 0);
    agent = undefined;
    const db = new Database(join(dataDir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  });
});
