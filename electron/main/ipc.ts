// The main side of the console's IPC. Every channel is named in shared/ipc.ts, registered through
// one typed `handle`, and refuses a sender that is not the console's own page: an iframe or a page
// that somehow got navigated elsewhere must not reach the agent's dispatcher.
import type { IpcMainInvokeEvent } from 'electron';
import type { Agent } from '../agent';
import {
  IPC,
  LatticeError,
  isCommandName,
  type AgentEvent,
  type ErrorBody,
  type LogLine,
  type Result,
} from '../../shared';
import { isAppUrl } from './app-protocol';

/** What each invoke channel takes (from an untrusted renderer: `unknown`) and returns. */
export interface IpcHandlers {
  [IPC.invoke]: (name: unknown, args: unknown) => Promise<Result<unknown>>;
  [IPC.logsFollow]: (request: unknown) => Promise<Result<{ id: string }>>;
  [IPC.logsStop]: (id: unknown) => void;
}
export type InvokeChannel = keyof IpcHandlers;

export type IpcEvent = Pick<IpcMainInvokeEvent, 'senderFrame' | 'sender'>;

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** Where the frame that sent a message is. `senderFrame` is null once that frame has gone. */
export function senderUrl(event: IpcEvent): string | undefined {
  try {
    return event.senderFrame?.url;
  } catch {
    return undefined;
  }
}

const errorBody = (err: unknown): ErrorBody =>
  err instanceof LatticeError
    ? err.toBody()
    : { code: 'internal', message: err instanceof Error ? err.message : String(err) };

/**
 * Registers `fn` for `channel`, wrapped in the sender check. Typed by the channel (Rancher Desktop's
 * `ipcMainProxy.handle` pattern), with `ipcMain` injected so tests call it without Electron.
 */
export function handle<C extends InvokeChannel>(
  ipcMain: IpcMainLike,
  channel: C,
  fn: (event: IpcEvent, ...args: Parameters<IpcHandlers[C]>) => ReturnType<IpcHandlers[C]>,
  isTrusted: (url: string | undefined) => boolean = isAppUrl,
): void {
  ipcMain.handle(channel, (event, ...args) => {
    const url = senderUrl(event);
    if (!isTrusted(url)) {
      console.warn(`[lattice] refused ${channel} from ${JSON.stringify(url ?? 'a detached frame')}`);
      throw new LatticeError('forbidden', `IPC from ${url ?? 'an unknown frame'} is not allowed`);
    }
    return fn(event, ...(args as Parameters<IpcHandlers[C]>));
  });
}

/** Runs one command through the agent's dispatcher, as the local door, and wraps the outcome. */
export async function invokeCommand(
  agent: Pick<Agent, 'dispatch'>,
  name: unknown,
  args: unknown,
): Promise<Result<unknown>> {
  if (!isCommandName(name)) {
    return {
      ok: false,
      error: { code: 'unknown_command', message: `Unknown command ${JSON.stringify(name)}` },
    };
  }
  try {
    return { ok: true, value: await agent.dispatch(name, args ?? {}, { door: 'local' }) };
  } catch (err) {
    return { ok: false, error: errorBody(err) };
  }
}

interface FollowRequest {
  id: string;
  ref: string;
  tail: number;
}

function parseFollowRequest(request: unknown): FollowRequest {
  const r = (request ?? {}) as Partial<Record<keyof FollowRequest, unknown>>;
  if (typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 64) {
    throw new LatticeError('invalid_argument', 'logs follow: id must be a string of 1-64 characters', 'id');
  }
  if (typeof r.ref !== 'string' || r.ref.length === 0 || r.ref.length > 128) {
    throw new LatticeError('invalid_argument', 'logs follow: ref must name a workload', 'ref');
  }
  const tail = r.tail ?? 200;
  if (typeof tail !== 'number' || !Number.isInteger(tail) || tail < 0 || tail > 10_000) {
    throw new LatticeError('invalid_argument', 'logs follow: tail must be a whole number 0-10000', 'tail');
  }
  return { id: r.id, ref: r.ref, tail };
}

export interface IpcOptions {
  ipcMain: IpcMainLike;
  agent: Pick<Agent, 'dispatch' | 'followLogs'>;
  isTrusted?: (url: string | undefined) => boolean;
}

/** Registers every console channel; returns a function that removes them and stops log follows. */
export function registerIpc(options: IpcOptions): () => void {
  const { ipcMain, agent } = options;
  const isTrusted = options.isTrusted ?? isAppUrl;
  // Log follows per renderer (webContents id) and subscription id.
  const follows = new Map<string, () => void>();
  // Follows still being opened, and those among them already asked to stop.
  const pending = new Set<string>();
  const cancelled = new Set<string>();
  const watchedSenders = new Set<number>();
  const stopFollow = (key: string) => {
    const stop = follows.get(key);
    follows.delete(key);
    if (stop) stop();
    else if (pending.has(key)) cancelled.add(key);
  };

  handle(ipcMain, IPC.invoke, (_event, name, args) => invokeCommand(agent, name, args), isTrusted);

  handle(
    ipcMain,
    IPC.logsFollow,
    async (event, request): Promise<Result<{ id: string }>> => {
      let parsed: FollowRequest;
      try {
        parsed = parseFollowRequest(request);
      } catch (err) {
        return { ok: false, error: errorBody(err) };
      }
      const sender = event.sender;
      const key = `${sender.id}:${parsed.id}`;
      if (!watchedSenders.has(sender.id)) {
        watchedSenders.add(sender.id);
        // A closed or reloaded window stops its follows, or Docker log streams would leak.
        sender.once('destroyed', () => {
          watchedSenders.delete(sender.id);
          for (const k of [...follows.keys()]) if (k.startsWith(`${sender.id}:`)) stopFollow(k);
        });
      }
      const send = (line: LogLine) => {
        if (!sender.isDestroyed()) sender.send(IPC.logsLine, { id: parsed.id, line });
      };
      if (follows.has(key) || pending.has(key)) {
        return { ok: false, error: { code: 'conflict', message: `Log follow ${parsed.id} is already open` } };
      }
      pending.add(key);
      try {
        const stop = await agent.followLogs(parsed.ref, parsed.tail, send);
        if (cancelled.has(key) || sender.isDestroyed()) stop();
        else follows.set(key, stop);
        return { ok: true, value: { id: parsed.id } };
      } catch (err) {
        return { ok: false, error: errorBody(err) };
      } finally {
        pending.delete(key);
        cancelled.delete(key);
      }
    },
    isTrusted,
  );

  handle(
    ipcMain,
    IPC.logsStop,
    (event, id) => {
      if (typeof id === 'string') stopFollow(`${event.sender.id}:${id}`);
    },
    isTrusted,
  );

  return () => {
    for (const channel of [IPC.invoke, IPC.logsFollow, IPC.logsStop]) ipcMain.removeHandler(channel);
    for (const key of [...follows.keys()]) stopFollow(key);
    cancelled.clear();
  };
}

export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
  getURL(): string;
}

/** Sends every agent event to the console windows (only to ones showing the console itself). */
export function forwardAgentEvents(agent: Pick<Agent, 'onEvent'>, targets: () => EventTarget[]): () => void {
  return agent.onEvent((event: AgentEvent) => {
    for (const target of targets()) {
      if (!target.isDestroyed() && isAppUrl(target.getURL())) target.send(IPC.event, event);
    }
  });
}
