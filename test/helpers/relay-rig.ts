// The hub relay and the agent's relay tunnel together on real sockets and a real SQLite hub store,
// with the control link replaced by an in-process channel and the hub's upgrade handler reduced to its
// stream part (the real hub and agent are in test/integration/share-*.test.ts). Used by
// test/unit/share-relay.test.ts and test/integration/relay-byte-streams.test.ts.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { AgentToHub, HubToAgent } from '../../shared';
import { HubRelay } from '../../server/relay/hub-relay';
import { openSqliteStore } from '../../server/store/sqlite-store';
import type { HubStore } from '../../server/store/hub-store';
import { RelayTunnelProvider, type RelayControlLink } from '../../electron/agent/tunnels/relay-tunnel';
import { freePortBlock } from './net';

export const TOKEN = 'device-token-1';

const dir = mkdtempSync(join(tmpdir(), 'lattice-relay-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

/** An in-process control link between one agent and the relay: what HubLink and the hub's socket do. */
export class FakeLink implements RelayControlLink {
  connected = false;
  relay?: HubRelay;
  /** When false, stream.open messages are swallowed (an agent that never claims its streams). */
  deliverStreams = true;
  private readonly msgListeners = new Set<(m: HubToAgent) => void>();
  private readonly statusListeners = new Set<(c: boolean) => void>();
  constructor(
    readonly deviceId: string,
    readonly userId: string,
  ) {}
  send(msg: AgentToHub): boolean {
    if (!this.connected || !this.relay) return false;
    if (msg.type === 'relay.open' || msg.type === 'relay.close')
      void this.relay.handleAgentMessage({ deviceId: this.deviceId, userId: this.userId }, msg);
    return true;
  }
  readonly delivered: HubToAgent[] = [];
  deliver(msg: HubToAgent): boolean {
    if (!this.connected) return false;
    this.delivered.push(msg);
    if (msg.type === 'stream.open' && !this.deliverStreams) return true;
    setImmediate(() => this.msgListeners.forEach((l) => l(msg)));
    return true;
  }
  onMessage(cb: (m: HubToAgent) => void) {
    this.msgListeners.add(cb);
    return () => this.msgListeners.delete(cb);
  }
  onStatus(cb: (c: boolean) => void) {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }
  setConnected(c: boolean) {
    this.connected = c;
    if (c) this.relay?.agentConnected(this.deviceId);
    else this.relay?.agentDisconnected(this.deviceId);
    this.statusListeners.forEach((l) => l(c));
  }
}

export interface Hub {
  relay: HubRelay;
  store: HubStore;
  http: HttpServer;
  url: string;
  links: Map<string, FakeLink>;
  /** The `Upgrade` header of every stream request the hub's address received, lower-cased. */
  upgrades: string[];
  /** Where agents attached from now on dial the hub (a proxy in front of `url`); default `url`. */
  agentUrl?: string;
  close(): Promise<void>;
}

export async function startHub(opts: {
  /** The hub database; a fresh file when omitted. */
  dbPath?: string;
  first: number;
  last: number;
  claimMs?: number;
  httpPort?: number;
  graceMs?: number;
  maxSharesPerAccount?: number;
  /**
   * What stands between the agent and the hub for streams: nothing (default); a hub from before byte
   * streams (its stream.open offers none); or a proxy that passes only WebSocket upgrades and answers
   * any other upgrade 400.
   */
  streams?: 'as-built' | 'older-hub' | 'websocket-only-proxy';
}): Promise<Hub> {
  const links = new Map<string, FakeLink>();
  const store = openSqliteStore(opts.dbPath ?? join(dir, `hub-${++hubCount}.db`));
  const relay = new HubRelay({
    publicHost: '127.0.0.1',
    ports: { first: opts.first, last: opts.last },
    bindHost: '127.0.0.1',
    assignments: store,
    sendToDevice: (deviceId, msg) => links.get(deviceId)?.deliver(msg) ?? false,
    requestStream: (deviceId, { byteStream, ...stream }) =>
      links.get(deviceId)?.deliver({
        type: 'stream.open',
        ...stream,
        ...(opts.streams === 'older-hub' ? {} : { byteStream }),
      }) ?? false,
    streamClaimTimeoutMs: opts.claimMs ?? 10_000,
    offlineGraceMs: opts.graceMs,
    isDeviceOnline: (deviceId) => links.get(deviceId)?.connected ?? false,
    maxSharesPerAccount: opts.maxSharesPerAccount ?? 3,
  });
  const http = createHttpServer((_q, s) => s.writeHead(404).end());
  // The hub's own upgrade handler does this: device token checked at the upgrade, then the relay.
  const upgrades: string[] = [];
  http.on('upgrade', (req, socket, head) => {
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    upgrades.push(upgrade);
    if (opts.streams === 'websocket-only-proxy' && upgrade !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const m = /^\/agent\/stream\/([^/?]+)$/.exec(req.url ?? '');
    const device = /^Bearer (.+)$/
      .exec(req.headers.authorization ?? '')?.[1]
      ?.replace('device-token-', 'dev');
    if (!m || !device) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    relay.handleStreamUpgrade(device, decodeURIComponent(m[1]), req, socket, head);
  });
  await new Promise<void>((r) => http.listen(opts.httpPort ?? 0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    relay,
    store,
    http,
    url,
    links,
    upgrades,
    close: async () => {
      await relay.close();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
      await store.close();
    },
  };
}
let hubCount = 0;

/** The account and device rows a paired agent has in the hub's store (reservations refer to them). */
export async function ensureDevice(store: HubStore, deviceId: string, userId: string): Promise<void> {
  if (!(await store.userById(userId)))
    await store.createUser({ id: userId, email: `${userId}@example.com`, passwordHash: 'x' });
  if (!(await store.deviceById(deviceId)))
    await store.createDevice({ id: deviceId, userId, name: deviceId, tokenId: `jti-${deviceId}` });
}

export async function attachAgent(
  hub: Hub,
  deviceId = 'dev1',
  token = TOKEN,
  userId = `user-of-${deviceId}`,
) {
  await ensureDevice(hub.store, deviceId, userId);
  const link = new FakeLink(deviceId, userId);
  link.relay = hub.relay;
  hub.links.set(deviceId, link);
  link.setConnected(true);
  const provider = new RelayTunnelProvider({
    link,
    hubUrl: hub.agentUrl ?? hub.url,
    deviceToken: token,
    replyTimeoutMs: 5_000,
    linkWaitMs: 1_000,
  });
  return { link, provider };
}

export async function echoServer(): Promise<TcpServer & { sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const srv = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  }) as TcpServer & { sockets: Set<Socket> };
  srv.sockets = sockets;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return srv;
}

export function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends `data` and reads back as many bytes. */
export function roundTrip(s: Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      n += c.length;
      if (n >= data.length) {
        s.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(data);
  });
}

/** The first port of a free block of `span` ports (the relay range under test). */
export async function basePort(span: number): Promise<number> {
  return (await freePortBlock(span)).from;
}
