// The app's lifecycle with every Electron module faked and a fake agent: single instance, tray-only
// close, in-process agent and local API, start at login, and a clean stop on Quit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';
import type { Agent, AgentRuntimeOptions, LocalApi } from '../../electron/agent';
import { runApp, type AgentFactory, type ElectronMain } from '../../electron/main/app-lifecycle';
import { applyStartAtLogin, launchedHidden, linuxAutostartEntry } from '../../electron/main/login-item';
import type { Settings } from '../../shared';

const settings = (over: Partial<Settings> = {}): Settings => ({
  lanAccess: false,
  ngrokConfigured: false,
  allowedImages: [],
  allowedBindRoots: [],
  keepAwakeWhileSharing: true,
  startAtLogin: false,
  paused: false,
  dataDir: '/data',
  hub: { url: null, deviceId: null, connected: false },
  ...over,
});

function fakeElectron(opts: { lock?: boolean; isPackaged?: boolean } = {}) {
  const log: string[] = [];
  const app = Object.assign(new EventEmitter(), {
    isPackaged: opts.isPackaged ?? false,
    requestSingleInstanceLock: () => opts.lock ?? true,
    whenReady: () => Promise.resolve(),
    getAppPath: () => '/app',
    quit: () => {
      log.push('app.quit');
      let prevented = false;
      app.emit('before-quit', { preventDefault: () => (prevented = true) });
      if (!prevented) log.push('quit for real');
    },
    exit: (code: number) => log.push(`app.exit ${code}`),
    setLoginItemSettings: (s: { openAtLogin: boolean }) => log.push(`login item ${s.openAtLogin}`),
    getLoginItemSettings: () => ({ wasOpenedAtLogin: false }),
  });
  const windows: FakeWindow[] = [];
  class FakeWindow extends EventEmitter {
    shown = 0;
    webContents = {
      send: () => undefined,
      isDestroyed: () => false,
      getURL: () => 'app://lattice/index.html',
    };
    constructor(readonly options: BrowserWindowConstructorOptions) {
      super();
      windows.push(this);
    }
    loadURL = async () => undefined;
    isDestroyed = () => false;
    isMinimized = () => false;
    restore = () => undefined;
    show = () => void this.shown++;
    focus = () => undefined;
    static getAllWindows = () => windows;
  }
  class FakeTray extends EventEmitter {
    setImage() {}
    setToolTip() {}
    setContextMenu() {}
    destroy() {
      log.push('tray destroyed');
    }
  }
  const handlers = new Map<string, unknown>();
  const electron = {
    app,
    BrowserWindow: FakeWindow,
    Tray: FakeTray,
    Menu: { buildFromTemplate: (t: unknown) => t },
    nativeImage: { createFromPath: (p: string) => p },
    ipcMain: {
      handle: (c: string, f: unknown) => handlers.set(c, f),
      removeHandler: (c: string) => handlers.delete(c),
    },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: () => log.push('csp installed') },
        setPermissionRequestHandler: () => log.push('permission requests guarded'),
        setPermissionCheckHandler: () => undefined,
        setDevicePermissionHandler: () => undefined,
      },
    },
    protocol: {
      registerSchemesAsPrivileged: () => log.push('scheme registered'),
      handle: (scheme: string) => log.push(`protocol ${scheme}`),
    },
    shell: { openExternal: async () => undefined },
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => 'basic_text',
      encryptString: (s: string) => Buffer.from(s),
      decryptString: (b: Buffer) => b.toString(),
    },
    powerMonitor: new EventEmitter(),
    powerSaveBlocker: { start: () => 1, stop: () => true, isStarted: () => false },
    clipboard: { writeText: () => undefined },
    Notification: Object.assign(class {}, { isSupported: () => false }),
    dialog: { showErrorBox: (title: string, message: string) => log.push(`error box: ${title}: ${message}`) },
  };
  return { electron: electron as unknown as ElectronMain, app, windows, handlers, log };
}

function fakeFactory(log: string[], initial: Settings = settings()) {
  let created: AgentRuntimeOptions | undefined;
  const agent = {
    dataDir: '/data',
    ownerId: 'o',
    dispatch: async (name: string) => {
      if (name === 'settings.get') return initial;
      if (name === 'system.info')
        return {
          agentVersion: '0',
          dataDir: '/data',
          docker: { available: true },
          keyProtection: 'basic_text',
        };
      return [];
    },
    onEvent: () => () => undefined,
    followLogs: async () => () => undefined,
    wake: async () => undefined,
    close: async () => void log.push('agent closed'),
  } as unknown as Agent;
  const factory: AgentFactory = {
    resolveDataDir: () => '/data',
    startRuntime: async (options) => {
      created = options;
      log.push('agent created');
      log.push(`local api on port ${options.apiPort} serving ${options.consoleDir}`);
      const api = { close: async () => void log.push('local api closed') } as unknown as LocalApi;
      return {
        agent,
        api,
        close: async () => {
          await api.close();
          await agent.close();
        },
      };
    },
  };
  return { factory, options: () => created };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('app lifecycle', () => {
  test('a second instance quits at once, without starting an agent', async () => {
    const { electron, log } = fakeElectron({ lock: false });
    const { factory } = fakeFactory(log);
    await runApp(electron, factory, { env: {}, platform: 'linux', argv: [] });
    assert.deepEqual(log, ['app.quit', 'quit for real']);
  });

  test('starts secured, runs the agent in-process with a safeStorage key, and opens the console', async () => {
    const { electron, log, windows, handlers } = fakeElectron();
    const { factory, options } = fakeFactory(log);
    await runApp(electron, factory, { env: {}, platform: 'linux', argv: [] });
    // Security is in place before the agent (and so before any window).
    assert.deepEqual(log.slice(0, 5), [
      'scheme registered',
      'csp installed',
      'permission requests guarded',
      'protocol app',
      'agent created',
    ]);
    assert.equal(options()?.dataDir, '/data');
    assert.equal(options()?.keyProvider?.protection, 'basic_text');
    // The window works over IPC without the loopback API, so its failure must not stop the app.
    assert.equal(options()?.onApiFailure, 'continue');
    assert.ok(log.includes('local api on port 0 serving /app/dist/renderer'));
    assert.equal(windows.length, 1);
    assert.equal(windows[0].options.webPreferences?.sandbox, true);
    assert.equal(windows[0].options.webPreferences?.preload, '/app/dist/electron/preload.cjs');
    assert.equal(handlers.size, 3, 'IPC handlers registered');
  });

  test('closing the window keeps the app; a second launch focuses the same window', async () => {
    const { electron, app, log, windows } = fakeElectron();
    await runApp(electron, fakeFactory(log).factory, { env: {}, platform: 'linux', argv: [] });
    app.emit('window-all-closed');
    assert.ok(!log.includes('app.quit'), 'closing the last window does not quit');
    app.emit('second-instance');
    assert.equal(windows.length, 1);
    assert.equal(windows[0].shown, 1);
  });

  test('started at login (--hidden): tray only, no window', async () => {
    const { electron, log, windows } = fakeElectron();
    await runApp(electron, fakeFactory(log).factory, {
      env: {},
      platform: 'linux',
      argv: ['electron', '--hidden'],
    });
    assert.equal(windows.length, 0);
  });

  test('Quit stops the local API and the agent, then quits; containers are not touched', async () => {
    const { electron, app, log, handlers } = fakeElectron();
    await runApp(electron, fakeFactory(log).factory, { env: {}, platform: 'linux', argv: [] });
    log.length = 0;
    app.quit();
    await settle();
    await settle();
    assert.deepEqual(log, [
      'app.quit',
      'tray destroyed',
      'local api closed',
      'agent closed',
      'app.quit',
      'quit for real',
    ]);
    assert.equal(handlers.size, 0, 'IPC handlers removed');
  });

  test('the startAtLogin setting is applied to the login item (packaged app)', async () => {
    const { electron, log } = fakeElectron({ isPackaged: true });
    await runApp(electron, fakeFactory(log, settings({ startAtLogin: true })).factory, {
      env: {},
      platform: 'darwin',
      argv: [],
    });
    assert.ok(log.includes('login item true'));
  });

  test('an agent that cannot start is shown in a dialog and the app exits', async () => {
    const { electron, log, windows } = fakeElectron();
    const { factory } = fakeFactory(log);
    factory.startRuntime = async () => {
      throw new Error('A Lattice agent is already running for /data');
    };
    await runApp(electron, factory, { env: {}, platform: 'linux', argv: [] });
    assert.ok(
      log.includes('error box: Lattice could not start: A Lattice agent is already running for /data'),
    );
    assert.ok(log.includes('app.exit 1'));
    assert.ok(!log.includes('agent created'));
    assert.equal(windows.length, 0);
  });
});

describe('start at login', () => {
  test('Linux: an autostart entry that starts the app hidden, removed when turned off', () => {
    const config = mkdtempSync(join(tmpdir(), 'lattice-xdg-'));
    try {
      const env = { XDG_CONFIG_HOME: config, APPIMAGE: '/home/me/Apps/Lattice 0.1.AppImage' };
      const calls: unknown[] = [];
      const app = { setLoginItemSettings: (s: unknown) => calls.push(s) };
      applyStartAtLogin(app, true, 'linux', env);
      const file = join(config, 'autostart', 'dev.lattice.app.desktop');
      const entry = readFileSync(file, 'utf8');
      assert.match(entry, /^Exec="\/home\/me\/Apps\/Lattice 0\.1\.AppImage" --hidden$/m);
      assert.match(entry, /^Type=Application$/m);
      applyStartAtLogin(app, false, 'linux', env);
      assert.equal(existsSync(file), false);
      assert.deepEqual(calls, [], 'the Electron API (a no-op on Linux) is not relied on');
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });

  test('macOS and Windows: the login item API, with the hidden flag', () => {
    const calls: unknown[] = [];
    applyStartAtLogin({ setLoginItemSettings: (s) => void calls.push(s) }, true, 'win32', {});
    assert.deepEqual(calls, [{ openAtLogin: true, args: ['--hidden'] }]);
  });

  test('a launch is hidden with --hidden, or when macOS says it opened the app at login', () => {
    const settingsSay = (wasOpenedAtLogin: boolean) => ({
      getLoginItemSettings: () =>
        ({ wasOpenedAtLogin }) as ReturnType<ElectronMain['app']['getLoginItemSettings']>,
    });
    assert.equal(launchedHidden(settingsSay(false), ['x', '--hidden'], 'linux'), true);
    assert.equal(launchedHidden(settingsSay(false), ['x'], 'linux'), false);
    assert.equal(launchedHidden(settingsSay(true), ['x'], 'darwin'), true);
    assert.equal(launchedHidden(settingsSay(true), ['x'], 'linux'), false);
    assert.equal(linuxAutostartEntry('/usr/bin/lattice').includes('Exec=/usr/bin/lattice --hidden'), true);
  });
});
