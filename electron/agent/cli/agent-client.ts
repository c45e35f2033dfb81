// How the CLI reaches a running agent: agent.json and api-token in the data dir, then loopback HTTP.
// Imports from shared/ are deep and zod-free on the way of a plain command (`lattice ls`): the
// contract's schemas (event and log-line parsing, LatticeError's module) load only where used, so a
// command does not evaluate zod and the whole contract before its one request. For the same reason
// a command's one request goes over a plain socket (loopback-http.ts); node:http is loaded only by
// the event and log streams.
import type { IncomingMessage } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { readRunningAgent } from '../local-api/running-file';
import { join } from 'node:path';
import type { CommandName, CommandResult } from '../../../shared/commands';
import type { ErrorBody, LatticeError } from '../../../shared/errors';
import type { AgentEvent } from '../../../shared/events';
import type { LogLine } from '../../../shared/workload';
import { DATA_FILES, LOCAL_API } from '../../../shared/local-api';
import { loopbackRequest } from './loopback-http';

export const noAgentMessage = (dataDir: string) =>
  `No Lattice agent is running for ${dataDir} — start one with \`lattice agent\``;

/**
 * No agent runs for the data dir. Thrown by the synchronous `connect`, so not a LatticeError (whose
 * module carries zod); it has the same `code` and message and prints as the same `error:` line.
 */
export class NoAgentError extends Error {
  readonly code = 'internal' as const;
  constructor(dataDir: string) {
    super(noAgentMessage(dataDir));
    this.name = 'NoAgentError';
  }
}

/** A LatticeError, its module loaded on the error path only. */
async function latticeError(body: ErrorBody): Promise<LatticeError> {
  const { LatticeError } = await import('../../../shared/errors');
  return LatticeError.from(body);
}

interface RawResponse {
  status: number;
  res: IncomingMessage;
}

export class AgentClient {
  private constructor(
    readonly dataDir: string,
    readonly url: string,
    private readonly token: string,
  ) {}

  static connect(dataDir: string): AgentClient {
    const running = readRunningAgent(dataDir);
    const tokenFile = join(dataDir, DATA_FILES.apiToken);
    if (!running || !existsSync(tokenFile)) throw new NoAgentError(dataDir);
    return new AgentClient(dataDir, running.url, readFileSync(tokenFile, 'utf8').trim());
  }

  /** A socket error as the CLI says it: an agent that is not there (any more) is `noAgentMessage`. */
  private async connectionError(err: NodeJS.ErrnoException): Promise<Error> {
    if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') {
      return latticeError({ code: 'internal', message: noAgentMessage(this.dataDir) });
    }
    return err;
  }

  /** A streamed GET (events, followed logs), through node:http. */
  private async open(method: string, path: string): Promise<RawResponse> {
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.url),
        // No keep-alive: a CLI command must exit as soon as it has its answer.
        { method, agent: false, headers: { authorization: `Bearer ${this.token}` } },
        (res) => resolve({ status: res.statusCode ?? 0, res }),
      );
      req.on('error', (err: NodeJS.ErrnoException) => this.connectionError(err).then(reject, reject));
      req.end();
    });
  }

  private async json(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      const answer = await loopbackRequest(new URL(path, this.url), method, headers, payload);
      status = answer.status;
      text = answer.body.toString('utf8');
    } catch (err) {
      throw await this.connectionError(err as NodeJS.ErrnoException);
    }
    let parsed: { ok?: boolean; value?: unknown; error?: ErrorBody };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw await latticeError({
        code: 'internal',
        message: `The agent answered ${status} with something that is not JSON`,
      });
    }
    // Our own agent over loopback, behind its token: its answers are the contract's, trusted as typed.
    if (parsed.ok === true) return parsed.value;
    if (parsed.error) throw await latticeError(parsed.error);
    throw await latticeError({
      code: 'internal',
      message: `Unexpected answer from the agent (HTTP ${status})`,
    });
  }

  command<K extends CommandName>(name: K, args?: unknown): Promise<CommandResult<K>> {
    return this.json('POST', LOCAL_API.command(name), args ?? {}) as Promise<CommandResult<K>>;
  }

  /** Subscribes to agent events; resolves once the subscription is live, so nothing that follows is missed. */
  async events(onEvent: (event: AgentEvent) => void): Promise<{ close(): void }> {
    const { AgentEvent } = await import('../../../shared/events');
    const { status, res } = await this.open('GET', LOCAL_API.events);
    if (status !== 200) {
      res.resume();
      throw await latticeError({
        code: 'internal',
        message: `The agent refused the event stream (HTTP ${status})`,
      });
    }
    let buffer = '';
    let resolveLive!: () => void;
    const live = new Promise<void>((r) => (resolveLive = r));
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (block.startsWith(': connected')) resolveLive();
        for (const line of block.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const parsed = AgentEvent.safeParse(JSON.parse(line.slice(6)));
          if (parsed.success) onEvent(parsed.data);
        }
      }
    });
    res.on('error', () => undefined);
    await live;
    return { close: () => res.destroy() };
  }

  /** Prints followed log lines until the agent ends the stream or `signal` aborts. */
  async followLogs(
    ref: string,
    tail: number,
    onLine: (line: LogLine) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const { LogLine } = await import('../../../shared/workload');
    const { status, res } = await this.open('GET', `${LOCAL_API.logs(ref)}?tail=${tail}&follow=1`);
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: ErrorBody };
      throw await latticeError(body.error ?? { code: 'internal', message: `HTTP ${status}` });
    }
    signal?.addEventListener('abort', () => res.destroy(), { once: true });
    let buffer = '';
    res.setEncoding('utf8');
    await new Promise<void>((resolve) => {
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          const parsed = text ? LogLine.safeParse(JSON.parse(text)) : undefined;
          if (parsed?.success) onLine(parsed.data);
        }
      });
      res.on('close', resolve);
      res.on('error', () => resolve());
    });
  }
}
