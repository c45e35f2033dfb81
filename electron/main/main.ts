// The Electron entry (bundled to dist/electron/main.cjs). Only wiring: the Electron modules and the
// agent's factory go into runApp, which holds the app's behaviour and is tested with fakes.
import * as electron from 'electron';
import { createAgent } from '../agent/create-agent';
import { ensureDataDir, resolveDataDir } from '../agent/data-dir';
import { readRunningAgent, startLocalApi } from '../agent/local-api';
import { createShareService } from '../agent/shares/share-service';
import { LOCAL_API, LatticeError } from '../../shared';
import { runApp } from './app-lifecycle';

async function answersAsAgent(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL(LOCAL_API.health, url), { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

runApp(electron, {
  resolveDataDir: () => ensureDataDir(resolveDataDir()),
  async checkNotRunning(dataDir) {
    // Two agents on one data dir would fight over its database and its containers.
    const running = readRunningAgent(dataDir);
    if (running && running.pid !== process.pid && (await answersAsAgent(running.url))) {
      throw new LatticeError(
        'conflict',
        `A Lattice agent is already running for ${dataDir} (pid ${running.pid}, ${running.url}). Stop it, then start the app.`,
      );
    }
  },
  // Sharing is plugged into the agent here, as for the headless agent.
  createAgent: (options) =>
    createAgent({ ...options, shareServiceFactory: (internals) => createShareService(internals) }),
  startLocalApi,
}).catch((err: unknown) => {
  console.error('[lattice] the app failed to start:', err);
  electron.app.exit(1);
});
