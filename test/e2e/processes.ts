// Real Lattice processes for the end-to-end tests: the headless agent and the CLI, as a person runs them.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureEnv } from '../helpers/docker';
import { ROOT } from './browser';

const BIN = join(ROOT, 'bin', 'lattice.mjs');

export interface AgentProcess {
  /** The API token from the data directory (what `lattice` CLI commands use). */
  apiToken(): string;
  dataDir: string;
  /** The one-time console login URL the agent printed. */
  loginUrl: string;
  /** The API origin, e.g. http://127.0.0.1:41234 */
  origin: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function agentEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...fixtureEnv(), LATTICE_LOG_LEVEL: process.env.LATTICE_LOG_LEVEL ?? 'warn' };
}

/** `lattice agent --data-dir <tmp> --api-port 0`, resolved once it prints its ready line. */
export async function startAgentProcess(
  extraArgs: string[] = [],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<AgentProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-e2e-'));
  const child = spawn(
    process.execPath,
    [BIN, 'agent', '--data-dir', dataDir, '--api-port', '0', ...extraArgs],
    {
      cwd: ROOT,
      env: { ...agentEnv(), ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const loginUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`agent printed no console URL in 60 s:\n${out}`)),
      60_000,
    );
    const onData = () => {
      const m = /console: (http:\/\/\S+\/login\?token=\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before it was ready:\n${out}`));
    });
  });
  const origin = new URL(loginUrl).origin;
  return {
    dataDir,
    loginUrl,
    origin,
    child,
    output: () => out,
    apiToken: () => readFileSync(join(dataDir, 'api-token'), 'utf8').trim(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(force);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `lattice <args>` and returns its stdout; rejects with stderr on a non-zero exit. */
export function runCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: agentEnv(), timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`lattice ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}
