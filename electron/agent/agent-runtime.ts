// One way to start the agent, for the tray app (electron/main/main.ts) and the headless agent
// (run-agent.ts): refuse a second agent on the same data directory, create the agent, open the
// loopback API the CLI and a browser console reach it through.
import { LOCAL_API, LatticeError } from '../../shared';
import type { Agent, AgentOptions } from './agent';
import { createAgent } from './create-agent';
import { startLocalApi, type LocalApi } from './local-api';
import { readRunningAgent } from './local-api/running-file';

export interface AgentRuntimeOptions extends AgentOptions {
  /** Port of the loopback API; 0 or undefined picks a free one. */
  apiPort?: number;
  /** The built console the API serves (default: dist/renderer at the repo root). */
  consoleDir?: string;
  /**
   * What a local API that cannot start means. Headless it is the agent's only door, so the start
   * fails ('fail', the default); in the app the window still works over IPC, so it is reported
   * through `onApiError` and the agent runs without it ('continue').
   */
  onApiFailure?: 'fail' | 'continue';
  onApiError?: (err: Error) => void;
}

export interface AgentRuntime {
  agent: Agent;
  /** Undefined only when the API failed to start with `onApiFailure: 'continue'`. */
  api: LocalApi | undefined;
  /** Closes the API, then the agent. Containers keep running under their restart policy. Idempotent. */
  close(): Promise<void>;
}

async function answersAsAgent(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL(LOCAL_API.health, url), { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Throws `conflict` when another live agent serves this data directory. */
export async function refuseSecondAgent(dataDir: string): Promise<void> {
  // Two agents on one data dir would fight over its database and its containers. A running file
  // left by a crash names a dead agent: it does not answer, and we start.
  const running = readRunningAgent(dataDir);
  if (running && running.pid !== process.pid && (await answersAsAgent(running.url))) {
    throw new LatticeError(
      'conflict',
      `A Lattice agent is already running for ${dataDir} (pid ${running.pid}, ${running.url}); stop it first`,
    );
  }
}

export async function startAgentRuntime(opts: AgentRuntimeOptions): Promise<AgentRuntime> {
  const { apiPort, consoleDir, onApiFailure = 'fail', onApiError, ...agentOptions } = opts;
  await refuseSecondAgent(agentOptions.dataDir);
  const agent = await createAgent(agentOptions);
  let api: LocalApi | undefined;
  try {
    api = await startLocalApi(agent, { port: apiPort ?? 0, consoleDir });
  } catch (err) {
    const error =
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new LatticeError('port_taken', `API port ${apiPort} is taken: pick another with --api-port`)
        : (err as Error);
    if (onApiFailure === 'fail') {
      await agent.close();
      throw error;
    }
    onApiError?.(error);
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      try {
        await api?.close();
      } finally {
        await agent.close();
      }
    })());
  return { agent, api, close };
}
