// An in-process agent on a fresh data directory with the fixture images, and its cleanup.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Agent, AgentOptions } from '../../electron/agent/agent';
import { createAgent } from '../../electron/agent/create-agent';
import { fixtureEnv, removeLabelled } from './docker';

export interface TestAgent {
  agent: Agent;
  dataDir: string;
  /** Opens another agent on the same data directory (after closing the first: a restart). */
  reopen(): Promise<Agent>;
  /** Closes the agent(s), removes everything labelled with this agent's owner id, and the data dir. */
  cleanup(): Promise<void>;
}

export async function startTestAgent(extra: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-agent-'));
  const options: AgentOptions = {
    dataDir,
    env: { ...process.env, ...fixtureEnv(), LATTICE_LOG_LEVEL: process.env.LATTICE_LOG_LEVEL ?? 'warn' },
    ...extra,
  };
  const agents: Agent[] = [await createAgent(options)];
  const ownerId = agents[0].ownerId;
  return {
    agent: agents[0],
    dataDir,
    async reopen() {
      const next = await createAgent(options);
      agents.push(next);
      return next;
    },
    async cleanup() {
      for (const a of agents) await a.close().catch(() => undefined);
      // Only what this agent created: other test files run their own agents concurrently.
      await removeLabelled(`lattice.owner=${ownerId}`).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
