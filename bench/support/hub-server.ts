// The server side of bench/hub, one kind per process (so its RSS is its own):
//   hub         the real hub (startHub) on a temporary data directory
//   bare-ws     a `ws` WebSocketServer that does nothing (the memory baseline)
//   echo-ws     a `ws` server that echoes every message (the round-trip floor)
//   mini-relay  ~20 lines of HTTP POST → `ws` agent → reply, no auth, no storage (the baseline for
//               the hub's own work per command)
// Runs with --expose-gc; `memory` collects garbage and reports the RSS. A hub also answers
// `pairDevices`: devices written straight into its store with device tokens signed by its own key —
// the rows and tokens pairing through the API makes, without 10,000 pairs of HTTP requests.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { newId } from '../../server/accounts';
import { loadOrCreateSigningKeys, TokenService } from '../../server/auth/tokens';
import { startHub, type RunningHub } from '../../server/hub';
import { childMain } from './child';
import { sleep } from './report';

async function memory(): Promise<{ rss: number; heapUsed: number }> {
  for (let i = 0; i < 4; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await sleep(50);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

const listen = (server: Server) =>
  new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));

/** `count` devices of one new account, as `redeemPairingCode` makes them: a row and a device token each. */
async function pairDevices(
  hub: RunningHub,
  dataDir: string,
  count: number,
): Promise<{ tokens: string[]; seconds: number }> {
  const started = performance.now();
  const user = await hub.store.createUser({
    id: newId('usr'),
    email: `bench-${newId('x')}@example.com`,
    passwordHash: 'not a hash: this account never signs in',
  });
  if (user === 'email_taken') throw new Error('bench user exists');
  const tokens = new TokenService(loadOrCreateSigningKeys(dataDir));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const deviceId = newId('dev');
    const { token, jti } = await tokens.sign('device', deviceId);
    await hub.store.createDevice({ id: deviceId, userId: user.id, name: `idle-${i}`, tokenId: jti });
    out.push(token);
  }
  return { tokens: out, seconds: (performance.now() - started) / 1000 };
}

function miniRelay(server: Server): void {
  const wss = new WebSocketServer({ noServer: true });
  let agent: WebSocket | undefined;
  const waiting = new Map<string, (text: string) => void>();
  server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      agent = ws;
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as { id: string; result: unknown };
        waiting.get(msg.id)?.(JSON.stringify(msg.result));
        waiting.delete(msg.id);
      });
    }),
  );
  server.on('request', (req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const cmd = JSON.parse(body) as { id: string; name: string; args: unknown };
      waiting.set(cmd.id, (text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text));
      agent!.send(JSON.stringify({ type: 'command', id: cmd.id, name: cmd.name, args: cmd.args }));
    });
  });
}

childMain<{
  kind: 'hub' | 'bare-ws' | 'echo-ws' | 'mini-relay';
  /** A hub of a cluster (bench/hub's two-hub row): its PostgreSQL, NATS and data directory. */
  database?: string;
  bus?: string;
  dataDir?: string;
}>(async ({ kind, database, bus, dataDir: givenDataDir }) => {
  const handlers = { memory };
  if (kind === 'hub') {
    const dataDir = givenDataDir ?? mkdtempSync(join(tmpdir(), 'lattice-bench-hubsrv-'));
    // Room for 10,000 agents of one account from one address: the hub's defaults (per-account and
    // per-address caps, a global socket cap) are for the internet. Loosely typed so the bench also
    // starts hubs that do not have one of these options (yet).
    const capacity: Record<string, unknown> = {
      connections: {
        maxConnections: 12_000,
        maxConnectionsPerAddress: 12_000,
        maxUpgradesPerAddress: 12_000,
      },
      accountCaps: { devices: 12_000 },
    };
    const hub = await startHub({
      dataDir,
      port: 0,
      logger: pino({ level: 'silent' }),
      database,
      bus,
      ...capacity,
    });
    return {
      ready: { url: hub.url },
      handlers: { ...handlers, pairDevices: (a) => pairDevices(hub, dataDir, a.count as number) },
      close: async () => {
        await hub.close();
        if (!givenDataDir) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const server = createServer();
  if (kind === 'mini-relay') miniRelay(server);
  else {
    const wss = new WebSocketServer({ server });
    if (kind === 'echo-ws')
      wss.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  }
  const port = await listen(server);
  return {
    ready: { url: `http://127.0.0.1:${port}` },
    handlers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});
