// The built main process (dist/electron/main.cjs, as electron-builder packs it) run for real — real
// agent, real SQLite, real Docker, real loopback API — with only the Electron modules faked, since
// Electron's binary cannot be downloaded here. Proves the bundle loads (import.meta.url, migrations,
// native modules), the console's IPC reaches the agent, the CLI's door is the same agent, the relay
// byte streams' worker thread is built beside it, and Quit stops the agent cleanly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runInNewContext } from 'node:vm';
import { threadId } from 'node:worker_threads';
import { DATA_FILES, IPC, LOCAL_API } from '../../shared';
import { buildElectron } from '../../scripts/build.mjs';
import { PUMP_WORKER_BUNDLE } from '../../electron/agent/tunnels/relay-stream-thread';
import { fixtureEnv, requireDocker } from '../helpers/docker';
import { streamThroughWorkerFile } from '../helpers/pump-worker';
import { waitFor } from '../helpers/net';

const root = new URL('../..', import.meta.url).pathname;

// Loaded with `node -r` before the bundle: answers require('electron') with fakes and takes
// commands (one JSON line each) on stdin, answering `@@{"id":…,"value"|"error":…}` on stdout.
const FAKE_ELECTRON = String.raw`
const Module = require('module');
const { EventEmitter } = require('events');
const out = (msg) => process.stdout.write('@@' + JSON.stringify(msg) + '\n');
const state = { windows: [], tray: null, loginItems: [], notifications: [], errors: [] };
const app = new EventEmitter();
Object.assign(app, {
  isPackaged: false,
  requestSingleInstanceLock: () => true,
  whenReady: () => Promise.resolve(),
  getAppPath: () => process.env.FAKE_APP_PATH,
  quit() {
    let prevented = false;
    app.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (!prevented) { out({ event: 'quit' }); process.exit(0); }
  },
  exit: (code) => { out({ event: 'exit', code }); process.exit(code); },
  setLoginItemSettings: (s) => state.loginItems.push(s),
  getLoginItemSettings: () => ({ wasOpenedAtLogin: false }),
});
const handlers = new Map();
class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    const win = this;
    this.webContents = Object.assign(new EventEmitter(), {
      id: state.windows.length + 1,
      sent: [],
      send(channel, payload) { this.sent.push([channel, payload]); },
      isDestroyed: () => false,
      getURL: () => win.url,
    });
    state.windows.push(this);
  }
  loadURL(url) { this.url = url; return Promise.resolve(); }
  isDestroyed() { return false; }
  isMinimized() { return false; }
  show() {} focus() {} restore() {}
  static getAllWindows() { return state.windows; }
}
class Tray extends EventEmitter {
  constructor(image) { super(); state.tray = { image, menu: [] }; }
  setImage(image) { state.tray.image = image; }
  setToolTip(tip) { state.tray.tooltip = tip; }
  setContextMenu(menu) { state.tray.menu = menu; }
  destroy() { state.tray.destroyed = true; }
}
const fake = {
  app, BrowserWindow, Tray,
  Menu: { buildFromTemplate: (t) => t },
  nativeImage: { createFromPath: (p) => p },
  ipcMain: { handle: (c, f) => handlers.set(c, f), removeHandler: (c) => handlers.delete(c) },
  session: { defaultSession: {
    webRequest: { onHeadersReceived: (l) => (state.csp = l) },
    setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, setDevicePermissionHandler() {},
  } },
  protocol: { registerSchemesAsPrivileged: (s) => (state.schemes = s), handle: (s, h) => (state.protocol = h) },
  shell: { openExternal: async () => {} },
  safeStorage: {
    isEncryptionAvailable: () => true,
    getSelectedStorageBackend: () => 'gnome_libsecret',
    encryptString: (s) => Buffer.from('K1:' + Buffer.from(s).toString('base64')),
    decryptString: (b) => Buffer.from(b.toString().slice(3), 'base64').toString(),
  },
  powerMonitor: new EventEmitter(),
  powerSaveBlocker: { start: () => 1, stop: () => true, isStarted: () => false },
  clipboard: { writeText: (t) => (state.clipboard = t) },
  Notification: Object.assign(class { constructor(o) { this.o = o; } show() { state.notifications.push(this.o); } }, { isSupported: () => true }),
  dialog: { showErrorBox: (title, message) => { state.errors.push(title + ': ' + message); out({ event: 'error', title, message }); } },
};
const load = Module._load;
Module._load = function (request, ...rest) { return request === 'electron' ? fake : load.call(this, request, ...rest); };
const label = (m) => m.map((i) => i.label ?? '-');
const ops = {
  async invoke({ channel, url, args }) {
    const handler = handlers.get(channel);
    if (!handler) throw new Error('no handler for ' + channel);
    const win = state.windows[0];
    return handler({ senderFrame: { url }, sender: win ? win.webContents : { id: 99, send() {}, isDestroyed: () => false, once() {} } }, ...args);
  },
  async protocol({ url }) {
    const res = await state.protocol(new Request(url));
    return { status: res.status, csp: res.headers.get('content-security-policy') };
  },
  async state() {
    return {
      handlers: [...handlers.keys()].sort(),
      schemes: state.schemes,
      windows: state.windows.map((w) => ({ url: w.url, webPreferences: w.options.webPreferences })),
      tray: state.tray && { image: state.tray.image, tooltip: state.tray.tooltip, menu: label(state.tray.menu), destroyed: !!state.tray.destroyed },
      cspInstalled: typeof state.csp === 'function',
      errors: state.errors,
    };
  },
  async modules() { return Object.keys(require.cache); },
  async quit() { setImmediate(() => app.quit()); return true; },
};
createInterface = require('readline').createInterface;
createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, op, ...params } = JSON.parse(line);
  try { out({ id, value: await ops[op](params) }); } catch (err) { out({ id, error: String(err && err.message || err) }); }
});
`;

class Shell {
  private nextId = 0;
  private readonly waiting = new Map<number, (msg: { value?: unknown; error?: string }) => void>();
  readonly events: unknown[] = [];
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('@@')) return;
      const msg = JSON.parse(line.slice(2)) as { id?: number; value?: unknown; error?: string };
      if (msg.id === undefined) this.events.push(msg);
      else this.waiting.get(msg.id)?.(msg);
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        // A dead shell answers nothing more: fail the waiting calls instead of hanging.
        for (const fail of this.waiting.values()) fail({ error: `the app exited (${code})` });
        this.waiting.clear();
        resolve(code);
      }),
    );
  }
  async call<T>(op: string, params: object = {}): Promise<T> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`the app has exited (${this.child.exitCode ?? this.child.signalCode})`);
    }
    const id = ++this.nextId;
    const reply = new Promise<{ value?: unknown; error?: string }>((resolve) =>
      this.waiting.set(id, resolve),
    );
    this.child.stdin.write(`${JSON.stringify({ id, op, ...params })}\n`);
    const msg = await reply;
    if (msg.error !== undefined) throw new Error(msg.error);
    return msg.value as T;
  }
}

const CONSOLE = 'app://lattice/index.html';

describe('Electron main bundle (fake Electron, real agent)', () => {
  const work = mkdtempSync(join(tmpdir(), 'lattice-shell-'));
  const dataDir = join(work, 'data');
  const outDir = join(work, 'dist-electron');
  let shell: Shell;
  let stderr = '';

  before(async () => {
    await requireDocker();
    await buildElectron(outDir);
    const harness = join(work, 'fake-electron.cjs');
    writeFileSync(harness, FAKE_ELECTRON);
    const { NODE_TEST_CONTEXT: _runnerOnly, ...env } = process.env;
    const child = spawn(process.execPath, ['-r', harness, join(outDir, 'main.cjs')], {
      cwd: root,
      env: {
        ...env,
        ...fixtureEnv(),
        FAKE_APP_PATH: root,
        // The bundle's externals (native modules) come from the repo's node_modules, as from the asar's.
        NODE_PATH: join(root, 'node_modules'),
        LATTICE_DATA_DIR: dataDir,
        LATTICE_LOG_LEVEL: 'warn',
      },
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    shell = new Shell(child);
    try {
      await waitFor(
        'the app to open its console window',
        async () => {
          if (shell.child.exitCode !== null) return true; // reported below
          return (await shell.call<{ windows: unknown[] }>('state')).windows.length > 0;
        },
        60_000,
      );
    } finally {
      assert.equal(shell.child.exitCode, null, `the app exited early:\n${stderr}`);
    }
  });

  after(async () => {
    if (shell && shell.child.exitCode === null) shell.child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  });

  test('the window, protocol, CSP and IPC are set up as the unit tests expect', async () => {
    const state = await shell.call<{
      handlers: string[];
      schemes: { scheme: string }[];
      windows: { url: string; webPreferences: Record<string, unknown> }[];
      tray: { image: string; menu: string[] };
      cspInstalled: boolean;
      errors: string[];
    }>('state');
    assert.deepEqual(state.errors, [], stderr);
    assert.deepEqual(state.handlers, [IPC.invoke, IPC.logsFollow, IPC.logsStop].sort());
    assert.equal(state.schemes[0].scheme, 'app');
    assert.equal(state.windows[0].url, CONSOLE);
    assert.equal(state.windows[0].webPreferences.sandbox, true);
    assert.equal(state.windows[0].webPreferences.contextIsolation, true);
    assert.equal(state.windows[0].webPreferences.preload, join(root, 'dist/electron/preload.cjs'));
    assert.ok(state.cspInstalled);
    assert.ok(existsSync(state.tray.image), `tray icon ${state.tray.image} exists`);
    assert.ok(state.tray.menu.includes('Open console') && state.tray.menu.includes('Quit Lattice'));
    const page = await shell.call<{ status: number; csp: string }>('protocol', { url: CONSOLE });
    assert.match(page.csp, /script-src 'self'/);
  });

  test('the console reaches the real agent over IPC; a foreign frame does not', async () => {
    const info = await shell.call<{
      ok: boolean;
      value: { keyProtection: string; docker: { available: boolean } };
    }>('invoke', { channel: IPC.invoke, url: CONSOLE, args: ['system.info', {}] });
    assert.equal(info.ok, true);
    assert.equal(info.value.keyProtection, 'safeStorage');
    assert.equal(info.value.docker.available, true);
    assert.deepEqual(
      await shell.call('invoke', { channel: IPC.invoke, url: CONSOLE, args: ['workload.list', {}] }),
      { ok: true, value: [] },
    );
    const bad = await shell.call<{ ok: boolean; error: { code: string; field?: string } }>('invoke', {
      channel: IPC.invoke,
      url: CONSOLE,
      args: ['workload.deploy', { template: 'custom', image: 'nginx', privileged: true }],
    });
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'forbidden');
    await assert.rejects(
      shell.call('invoke', {
        channel: IPC.invoke,
        url: 'https://evil.example/',
        args: ['workload.list', {}],
      }),
      /not allowed/,
    );
    // The key is kept encrypted, never as the headless plain file.
    assert.ok(existsSync(join(dataDir, 'secret.key.safestorage')));
    assert.equal(existsSync(join(dataDir, DATA_FILES.key)), false);
  });

  test('the CLI door (loopback API with the token) is the same agent', async () => {
    const running = JSON.parse(readFileSync(join(dataDir, DATA_FILES.running), 'utf8')) as {
      url: string;
      pid: number;
    };
    assert.equal(running.pid, shell.child.pid);
    const token = readFileSync(join(dataDir, DATA_FILES.apiToken), 'utf8').trim();
    const res = await fetch(new URL(LOCAL_API.command('settings.get'), running.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const body = (await res.json()) as { ok: boolean; value: { dataDir: string } };
    assert.equal(body.ok, true);
    assert.equal(body.value.dataDir, dataDir);
  });

  test('native add-ons load from node_modules, not from the bundle: better-sqlite3, and bufferutil for ws', async () => {
    const loaded = await shell.call<string[]>('modules');
    for (const name of ['better-sqlite3', 'bufferutil'])
      assert.ok(
        loaded.some((file) => file.includes(`/node_modules/${name}/`)),
        `${name} is required at run time (loaded: ${loaded.filter((f) => f.includes('node_modules')).join(', ')})`,
      );
  });

  test('the preload bundle runs with only what a sandboxed preload may require, and exposes one object', async () => {
    const exposed: [string, Record<string, unknown>][] = [];
    const sent: unknown[][] = [];
    const electron = {
      contextBridge: {
        exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.push([key, api]),
      },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => {
          sent.push(args);
          return { ok: true, value: [] };
        },
        on: () => undefined,
        removeListener: () => undefined,
      },
    };
    const module = { exports: {} };
    runInNewContext(readFileSync(join(outDir, 'preload.cjs'), 'utf8'), {
      module,
      exports: module.exports,
      require: (name: string) => {
        if (name === 'electron') return electron;
        throw new Error(`a sandboxed preload cannot require ${name}`);
      },
    });
    assert.equal(exposed.length, 1);
    const [key, api] = exposed[0];
    assert.equal(key, 'lattice');
    assert.deepEqual(Object.keys(api).sort(), ['followLogs', 'invoke', 'onEvent']);
    const invoke = api.invoke as (name: string, args: unknown) => Promise<unknown>;
    assert.deepEqual(await invoke('workload.list', {}), { ok: true, value: [] });
    await assert.rejects(invoke('docker.exec', {}), /Unknown command/);
    assert.deepEqual(sent, [[IPC.invoke, 'workload.list', {}]]);
  });

  test('the relay byte streams worker is beside main.cjs, which looks for it there, and pumps a stream', async () => {
    const worker = join(outDir, PUMP_WORKER_BUNDLE);
    assert.ok(existsSync(worker), `${worker} exists`);
    const main = readFileSync(join(outDir, 'main.cjs'), 'utf8');
    assert.ok(main.includes(JSON.stringify(PUMP_WORKER_BUNDLE)), 'main.cjs names the worker file');
    assert.match(main, /__filename/);
    const stats = await streamThroughWorkerFile(worker);
    assert.notEqual(stats.threadId, threadId);
    assert.equal(stats.joined, 1);
  });

  test('Quit closes the doors and stops the agent, then the process exits 0', async () => {
    await shell.call('quit');
    assert.equal(await shell.exited, 0, stderr);
    assert.ok(shell.events.some((e) => (e as { event?: string }).event === 'quit'));
    assert.equal(existsSync(join(dataDir, DATA_FILES.running)), false, 'agent.json removed: the API closed');
  });
});
