// The Electron entry (bundled to dist/electron/main.cjs). Only wiring: the Electron modules and the
// agent's runtime go into runApp, which holds the app's behaviour and is tested with fakes.
import * as electron from 'electron';
import { ensureDataDir, resolveDataDir, startAgentRuntime } from '../agent';
import { runApp } from './app-lifecycle';

runApp(electron, {
  resolveDataDir: () => ensureDataDir(resolveDataDir()),
  startRuntime: startAgentRuntime,
}).catch((err: unknown) => {
  console.error('[lattice] the app failed to start:', err);
  electron.app.exit(1);
});
