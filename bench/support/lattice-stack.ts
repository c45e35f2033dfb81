// bench/relay's real parts: `lattice hub` and `lattice agent` as their own processes (as in the
// restart tests), the agent paired with the hub, a fixture Postgres deployed by the agent and shared
// through the hub relay. Everything the agent creates carries the test label and this run's label,
// and cleanup removes it even when the bench failed half-way.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Share, Workload } from '../../shared';
import { AgentClient } from '../../electron/agent/cli/agent-client';
import { runLabels, startAgentProcess, type AgentProcess } from '../../test/helpers/agent-process';
import { removeLabelled, requireFixtureImages } from '../../test/helpers/docker';
import { freePort, waitFor } from '../../test/helpers/net';
import { api, registerUser } from '../../test/integration/hub-fixtures';
import { profileArgs, recordProfiled } from './child';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'lattice.mjs');

/** `span` consecutive ports that were all free a moment ago (a hub's relay range). */
export async function freePortBlock(span: number): Promise<{ from: number; to: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const from = 21000 + Math.floor(Math.random() * 25000);
    const servers: TcpServer[] = [];
    let ok = true;
    for (let p = from; p < from + span && ok; p++) {
      const srv = createTcpServer();
      ok = await new Promise<boolean>((r) => {
        srv.once('error', () => r(false));
        srv.listen(p, '127.0.0.1', () => r(true));
      });
      if (ok) servers.push(srv);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return { from, to: from + span - 1 };
  }
  throw new Error('no free block of ports for the relay');
}

export interface HubProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `lattice hub` on loopback (the CLI bundle, as users run it), with a relay port range when given;
 * stopped with SIGTERM (so profiles get written).
 */
export function startHubProcess(
  dataDir: string,
  port: number,
  relayPorts?: { from: number; to: number },
  extraArgs: string[] = [],
): Promise<HubProcess> {
  const relay = relayPorts
    ? ['--relay-ports', `${relayPorts.from}-${relayPorts.to}`, '--public-host', '127.0.0.1']
    : [];
  const child = spawn(
    process.execPath,
    [...profileArgs(), BIN, 'hub', '--data-dir', dataDir, '--port', String(port), ...relay, ...extraArgs],
    {
      cwd: ROOT,
      env: { ...process.env, LATTICE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  recordProfiled(child.pid, 'hub');
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lattice hub not ready in 60 s:\n${out}`)), 60_000);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`lattice hub exited with ${code}:\n${out}`));
    };
    child.once('exit', early);
    child.stdout!.on('data', () => {
      const m = /listening on (\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        url: m[1],
        child,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/**
 * `lattice agent` on loopback with profileArgs() on its command line: under BENCH_PROFILE the agent
 * that carries the Postgres share is profiled like the hub.
 */
async function startAgent(dataDir: string, env: Record<string, string>): Promise<AgentProcess> {
  const agent = await startAgentProcess(dataDir, env, 60_000, profileArgs());
  recordProfiled(agent.pid, 'agent');
  return agent;
}

export interface RelayStack {
  hub: HubProcess;
  agent: AgentProcess;
  client: AgentClient;
  /** A user of the hub, for pairing further devices. */
  accessToken: string;
  /** The deployed fixture Postgres, as its owner reaches it on this computer. */
  workload: Workload;
  share: Share;
  pairingCode(): Promise<string>;
  cleanup(): Promise<void>;
}

export async function startRelayStack(): Promise<RelayStack> {
  await requireFixtureImages('postgres');
  const hubDir = mkdtempSync(join(tmpdir(), 'lattice-bench-hub-'));
  const agentDir = mkdtempSync(join(tmpdir(), 'lattice-bench-agent-'));
  const { env, runLabel } = runLabels();
  let hub: HubProcess | undefined;
  let agent: AgentProcess | undefined;
  const cleanup = async () => {
    await agent?.stop().catch(() => undefined);
    await hub?.stop().catch(() => undefined);
    await removeLabelled(runLabel).catch(() => undefined);
    rmSync(hubDir, { recursive: true, force: true });
    rmSync(agentDir, { recursive: true, force: true });
  };
  try {
    hub = await startHubProcess(hubDir, await freePort(), await freePortBlock(4));
    agent = await startAgent(agentDir, { ...env, LATTICE_LOG_LEVEL: 'warn' });
    const client = AgentClient.connect(agentDir);
    const user = await registerUser(hub);
    const pairingCode = async () =>
      (await api<{ code: string }>(hub!, 'POST', '/api/devices/pairing', { token: user.accessToken })).body
        .code;
    await client.command('hub.pair', { hubUrl: hub.url, code: await pairingCode(), name: 'bench-agent' });
    await waitFor(
      'the agent to connect to the hub',
      async () => (await client.command('settings.get', {})).hub.connected,
      20_000,
    );
    // A name of its own: another bench run may be deploying at the same time.
    const name = `bench-pg-${runLabel.slice(-8)}`;
    const workload = await client.command('workload.deploy', { template: 'postgres', name });
    const share = await client.command('share.create', { workload: name, via: 'relay', expires: '1h' });
    return { hub, agent, client, accessToken: user.accessToken, workload, share, pairingCode, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
