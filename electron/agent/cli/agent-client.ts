// How the CLI reaches a running agent: agent.json and api-token in the data dir, then loopback HTTP.
import { request, type IncomingMessage } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { readRunningAgent } from '../local-api/running-file';
import { join } from 'node:path';
import {
  AgentEvent,
  DATA_FILES,
  LOCAL_API,
  LatticeError,
  LogLine,
  type CommandName,
  type CommandResult,
} from '../../../shared';

export const noAgentMessage = (dataDir: string) =>
  `No Lattice agent is running for ${dataDir} — start one with \`lattice agent\``;

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
    if (!running || !existsSync(tokenFile)) throw new LatticeError('internal', noAgentMessage(dataDir));
    return new AgentClient(dataDir, running.url, readFileSync(tokenFile, 'utf8').trim());
  }

  private open(method: string, path: string, body?: unknown): Promise<RawResponse> {
    const target = new URL(path, this.url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        target,
        {
          method,
          // No keep-alive: a CLI command must exit as soon as it has its answer.
          agent: false,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => resolve({ status: res.statusCode ?? 0, res }),
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET'
            ? new LatticeError('internal', noAgentMessage(this.dataDir))
            : err,
        );
      });
      req.end(payload);
    });
  }

  private async json(method: string, path: string, body?: unknown): Promise<unknown> {
    const { status, res } = await this.open(method, path, body);
    const chunks: Buffer[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: { ok?: boolean; value?: unknown; error?: { code: string; message: string; field?: string } };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new LatticeError('internal', `The agent answered ${status} with something that is not JSON`);
    }
    if (parsed.ok === true) return parsed.value;
    if (parsed.error) throw LatticeError.from(parsed.error as Parameters<typeof LatticeError.from>[0]);
    throw new LatticeError('internal', `Unexpected answer from the agent (HTTP ${status})`);
  }

  command<K extends CommandName>(name: K, args?: unknown): Promise<CommandResult<K>> {
    return this.json('POST', LOCAL_API.command(name), args ?? {}) as Promise<CommandResult<K>>;
  }

  /** Subscribes to agent events; resolves once the subscription is live, so nothing that follows is missed. */
  async events(onEvent: (event: AgentEvent) => void): Promise<{ close(): void }> {
    const { status, res } = await this.open('GET', LOCAL_API.events);
    if (status !== 200) {
      res.resume();
      throw new LatticeError('internal', `The agent refused the event stream (HTTP ${status})`);
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
    const { status, res } = await this.open('GET', `${LOCAL_API.logs(ref)}?tail=${tail}&follow=1`);
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        error?: { code: string; message: string };
      };
      throw body.error
        ? LatticeError.from(body.error as Parameters<typeof LatticeError.from>[0])
        : new LatticeError('internal', `HTTP ${status}`);
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
