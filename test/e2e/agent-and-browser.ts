// What a console e2e test starts first and stops last: a real `lattice agent` process and the Chromium
// that looks at its console, the renderer built first when stale. Pages come per test (withFreshPages).
import type { Browser } from 'playwright-core';
import { ensureRendererBuilt, launchBrowser } from './browser';
import { startAgentProcess, type AgentProcess } from './processes';

export interface AgentAndBrowser {
  agent: AgentProcess;
  browser: Browser;
  /** Closes the browser, then stops the agent and removes its data dir, even if the close failed. */
  stop(): Promise<void>;
}

/**
 * Builds the renderer when stale, starts `lattice agent` (arguments and environment as in
 * startAgentProcess) and launches the browser; if the browser does not start, the agent is stopped.
 */
export async function startAgentAndBrowser(
  agentArgs: string[] = [],
  agentEnv: NodeJS.ProcessEnv = {},
): Promise<AgentAndBrowser> {
  await ensureRendererBuilt();
  const agent = await startAgentProcess(agentArgs, agentEnv);
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (err) {
    await agent.stop();
    throw err;
  }
  return {
    agent,
    browser,
    async stop() {
      try {
        await browser.close();
      } finally {
        await agent.stop();
      }
    },
  };
}
