// deploy-to-login: how much does the agent add over a plain `docker run` of the same Postgres image?
// Rounds alternate (a) `docker run` + polling a pg login and (b) a deploy through a running agent's API
// (which returns once it could log in itself). Medians and their ratio; goal: agent ≤ 1.10 × docker run.
// Usage: npm run bench (BENCH_ROUNDS=N to change the default of 3 rounds).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATA_FILES, type Workload } from '../shared';
import { FIXTURE_IMAGES, removeLabelled, requireFixtureImages } from '../test/helpers/docker';
import { freePort } from '../test/helpers/net';
import { runLabels, startAgentProcess } from '../test/helpers/agent-process';

const run = promisify(execFile);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const POLL_MS = 100;
const GOAL = 1.1;

const secret = () => randomBytes(18).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

async function waitForLogin(connectionString: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline)
        throw new Error(`no postgres login after ${timeoutMs} ms: ${(err as Error).message}`);
    }
    await sleep(POLL_MS);
  }
}

/** (a) What a person would script by hand: docker run with the same env, volume and port, then poll a login. */
async function plainDockerRun(runLabel: string, round: number): Promise<number> {
  const name = `lattice-bench-plain-${round}-${randomBytes(3).toString('hex')}`;
  const [user, password, db] = [
    `u_${randomBytes(5).toString('hex')}`,
    secret(),
    `db_${randomBytes(4).toString('hex')}`,
  ];
  const port = await freePort();
  const started = performance.now();
  try {
    await run('docker', [
      'run',
      '-d',
      '--name',
      name,
      '--label',
      runLabel,
      '-e',
      `POSTGRES_USER=${user}`,
      '-e',
      `POSTGRES_PASSWORD=${password}`,
      '-e',
      `POSTGRES_DB=${db}`,
      '-e',
      'POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256',
      '-v',
      `${name}-data:/var/lib/postgresql/data`,
      '-p',
      `127.0.0.1:${port}:5432`,
      FIXTURE_IMAGES.postgres,
    ]);
    await waitForLogin(`postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`);
    return (performance.now() - started) / 1000;
  } finally {
    await run('docker', ['rm', '-f', '-v', name]).catch(() => undefined);
    await run('docker', ['volume', 'rm', '-f', `${name}-data`]).catch(() => undefined);
  }
}

async function api(url: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as { ok: boolean; value?: unknown; error?: { message: string } };
  if (!json.ok) throw new Error(`${method} ${path}: ${json.error?.message}`);
  return json.value;
}

/** (b) The same through the agent: one deploy call that returns when the agent logged in itself. */
async function agentDeploy(url: string, token: string, round: number): Promise<number> {
  const name = `bench-agent-${round}-${randomBytes(3).toString('hex')}`;
  const started = performance.now();
  try {
    const w = (await api(url, token, 'POST', '/api/workloads/deploy', {
      template: 'postgres',
      name,
    })) as Workload;
    if (w.status !== 'running') throw new Error(`deploy ended ${w.status}: ${w.message ?? ''}`);
    return (performance.now() - started) / 1000;
  } finally {
    await api(url, token, 'DELETE', `/api/workloads/${name}?volumes=1`).catch(() => undefined);
  }
}

async function main() {
  await requireFixtureImages('postgres');
  const { env, runLabel } = runLabels();
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-bench-'));
  const agent = await startAgentProcess(dataDir, { ...env, LATTICE_LOG_LEVEL: 'warn' });
  const token = readFileSync(join(dataDir, DATA_FILES.apiToken), 'utf8').trim();
  const plain: number[] = [];
  const viaAgent: number[] = [];
  try {
    // One warm-up of each, not counted: the first container start pays for cold page caches.
    await plainDockerRun(runLabel, -1);
    await agentDeploy(agent.url, token, -1);
    for (let i = 0; i < rounds; i++) {
      plain.push(await plainDockerRun(runLabel, i));
      viaAgent.push(await agentDeploy(agent.url, token, i));
      console.log(
        `round ${i + 1}/${rounds}: docker run ${plain[i].toFixed(2)} s, agent ${viaAgent[i].toFixed(2)} s`,
      );
    }
  } finally {
    await agent.stop('SIGTERM');
    await removeLabelled(runLabel);
    rmSync(dataDir, { recursive: true, force: true });
  }
  const a = median(viaAgent);
  const d = median(plain);
  const ratio = a / d;
  console.log(
    `deploy-to-login: agent ${a.toFixed(2)} s, docker run ${d.toFixed(2)} s, ratio ${ratio.toFixed(2)} (goal ≤ ${GOAL.toFixed(2)})${ratio <= GOAL ? '' : ' — over the goal'}`,
  );
  const resultsDir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, 'deploy.json'),
    JSON.stringify(
      { at: new Date().toISOString(), rounds, agent: viaAgent, dockerRun: plain, ratio },
      null,
      2,
    ),
  );
}

await main();
