// The app's life: one instance, security set up before any window exists, the agent in-process, the
// tray, and a clean stop on Quit. Closing the window keeps everything running in the tray; quitting
// stops only the agent — containers keep their restart policy and carry on without it.
import { join } from 'node:path';
import type * as ElectronModule from 'electron';
import type { Agent, AgentRuntime, AgentRuntimeOptions } from '../agent';
import { LatticeError, type Workload } from '../../shared';
import { SnapshotStore } from './agent-snapshot';
import { registerAppScheme, serveAppProtocol } from './app-protocol';
import { installCsp } from './csp';
import { forwardAgentEvents, registerIpc } from './ipc';
import { createSafeStorageKeyProvider } from './key-protection';
import { applyStartAtLogin, launchedHidden } from './login-item';
import { guardNavigation } from './navigation-guard';
import { installPermissionGuards } from './permissions';
import { createPowerController } from './power';
import { createTrayController, shareInOneClick, type TrayActions } from './tray';
import { createConsoleWindows } from './windows';

export type ElectronMain = Pick<
  typeof ElectronModule,
  | 'app'
  | 'BrowserWindow'
  | 'Tray'
  | 'Menu'
  | 'nativeImage'
  | 'ipcMain'
  | 'session'
  | 'protocol'
  | 'shell'
  | 'safeStorage'
  | 'powerMonitor'
  | 'powerSaveBlocker'
  | 'clipboard'
  | 'Notification'
  | 'dialog'
>;

/** The agent side, injected so the shell can be started against a fake in tests. */
export interface AgentFactory {
  resolveDataDir(): string;
  /** `startAgentRuntime` of electron/agent: refuses a second agent, creates the agent, opens the local API. */
  startRuntime(options: AgentRuntimeOptions): Promise<AgentRuntime>;
}

/** Where the built pieces are, relative to the app's root (the repo in development, app.asar when packaged). */
export function appPaths(appPath: string) {
  return {
    preload: join(appPath, 'dist', 'electron', 'preload.cjs'),
    renderer: join(appPath, 'dist', 'renderer'),
    trayIcons: join(appPath, 'build', 'tray'),
    appIcon: join(appPath, 'build', 'icon.png'),
  };
}

export interface RunAppOptions {
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
  argv?: readonly string[];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runApp(electron: ElectronMain, factory: AgentFactory, options: RunAppOptions = {}) {
  const { app } = electron;
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const argv = options.argv ?? process.argv;

  // A second launch hands over to the first (which shows its window) and leaves.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  registerAppScheme(electron.protocol);

  let openConsole: (route?: string) => void = () => undefined;
  app.on('second-instance', () => openConsole());
  app.on('activate', () => openConsole());
  // The app lives in the tray: closing the last window is not quitting.
  app.on('window-all-closed', () => undefined);
  // Every web contents, including any a bug might create, gets the navigation guard.
  app.on('web-contents-created', (_event, contents) => guardNavigation(contents, electron.shell));

  await app.whenReady();
  const paths = appPaths(app.getAppPath());
  const ses = electron.session.defaultSession;
  installCsp(ses);
  installPermissionGuards(ses);
  serveAppProtocol(electron.protocol, paths.renderer);

  const notify = (title: string, body: string) => {
    if (electron.Notification.isSupported()) new electron.Notification({ title, body }).show();
  };

  let runtime: AgentRuntime;
  try {
    runtime = await factory.startRuntime({
      dataDir: factory.resolveDataDir(),
      env,
      keyProvider: createSafeStorageKeyProvider(electron.safeStorage, platform),
      // The CLI (`lattice …`) and a browser console reach this same agent through the loopback API;
      // without it the window still works over IPC, so the app runs on.
      apiPort: Number(env.LATTICE_API_PORT ?? 0),
      consoleDir: paths.renderer,
      onApiFailure: 'continue',
      onApiError: (err) =>
        console.warn(
          `[lattice] the local API did not start, the CLI cannot reach this agent: ${err.message}`,
        ),
    });
  } catch (err) {
    electron.dialog.showErrorBox('Lattice could not start', describe(err));
    app.exit(1);
    return;
  }
  const agent: Agent = runtime.agent;

  const windows = createConsoleWindows(electron, { preloadPath: paths.preload, iconPath: paths.appIcon });
  openConsole = (route) => void windows.open(route);

  const snapshot = new SnapshotStore(agent);
  const run = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      notify(`Lattice: ${what} failed`, err instanceof LatticeError ? err.message : describe(err));
    }
  };
  const local = { door: 'local' } as const;
  const actions: TrayActions = {
    openConsole: () => openConsole(),
    deployPostgres: () => {
      openConsole();
      void run('Deploy Postgres', async () => {
        const workload = await agent.dispatch('workload.deploy', { template: 'postgres' }, local);
        notify(
          'Postgres is ready',
          `${workload.name}: copy its connection string from the tray or the console.`,
        );
      });
    },
    startWorkload: (w: Workload) =>
      void run(`Start ${w.name}`, () => agent.dispatch('workload.start', { ref: w.id }, local)),
    stopWorkload: (w: Workload) =>
      void run(`Stop ${w.name}`, () => agent.dispatch('workload.stop', { ref: w.id }, local)),
    copyText: (text) => electron.clipboard.writeText(text),
    shareWorkload: (w: Workload) =>
      void shareInOneClick(w, {
        settings: () => agent.dispatch('settings.get', {}, local),
        createShare: (args) => agent.dispatch('share.create', args, local),
        copyText: (text) => electron.clipboard.writeText(text),
        notify,
        openSharePanel: (workload) => openConsole(`/workloads/${encodeURIComponent(workload.name)}`),
      }),
    setPaused: (paused) =>
      void run(paused ? 'Pause' : 'Resume', () => agent.dispatch('settings.set', { paused }, local)),
    quit: () => app.quit(),
  };

  const tray = createTrayController(electron, {
    iconDir: paths.trayIcons,
    platform,
    actions,
    initial: snapshot.current,
  });
  const power = createPowerController({ ...electron, agent });
  let loginItem: boolean | undefined;
  const followLoginSetting = (enabled: boolean) => {
    // An unpackaged app would register the bare Electron binary, which opens Electron's default app.
    if (!app.isPackaged || loginItem === enabled) return;
    loginItem = enabled;
    try {
      applyStartAtLogin(app, enabled, platform, env);
    } catch (err) {
      console.warn(`[lattice] could not change start-at-login: ${describe(err)}`);
    }
  };
  snapshot.onChange((s) => {
    tray.update(s);
    power.update(s);
  });

  const disposeIpc = registerIpc({ ipcMain: electron.ipcMain, agent });
  const stopForwarding = forwardAgentEvents(agent, () =>
    electron.BrowserWindow.getAllWindows().map((w) => w.webContents),
  );
  await snapshot.start();
  // Followed only once the real settings are loaded, so a default never flips the OS login item.
  followLoginSetting(snapshot.current.startAtLogin);
  snapshot.onChange((s) => followLoginSetting(s.startAtLogin));
  if (!launchedHidden(app, argv, platform)) openConsole();

  // Quit: stop the doors, then the agent, then really quit. Containers are left to their restart policy.
  let stopped = false;
  let stopping: Promise<void> | undefined;
  app.on('before-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    stopping ??= (async () => {
      stopForwarding();
      disposeIpc();
      power.dispose();
      snapshot.stop();
      tray.destroy();
      await runtime
        .close()
        .catch((err: unknown) => console.warn(`[lattice] stopping the agent: ${describe(err)}`));
    })().finally(() => {
      stopped = true;
      app.quit();
    });
  });
}
