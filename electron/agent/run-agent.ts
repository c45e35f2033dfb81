// The headless agent: `lattice agent` and `npm start`'s fallback when Electron cannot start. Starts
// the agent runtime (agent-runtime.ts) and prints one ready line with the console's login URL.
import type { Agent } from './agent';
import { startAgentRuntime } from './agent-runtime';
import { ensureDataDir } from './data-dir';
import { describeEngine } from './docker/engine';
import type { LocalApi } from './local-api';

export interface HeadlessAgentOptions {
  dataDir: string;
  /** 0 or undefined: any free port. */
  apiPort?: number;
  hubUrl?: string;
  /** `--docker-host`: the engine to use, over Settings, DOCKER_HOST and docker contexts. */
  dockerHost?: string;
  consoleDir?: string;
  env?: Record<string, string | undefined>;
  /** Close on SIGINT/SIGTERM and exit (default true). */
  handleSignals?: boolean;
  /** Where the ready line goes (default stdout). */
  print?: (line: string) => void;
}

export interface HeadlessAgent {
  agent: Agent;
  api: LocalApi;
  close(): Promise<void>;
}

export async function runHeadlessAgent(opts: HeadlessAgentOptions): Promise<HeadlessAgent> {
  // The loopback API is the headless agent's only door: without it the start fails.
  const runtime = await startAgentRuntime({
    dataDir: ensureDataDir(opts.dataDir),
    hubUrl: opts.hubUrl,
    dockerHost: opts.dockerHost,
    env: opts.env ?? process.env,
    apiPort: opts.apiPort,
    consoleDir: opts.consoleDir,
    onApiFailure: 'fail',
  });
  const { agent, close } = runtime;
  const api = runtime.api!;

  if (opts.handleSignals !== false) {
    let closing = false;
    const onSignal = () => {
      // A second Ctrl-C while closing means "now".
      if (closing) process.exit(130);
      closing = true;
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // First which engine and how it was found (or every candidate and what to start), then the door.
  const info = await agent.dispatch('system.info', {}, { door: 'local' });
  for (const line of describeEngine(info.docker)) print(line);
  print(`Lattice agent ready — console: ${api.consoleLoginUrl} (API ${api.url})`);
  return { agent, api, close };
}
