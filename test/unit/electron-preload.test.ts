// The preload's bridge with a fake ipcRenderer: only contract channels and command names go out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_NAMES, IPC, IPC_CHANNELS, type CommandName, type LogLine } from '../../shared';
import { createBridge, type IpcRendererLike } from '../../electron/preload/bridge';

type Listener = (event: unknown, ...args: unknown[]) => void;

class FakeIpcRenderer implements IpcRendererLike {
  readonly invoked: [string, ...unknown[]][] = [];
  readonly listeners = new Map<string, Set<Listener>>();
  answers = new Map<string, unknown>();
  async invoke(channel: string, ...args: unknown[]) {
    this.invoked.push([channel, ...args]);
    return this.answers.get(channel) ?? { ok: true, value: null };
  }
  on(channel: string, listener: Listener) {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(listener);
  }
  removeListener(channel: string, listener: Listener) {
    this.listeners.get(channel)?.delete(listener);
  }
  emit(channel: string, payload: unknown) {
    // Electron passes its IpcRendererEvent (whose `sender` is ipcRenderer) first.
    for (const l of this.listeners.get(channel) ?? []) l({ sender: this }, payload);
  }
  count(channel: string) {
    return this.listeners.get(channel)?.size ?? 0;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('preload bridge', () => {
  test('exposes exactly the LatticeBridge methods, frozen, and no ipcRenderer', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    assert.deepEqual(Object.keys(bridge).sort(), ['followLogs', 'invoke', 'onEvent']);
    assert.ok(Object.isFrozen(bridge));
    for (const value of Object.values(bridge)) assert.notEqual(value, ipc);
  });

  test('a known command goes to lattice:invoke with its args', async () => {
    const ipc = new FakeIpcRenderer();
    ipc.answers.set(IPC.invoke, { ok: true, value: [] });
    const bridge = createBridge(ipc);
    assert.deepEqual(await bridge.invoke('workload.list', {}), { ok: true, value: [] });
    await bridge.invoke('workload.deploy', { template: 'postgres' });
    assert.deepEqual(ipc.invoked, [
      [IPC.invoke, 'workload.list', {}],
      [IPC.invoke, 'workload.deploy', { template: 'postgres' }],
    ]);
    // Every command of the contract is accepted.
    for (const name of COMMAND_NAMES) await bridge.invoke(name, {});
    assert.equal(ipc.invoked.length, 2 + COMMAND_NAMES.length);
  });

  test('an unknown command is rejected and never sent', async () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    for (const name of ['docker.exec', 'lattice:invoke', '__proto__', 'toString', '']) {
      await assert.rejects(bridge.invoke(name as CommandName, {}), /Unknown command/);
    }
    assert.deepEqual(ipc.invoked, []);
  });

  test('only contract channels are ever used', async () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    await bridge.invoke('system.info', {});
    const stop = bridge.followLogs('db', 10, () => undefined);
    const off = bridge.onEvent(() => undefined);
    stop();
    off();
    await tick();
    const used = new Set([...ipc.invoked.map(([c]) => c), ...ipc.listeners.keys()]);
    for (const channel of used) assert.ok(IPC_CHANNELS.includes(channel), `${channel} is in the contract`);
  });

  test('events reach the listener without the Electron event object; unsubscribe removes it', () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    const seen: unknown[][] = [];
    const off = bridge.onEvent((...args: unknown[]) => seen.push(args));
    const event = { type: 'hub.status', connected: false, url: null };
    ipc.emit(IPC.event, event);
    assert.deepEqual(seen, [[event]]);
    off();
    assert.equal(ipc.count(IPC.event), 0);
  });

  test('followLogs opens a follow, routes lines by id, and stop tells the main process', async () => {
    const ipc = new FakeIpcRenderer();
    const bridge = createBridge(ipc);
    const a: LogLine[] = [];
    const b: LogLine[] = [];
    const stopA = bridge.followLogs('db', 50, (l) => a.push(l));
    const stopB = bridge.followLogs('web', 0, (l) => b.push(l));
    const [[, reqA], [, reqB]] = ipc.invoked as [string, { id: string; ref: string; tail: number }][];
    assert.deepEqual([reqA.ref, reqA.tail, reqB.ref], ['db', 50, 'web']);
    assert.notEqual(reqA.id, reqB.id);
    assert.equal(ipc.count(IPC.logsLine), 1, 'one shared line listener');
    ipc.emit(IPC.logsLine, { id: reqB.id, line: { stream: 'stdout', text: 'to b' } });
    ipc.emit(IPC.logsLine, { id: reqA.id, line: { stream: 'stderr', text: 'to a' } });
    assert.deepEqual(a, [{ stream: 'stderr', text: 'to a' }]);
    assert.deepEqual(b, [{ stream: 'stdout', text: 'to b' }]);
    stopA();
    stopB();
    await tick();
    assert.deepEqual(ipc.invoked.slice(2), [
      [IPC.logsStop, reqA.id],
      [IPC.logsStop, reqB.id],
    ]);
    assert.equal(ipc.count(IPC.logsLine), 0);
  });

  test('a follow the main process refuses shows its error as a line', async () => {
    const ipc = new FakeIpcRenderer();
    ipc.answers.set(IPC.logsFollow, { ok: false, error: { code: 'not_found', message: 'No workload "x"' } });
    const lines: LogLine[] = [];
    createBridge(ipc).followLogs('x', 1, (l) => lines.push(l));
    await tick();
    assert.deepEqual(lines, [{ stream: 'stderr', text: 'No workload "x"' }]);
  });
});
