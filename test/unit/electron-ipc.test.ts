// The main process's IPC handlers with ipcMain injected: only the console's own page gets through.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { IPC, LatticeError, type CommandContext, type LogLine } from '../../shared';
import { forwardAgentEvents, registerIpc, type IpcMainLike } from '../../electron/main/ipc';
import type { Agent } from '../../electron/agent/agent';

type Listener = Parameters<IpcMainLike['handle']>[1];

class FakeIpcMain implements IpcMainLike {
  readonly handlers = new Map<string, Listener>();
  handle(channel: string, listener: Listener) {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  /** Calls a handler as Electron would for a message from a frame at `url`. */
  async invoke(channel: string, url: string | null, sender: FakeSender, ...args: unknown[]) {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler({ senderFrame: url === null ? null : { url }, sender } as never, ...args);
  }
}

class FakeSender extends EventEmitter {
  readonly sent: [string, unknown][] = [];
  destroyed = false;
  constructor(readonly id = 1) {
    super();
  }
  send(channel: string, payload: unknown) {
    this.sent.push([channel, payload]);
  }
  isDestroyed() {
    return this.destroyed;
  }
}

function fakeAgent() {
  const calls: { name: string; args: unknown; ctx: CommandContext }[] = [];
  const follows: { ref: string; tail: number; onLine: (l: LogLine) => void; stopped: boolean }[] = [];
  const agent = {
    dispatch: async (name: string, args: unknown, ctx: CommandContext) => {
      calls.push({ name, args, ctx });
      if (name === 'workload.get') throw new LatticeError('not_found', 'No workload "nope"', 'ref');
      if (name === 'system.info') throw new Error('boom');
      return [];
    },
    followLogs: async (ref: string, tail: number, onLine: (l: LogLine) => void) => {
      if (ref === 'missing') throw new LatticeError('not_found', 'No workload "missing"');
      const follow = { ref, tail, onLine, stopped: false };
      follows.push(follow);
      return () => {
        follow.stopped = true;
      };
    },
  } as unknown as Pick<Agent, 'dispatch' | 'followLogs'>;
  return { agent, calls, follows };
}

const OWN = 'app://lattice/index.html#/workloads';

function setup() {
  const ipcMain = new FakeIpcMain();
  const fake = fakeAgent();
  const dispose = registerIpc({ ipcMain, agent: fake.agent });
  return { ipcMain, ...fake, dispose, sender: new FakeSender() };
}

describe('IPC sender check', () => {
  for (const url of [
    'https://evil.example/',
    'http://127.0.0.1:5173/',
    'file:///tmp/index.html',
    'app://evil/index.html',
    'app://lattice@evil.example/',
    '',
    null,
  ]) {
    test(`a message from ${JSON.stringify(url)} is refused on every channel and the agent is not called`, async () => {
      const { ipcMain, sender, calls, follows } = setup();
      await assert.rejects(
        ipcMain.invoke(IPC.invoke, url, sender, 'workload.list', {}),
        (err: LatticeError) => {
          assert.equal(err.code, 'forbidden');
          return true;
        },
      );
      await assert.rejects(ipcMain.invoke(IPC.logsFollow, url, sender, { id: 'x', ref: 'db', tail: 1 }));
      assert.equal(calls.length, 0);
      assert.equal(follows.length, 0);
    });
  }
});

describe('IPC invoke from the console', () => {
  test('goes to the dispatcher as the local door and returns a Result', async () => {
    const { ipcMain, sender, calls } = setup();
    const result = await ipcMain.invoke(IPC.invoke, OWN, sender, 'workload.list', {});
    assert.deepEqual(result, { ok: true, value: [] });
    assert.deepEqual(calls, [{ name: 'workload.list', args: {}, ctx: { door: 'local' } }]);
  });

  test('an unknown command name is refused without reaching the agent', async () => {
    const { ipcMain, sender, calls } = setup();
    for (const name of ['docker.exec', '__proto__', 'constructor', 42, undefined]) {
      const result = (await ipcMain.invoke(IPC.invoke, OWN, sender, name, {})) as {
        ok: boolean;
        error: { code: string };
      };
      assert.equal(result.ok, false);
      assert.equal(result.error.code, 'unknown_command');
    }
    assert.equal(calls.length, 0);
  });

  test('a LatticeError keeps its code; any other error becomes internal', async () => {
    const { ipcMain, sender } = setup();
    assert.deepEqual(await ipcMain.invoke(IPC.invoke, OWN, sender, 'workload.get', { ref: 'nope' }), {
      ok: false,
      error: { code: 'not_found', message: 'No workload "nope"', field: 'ref' },
    });
    assert.deepEqual(await ipcMain.invoke(IPC.invoke, OWN, sender, 'system.info', {}), {
      ok: false,
      error: { code: 'internal', message: 'boom' },
    });
  });

  test('dispose removes every handler', () => {
    const { ipcMain, dispose } = setup();
    assert.equal(ipcMain.handlers.size, 3);
    dispose();
    assert.equal(ipcMain.handlers.size, 0);
  });
});

describe('IPC log following', () => {
  test('lines go to the sender tagged with the subscription id; stop ends the agent follow', async () => {
    const { ipcMain, sender, follows } = setup();
    const result = await ipcMain.invoke(IPC.logsFollow, OWN, sender, { id: 'f1', ref: 'db', tail: 5 });
    assert.deepEqual(result, { ok: true, value: { id: 'f1' } });
    assert.equal(follows[0].tail, 5);
    follows[0].onLine({ stream: 'stdout', text: 'ready' });
    assert.deepEqual(sender.sent, [[IPC.logsLine, { id: 'f1', line: { stream: 'stdout', text: 'ready' } }]]);
    await ipcMain.invoke(IPC.logsStop, OWN, sender, 'f1');
    assert.equal(follows[0].stopped, true);
  });

  test('a closed window stops its follows', async () => {
    const { ipcMain, sender, follows } = setup();
    await ipcMain.invoke(IPC.logsFollow, OWN, sender, { id: 'a', ref: 'db', tail: 0 });
    await ipcMain.invoke(IPC.logsFollow, OWN, sender, { id: 'b', ref: 'db', tail: 0 });
    sender.destroyed = true;
    sender.emit('destroyed');
    assert.deepEqual(
      follows.map((f) => f.stopped),
      [true, true],
    );
  });

  test('bad requests and agent errors come back as Results', async () => {
    const { ipcMain, sender, follows } = setup();
    const bad = (await ipcMain.invoke(IPC.logsFollow, OWN, sender, { id: 'x', ref: 'db', tail: -1 })) as {
      ok: boolean;
      error: { code: string; field: string };
    };
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'invalid_argument');
    assert.equal(bad.error.field, 'tail');
    const missing = (await ipcMain.invoke(IPC.logsFollow, OWN, sender, { id: 'y', ref: 'missing' })) as {
      ok: boolean;
      error: { code: string };
    };
    assert.equal(missing.error.code, 'not_found');
    assert.equal(follows.length, 0);
  });
});

describe('event forwarding', () => {
  test('agent events reach console windows only, not destroyed or foreign ones', () => {
    let emit: (e: unknown) => void = () => undefined;
    const agent = {
      onEvent: (fn: (e: unknown) => void) => {
        emit = fn;
        return () => {
          emit = () => undefined;
        };
      },
    } as unknown as Pick<Agent, 'onEvent'>;
    const target = (url: string, destroyed = false) => {
      const sent: unknown[] = [];
      return {
        sent,
        isDestroyed: () => destroyed,
        getURL: () => url,
        send: (...a: unknown[]) => sent.push(a),
      };
    };
    const own = target(OWN);
    const gone = target(OWN, true);
    const foreign = target('https://evil.example/');
    const stop = forwardAgentEvents(agent, () => [own, gone, foreign]);
    const event = { type: 'hub.status', connected: true, url: 'https://hub.example' };
    emit(event);
    assert.deepEqual(own.sent, [[IPC.event, event]]);
    assert.deepEqual(gone.sent, []);
    assert.deepEqual(foreign.sent, []);
    stop();
    emit(event);
    assert.equal(own.sent.length, 1);
  });
});
