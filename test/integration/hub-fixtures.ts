// Test-side tools for the hub tests: a hub on port 0 in a temporary data dir, JSON calls, users,
// paired devices, a scriptable fake agent, dashboard sockets and raw upgrade requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import type { AuthResponse, DashboardEvent, HubToAgent, Result } from '../../shared';
import { startHub, type HubOptions, type RunningHub } from '../../server/hub';
import { freshPostgresDatabase, hubDatabaseIsPostgres } from '../helpers/postgres-server';
import { sampleWorkload } from '../helpers/samples';

export interface TestHub extends RunningHub {
  dataDir: string;
  /** The PostgreSQL URL when the hub keeps its state there (LATTICE_HUB_DATABASE=postgres). */
  database?: string;
  origin: string;
  stop(): Promise<void>;
}

// With LATTICE_HUB_DATABASE=postgres (scripts/run-tests.mjs runs the hub files a second time so) every
// test hub keeps its state in a real PostgreSQL 15 instead of hub.db: a fresh database per data
// directory, the same one again when a test restarts a hub on the same directory.
const postgresOfDataDir = new Map<string, Promise<string>>();
function databaseFor(dataDir: string): Promise<string> {
  let url = postgresOfDataDir.get(dataDir);
  if (!url) {
    url = freshPostgresDatabase();
    postgresOfDataDir.set(dataDir, url);
  }
  return url;
}

export async function startTestHub(opts: Partial<HubOptions> = {}): Promise<TestHub> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'lattice-hub-test-'));
  const database =
    opts.database ?? (hubDatabaseIsPostgres() && !opts.store ? await databaseFor(dataDir) : undefined);
  const hub = await startHub({ port: 0, logger: pino({ level: 'silent' }), ...opts, dataDir, database });
  return {
    ...hub,
    dataDir,
    database,
    origin: new URL(hub.url).origin,
    async stop() {
      await hub.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export async function api<T = unknown>(
  hub: { url: string },
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; token?: string } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(hub.url + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

let userCount = 0;
export async function registerUser(
  hub: { url: string },
  password = 'a long enough password',
): Promise<AuthResponse> {
  const email = `user${++userCount}-${process.pid}@example.com`;
  const res = await api(hub, 'POST', '/api/auth/register', { body: { email, password } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  // Registration answers alike for new and taken emails; signing in is what hands out tokens.
  const login = await api<AuthResponse>(hub, 'POST', '/api/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return login.body;
}

export async function pairDevice(
  hub: { url: string },
  accessToken: string,
  name = 'test-device',
): Promise<{ deviceId: string; deviceToken: string }> {
  const code = await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', { token: accessToken });
  const res = await api<{ deviceId: string; deviceToken: string }>(hub, 'POST', '/api/devices/pair', {
    body: { code: code.body.code, name },
  });
  if (res.status !== 201) throw new Error(`pair failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export function wsUrl(hub: { url: string }, path: string): string {
  return hub.url.replace(/^http/, 'ws') + path;
}

/** Resolves when the socket opens, rejects with the HTTP status when the upgrade is refused. */
export function opened(ws: WebSocket): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`upgrade refused: ${res.statusCode}`));
      res.resume();
    });
    ws.once('error', reject);
  });
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve({ code: 1006, reason: '' });
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
}

export type CommandMessage = Extract<HubToAgent, { type: 'command' }>;

/** A stand-in agent: answers commands with `handler`, records everything the hub sent. */
export async function connectFakeAgent(
  hub: { url: string },
  deviceToken: string,
  handler: (cmd: CommandMessage) => Promise<Result<unknown>> | Result<unknown> | undefined = (cmd) => ({
    ok: true,
    // The hub checks results against the command's result schema: answer with valid ones.
    value: cmd.name.endsWith('.list')
      ? []
      : cmd.name === 'workload.deploy'
        ? sampleWorkload({ name: (cmd.args as { name?: string }).name ?? 'app' })
        : null,
  }),
  options: WebSocket.ClientOptions = {},
): Promise<{ ws: WebSocket; received: HubToAgent[]; send(msg: unknown): void }> {
  const ws = new WebSocket(wsUrl(hub, '/agent'), {
    headers: { authorization: `Bearer ${deviceToken}` },
    ...options,
  });
  const received: HubToAgent[] = [];
  ws.on('message', async (data) => {
    const msg = JSON.parse(data.toString()) as HubToAgent;
    received.push(msg);
    if (msg.type !== 'command') return;
    const result = await handler(msg);
    if (result && ws.readyState === WebSocket.OPEN)
      ws.send(JSON.stringify({ type: 'result', id: msg.id, result }));
  });
  ws.on('error', () => undefined);
  await opened(ws);
  ws.send(JSON.stringify({ type: 'hello', agentVersion: 'test', name: 'fake' }));
  return { ws, received, send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)) };
}

/** A dashboard event socket, collecting events. */
export async function connectDashboard(
  hub: { url: string; origin: string },
  accessToken: string,
): Promise<{ ws: WebSocket; events: DashboardEvent[] }> {
  const ws = new WebSocket(wsUrl(hub, '/api/events'), ['lattice.v1', `lattice.token.${accessToken}`], {
    origin: hub.origin,
  });
  const events: DashboardEvent[] = [];
  ws.on('message', (data) => events.push(JSON.parse(data.toString()) as DashboardEvent));
  ws.on('error', () => undefined);
  await opened(ws);
  return { ws, events };
}

/**
 * A bare upgrade request: the status the hub answered and whether it then closed the socket
 * (101 leaves the socket to the caller, in `socket`).
 */
export function rawUpgrade(
  hub: { url: string },
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; closedByHub: boolean; headers: Record<string, unknown>; socket?: Duplex }> {
  return new Promise((resolve, reject) => {
    const req = request(hub.url + path, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('0123456789abcdef').toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) =>
      resolve({ status: res.statusCode ?? 0, closedByHub: false, headers: res.headers, socket }),
    );
    req.on('response', (res) => {
      res.resume();
      const socket = res.socket;
      const done = () => resolve({ status: res.statusCode ?? 0, closedByHub: true, headers: res.headers });
      if (socket.destroyed) return done();
      socket.once('close', done);
    });
    req.on('error', reject);
    req.end();
  });
}
