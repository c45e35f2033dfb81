// Support for the share tests: a fixture Postgres started directly (for the role-manager tests that
// run before or without a whole agent), and clients we did not write (psql, pg) to prove a share.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import pg from 'pg';
import {
  FIXTURE_IMAGES,
  TEST_LABEL,
  fixtureEnv,
  removeLabelled,
  requireFixtureImages,
} from '../helpers/docker';
import { freePort, freePortBlock, waitFor } from '../helpers/net';
import { AgentClient } from '../../electron/agent/cli/agent-client';
import type { AgentEvent, CommandName, CommandResult } from '../../shared';
import type { Agent } from '../../electron/agent/agent';
import type { ShareServiceOptions } from '../../electron/agent/shares/share-service';
import { startTestAgent, type TestAgent } from '../helpers/agent';
import type { HubOptions } from '../../server/hub';
import { api, registerUser, startTestHub, type TestHub } from './hub-fixtures';

export interface FixturePostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  containerId: string;
  remove(): Promise<void>;
}

/** A fixture Postgres on a random 127.0.0.1 port, labelled for the sweep, ready for a password login. */
export async function startFixturePostgres(): Promise<FixturePostgres> {
  const docker: Docker = await requireFixtureImages('postgres');
  const user = `u_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const database = `db_${randomBytes(4).toString('hex')}`;
  const container = await docker.createContainer({
    Image: FIXTURE_IMAGES.postgres,
    Labels: { [TEST_LABEL]: '1', 'lattice.share-test': '1' },
    Env: [`POSTGRES_USER=${user}`, `POSTGRES_PASSWORD=${password}`, `POSTGRES_DB=${database}`],
    ExposedPorts: { '5432/tcp': {} },
    HostConfig: { PortBindings: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] }, AutoRemove: false },
  });
  const remove = () => container.remove({ force: true, v: true }).catch(() => undefined);
  try {
    await container.start();
    const info = await container.inspect();
    const port = Number(info.NetworkSettings.Ports['5432/tcp']?.[0]?.HostPort);
    const db = { host: '127.0.0.1', port, user, password, database };
    await waitFor(
      'the fixture Postgres to accept a login',
      async () => {
        const c = new pg.Client({ ...db, connectionTimeoutMillis: 2_000 });
        c.on('error', () => undefined);
        await c.connect();
        await c.end();
        return true;
      },
      60_000,
      250,
    );
    return { ...db, containerId: container.id, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Connects with a connection string; the client's errors after connecting are collected, not thrown. */
export async function pgConnect(connectionString: string): Promise<pg.Client & { lastError?: Error }> {
  // node-postgres reads sslmode=require as verify-full unless told to follow libpq (the share's
  // server has a certificate from the agent's own CA, which require encrypts to without verifying).
  if (/[?&]sslmode=require\b/.test(connectionString)) connectionString += '&uselibpqcompat=true';
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 }) as pg.Client & {
    lastError?: Error;
  };
  client.on('error', (err) => {
    client.lastError = err;
  });
  await client.connect();
  return client;
}

/** True once the session is gone (its backend was terminated or its socket cut). */
export async function sessionIsCut(client: pg.Client & { lastError?: Error }): Promise<boolean> {
  if (client.lastError) return true;
  try {
    await client.query('SELECT 1');
    return false;
  } catch {
    return true;
  }
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a real client (psql, pgbench, curl) to completion. */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
) {
  return new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** An interactive psql kept open (stdin piped), to see a share revocation cut a live session. */
export function openPsql(connectionString: string): {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
} {
  const child = spawn('/usr/bin/psql', ['-X', '-v', 'ON_ERROR_STOP=1', connectionString], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

// ---- a real hub with the relay, and a real agent paired with it ----

// The hub's relay range in these stacks; kept exported here for the tests that import it from here.
export { freePortBlock };

export interface ShareStack {
  hub: TestHub;
  hubDir: string;
  relayPorts: { from: number; to: number };
  testAgent: TestAgent;
  agent: Agent;
  /** The hub account the agent is paired with, for commands from the dashboard side. */
  accessToken: string;
  deviceId: string;
  /** Mutable test hooks of the share service (e.g. `expiresInMs`). */
  shareOptions: ShareServiceOptions;
  events: AgentEvent[];
  run<K extends CommandName>(name: K, args: unknown): Promise<CommandResult<K>>;
  /** Stops the hub and starts it again on the same port, data directory and relay range. */
  restartHub(): Promise<void>;
  /** Closes the agent and opens another on the same data directory. */
  restartAgent(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startShareStack(
  opts: { relaySpan?: number; hub?: Partial<HubOptions> } = {},
): Promise<ShareStack> {
  const hubDir = mkdtempSync(join(tmpdir(), 'lattice-share-hub-'));
  const relayPorts = await freePortBlock(opts.relaySpan ?? 4);
  const hubOptions = () => ({
    dataDir: hubDir,
    host: '127.0.0.1',
    relayPorts,
    publicHost: '127.0.0.1',
    ...opts.hub,
  });
  let hub = await startTestHub(hubOptions());
  const hubPort = hub.port;
  const user = await registerUser(hub);
  const code = await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', { token: user.accessToken });

  const shareOptions: ShareServiceOptions = {};
  const testAgent = await startTestAgent({ sharing: shareOptions });
  const events: AgentEvent[] = [];
  const stack: ShareStack = {
    hub,
    hubDir,
    relayPorts,
    testAgent,
    agent: testAgent.agent,
    accessToken: user.accessToken,
    deviceId: '',
    shareOptions,
    events,
    run: (name, args) => stack.agent.dispatch(name, args, { door: 'local' }),
    async restartHub() {
      await stack.hub.stop();
      hub = await startTestHub({ ...hubOptions(), port: hubPort });
      stack.hub = hub;
    },
    async restartAgent() {
      await stack.agent.close();
      stack.agent = await testAgent.reopen();
      stack.agent.onEvent((e) => events.push(e));
    },
    async cleanup() {
      await testAgent.cleanup().catch(() => undefined);
      await stack.hub.stop().catch(() => undefined);
      rmSync(hubDir, { recursive: true, force: true });
    },
  };
  stack.agent.onEvent((e) => events.push(e));
  try {
    stack.deviceId = await pairAndConnect(stack.run, hub.url, code.body.code, 'share-test');
  } catch (err) {
    await stack.cleanup();
    throw err;
  }
  return stack;
}

type RunCommand = <K extends CommandName>(name: K, args: unknown) => Promise<CommandResult<K>>;

/** Pairs the agent with a pairing code and waits until its hub link is up; returns the device id. */
async function pairAndConnect(run: RunCommand, hubUrl: string, code: string, name: string): Promise<string> {
  const { deviceId } = await run('hub.pair', { hubUrl, code, name });
  await waitFor(
    'the agent to connect to the hub',
    async () => (await run('settings.get', {})).hub.connected,
    20_000,
  );
  return deviceId;
}

/** The share's port on the hub answers (or, with `open: false`, refuses) a TCP connection. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connectTcp(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---- the same, as real processes (`lattice hub`, `lattice agent`), for the restart tests ----

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'lattice.mjs');

interface Proc {
  child: ChildProcess;
  output: () => string;
}

function spawnUntil(args: string[], ready: RegExp, what: string): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...fixtureEnv(), LATTICE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready in 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (!ready.test(out)) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve({ child, output: () => out });
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}

/** SIGKILL: no goodbye to anyone, as when the machine or the process dies. */
async function killHard(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

export interface ProcessStack {
  hubUrl: string;
  relayPorts: { from: number; to: number };
  agentDir: string;
  run<K extends CommandName>(name: K, args: unknown): Promise<CommandResult<K>>;
  killHub(): Promise<void>;
  startHub(): Promise<void>;
  killAgent(): Promise<void>;
  startAgent(): Promise<void>;
  /** Workload ids whose containers cleanup removes. */
  workloadIds: string[];
  cleanup(): Promise<void>;
}

export async function startProcessStack(opts: { relaySpan?: number } = {}): Promise<ProcessStack> {
  const hubDir = mkdtempSync(join(tmpdir(), 'lattice-share-hubp-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'lattice-share-agentp-'));
  const relayPorts = await freePortBlock(opts.relaySpan ?? 4);
  const hubPort = await freePort();
  const hubUrl = `http://127.0.0.1:${hubPort}`;
  let hub: Proc | undefined;
  let agent: Proc | undefined;
  let client: AgentClient | undefined;
  const stack: ProcessStack = {
    hubUrl,
    relayPorts,
    agentDir,
    workloadIds: [],
    run: (name, args) => {
      client ??= AgentClient.connect(agentDir);
      return client.command(name, args);
    },
    async killHub() {
      await killHard(hub);
    },
    async startHub() {
      hub = await spawnUntil(
        [
          'hub',
          '--data-dir',
          hubDir,
          '--port',
          String(hubPort),
          '--relay-ports',
          `${relayPorts.from}-${relayPorts.to}`,
          '--public-host',
          '127.0.0.1',
        ],
        /listening on/,
        'lattice hub',
      );
    },
    async killAgent() {
      await killHard(agent);
      client = undefined;
    },
    async startAgent() {
      agent = await spawnUntil(
        ['agent', '--data-dir', agentDir, '--api-port', '0'],
        /console: http/,
        'lattice agent',
      );
      client = undefined;
    },
    async cleanup() {
      await killHard(agent);
      await killHard(hub);
      for (const id of stack.workloadIds)
        await removeLabelled(`lattice.workload=${id}`).catch(() => undefined);
      rmSync(hubDir, { recursive: true, force: true });
      rmSync(agentDir, { recursive: true, force: true });
    },
  };
  try {
    await stack.startHub();
    await stack.startAgent();
    const user = await registerUser({ url: hubUrl });
    const code = await api<{ code: string }>({ url: hubUrl }, 'POST', '/api/devices/pairing', {
      token: user.accessToken,
    });
    await pairAndConnect(stack.run, hubUrl, code.body.code, 'share-restart');
  } catch (err) {
    await stack.cleanup();
    throw err;
  }
  return stack;
}
