// A real `lattice agent` process for integration tests, and the `lattice` CLI run as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fixtureEnv, TEST_LABEL } from './docker';

const root = new URL('../..', import.meta.url).pathname;
const bin = `${root}bin/lattice.mjs`;

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  consoleLoginUrl: string;
  /** Everything the agent wrote to stderr (its log), for failure messages. */
  log(): string;
  /** SIGTERM (or another signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Labels for one test file's agent: the shared test label plus one only this run carries (for cleanup). */
export function runLabels(): { env: Record<string, string>; runLabel: string } {
  const run = randomBytes(4).toString('hex');
  const runLabel = `${TEST_LABEL}.run=${run}`;
  const env = fixtureEnv();
  return { env: { ...env, LATTICE_EXTRA_LABELS: `${env.LATTICE_EXTRA_LABELS},${runLabel}` }, runLabel };
}

/**
 * Starts `lattice agent --data-dir DIR --api-port 0` and resolves once it printed its ready line.
 * `nodeArgs` go before the script (bench/ profiles agents with --cpu-prof, which NODE_OPTIONS refuses).
 */
export function startAgentProcess(
  dataDir: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  nodeArgs: string[] = [],
): Promise<AgentProcess> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, bin, 'agent', '--data-dir', dataDir, '--api-port', '0'],
    {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent did not get ready in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before it was ready:\n${stdout}\n${stderr}`));
    };
    child.once('exit', early);
    child.stdout!.on('data', (c) => {
      stdout += c;
      const m = /Lattice agent ready — console: (\S+) \(API (\S+)\)/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        child,
        pid: child.pid!,
        consoleLoginUrl: m[1],
        url: m[2],
        log: () => stderr,
        stop: async (signal = 'SIGTERM') => {
          if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
          child.kill(signal);
          return exited;
        },
      });
    });
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `lattice <args>` to completion. */
export function lattice(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `lattice <args> --json` that must succeed; returns the parsed output. */
export async function latticeJson<T = unknown>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const r = await lattice([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`lattice ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
