// Tools for the hub abuse tests: HTTP calls from a chosen loopback address (127.0.0.x, so one
// machine can act as many clients), raw sockets, and a hub running as its own process (to measure its
// memory and to give it its own descriptor limit).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/net';

export interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
  ms: number;
}

/** One HTTP call on its own connection, from `from` (a local address such as 127.0.0.7). */
export function call<T = unknown>(
  baseUrl: string,
  method: string,
  path: string,
  opts: {
    body?: string | object;
    contentType?: string;
    from?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer<T>> {
  const started = Date.now();
  const text =
    opts.body === undefined
      ? undefined
      : typeof opts.body === 'string'
        ? opts.body
        : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (text !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(text));
  }
  return new Promise((resolvePromise, reject) => {
    const req = request(baseUrl + path, { method, headers, localAddress: opts.from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        resolvePromise({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: (raw ? JSON.parse(raw) : undefined) as T,
          ms: Date.now() - started,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(text);
  });
}

/** `127.0.0.<n>`: every 127/8 address reaches the loopback interface on Linux. */
export const loopback = (n: number) => `127.0.0.${n}`;

/** A TCP socket to the hub that has connected, with when it closed and whether the hub said anything. */
export interface RawSocket {
  socket: Socket;
  openedAt: number;
  closedAt?: number;
  received: string;
  closed: Promise<void>;
}

export function openRaw(port: number, host = '127.0.0.1', from?: string): Promise<RawSocket> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ port, host, localAddress: from });
    let resolveClosed!: () => void;
    const raw: RawSocket = {
      socket,
      openedAt: Date.now(),
      received: '',
      closed: new Promise<void>((r) => (resolveClosed = r)),
    };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (raw.received += d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      raw.closedAt = Date.now();
      resolveClosed();
    });
    socket.once('connect', () => {
      raw.openedAt = Date.now();
      resolvePromise(raw);
    });
    socket.once('error', reject);
  });
}

/** Sends one keep-alive GET on an open socket and resolves with the status of the answer. */
export function getOnSocket(raw: RawSocket, path: string): Promise<number> {
  const before = raw.received.length;
  raw.socket.write(`GET ${path} HTTP/1.1\r\nHost: hub\r\nConnection: keep-alive\r\n\r\n`);
  return waitFor(
    `an answer to GET ${path}`,
    () => {
      const text = raw.received.slice(before);
      const head = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(text);
      const length = head && /content-length: (\d+)/i.exec(head[0]);
      const chunked = head && /transfer-encoding: chunked/i.test(head[0]);
      const complete = length
        ? text.length >= head[0].length + Number(length[1])
        : chunked && text.endsWith('\r\n0\r\n\r\n');
      if (head && complete) return Number(head[1]);
      return raw.closedAt ? Promise.reject(new Error('socket closed')) : undefined;
    },
    10_000,
    10,
  );
}

export interface HubProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  output(): string;
  /** Peak resident memory of the hub process so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** Starts the peak over from the current RSS (Linux clear_refs), so it measures what follows. */
  resetPeakRss(): void;
  rssMiB(): number;
  stop(): Promise<void>;
}

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/** `lattice hub` in its own process on port 0; `openFiles` sets its descriptor limit (ulimit -n). */
export async function startHubProcess(args: string[] = [], openFiles?: number): Promise<HubProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lattice-hub-proc-'));
  const bin = join(ROOT, 'bin', 'lattice.mjs');
  const hubArgs = [bin, 'hub', '--port', '0', '--data-dir', dataDir, ...args];
  const child = openFiles
    ? spawn('bash', ['-c', `ulimit -n ${openFiles} && exec "$0" "$@"`, process.execPath, ...hubArgs], {
        cwd: ROOT,
        env: { ...process.env, LATTICE_LOG_LEVEL: 'warn' },
      })
    : spawn(process.execPath, hubArgs, { cwd: ROOT, env: { ...process.env, LATTICE_LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await waitFor(
    'the hub process to listen',
    () => {
      if (child.exitCode !== null) throw new Error(`hub exited ${child.exitCode}: ${out}`);
      return /listening on (http:\/\/\S+)/.exec(out)?.[1];
    },
    30_000,
    50,
  ).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const status = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${child.pid}/status`, 'utf8'),
    );
    return Number(m?.[1]) / 1024;
  };
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    child,
    output: () => out,
    peakRssMiB: () => status('VmHWM'),
    resetPeakRss: () => writeFileSync(`/proc/${child.pid}/clear_refs`, '5'),
    rssMiB: () => status('VmRSS'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
