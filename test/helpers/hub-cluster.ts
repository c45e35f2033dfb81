// A hub cluster as docs/running-a-cluster.md describes it, all real and on loopback: one PostgreSQL 15
// database (postgres-server.ts), one nats-server (nats-server.ts), N `lattice hub` processes, each on
// its own loopback address (127.0.0.2, 127.0.0.3, …) with the same relay range, and HAProxy (mode tcp)
// in front on 127.0.0.1:
// - `hubs`: the API/WebSocket frontend 127.0.0.1:LB → the hubs in the given order, `balance first`
//   with health checks, so everything goes to the first hub while it is up (then to the next);
// - `relay`: 127.0.0.1:R1-R2 → the hubs' addresses WITHOUT a port (HAProxy keeps the port the visitor
//   dialled), `balance first` in `relayOrder`, no redispatch: a visitor lands on that hub or nowhere.
// Every hub has `--public-url` the load balancer and `--public-host 127.0.0.1`, so share strings point
// at HAProxy, and `--advertise-url` its own address.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freePortBlock, waitFor } from './net';
import { startNatsServer, type NatsServer } from './nats-server';
import { sharedPostgresServer } from './postgres-server';

const ROOT = new URL('../..', import.meta.url).pathname;
const HAPROXY = '/usr/sbin/haproxy';

export interface ClusterHub {
  name: string;
  host: string;
  port: number;
  /** This hub's own address (what `--advertise-url` says), not the load balancer's. */
  url: string;
  /** The cluster's public origin: the one the hubs allow dashboards from. */
  origin: string;
  child: ChildProcess;
  /** Everything the process wrote (its log at `logLevel`). */
  output(): string;
  /** SIGKILL: no goodbye to agents, dashboards, NATS or PostgreSQL. Resolves when it is gone. */
  kill(): Promise<void>;
}

/** One row of HAProxy's `show stat`, for a server of a backend. */
export interface ServerStat {
  status: string;
  /** Sessions open now. */
  scur: number;
  /** Sessions since start. */
  stot: number;
}

export interface HubCluster {
  /** The load balancer's API frontend: the cluster's public URL. */
  lb: { url: string; origin: string };
  hubs: ClusterHub[];
  relayPorts: { from: number; to: number };
  database: string;
  nats: NatsServer;
  /** HAProxy's counters: `stats('relay', 'b')`. */
  stats(backend: 'hubs' | 'relay', server: string): Promise<ServerStat>;
  /** Every hub's output, each line prefixed with its name: for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface HubClusterOptions {
  /** Database name prefix (letters, digits, _). */
  name: string;
  /** The hubs and their loopback addresses, in the API backend's order. Default a: .2, b: .3. */
  hubs?: { name: string; host: string }[];
  /** Relay backend order by hub name; default the reverse of `hubs` (visitors to the last hub). */
  relayOrder?: string[];
  relaySpan?: number;
  /** LATTICE_LOG_LEVEL of the hub processes; default warn. */
  logLevel?: string;
}

/** A port free on `host` itself (another test's hub may hold a port on 127.0.0.2 that is free on .1). */
function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** HAProxy's `show stat` over its admin socket. */
function showStat(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect(socket, () => s.end('show stat\n'));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

export async function startHubCluster(opts: HubClusterOptions): Promise<HubCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'lattice-cluster-'));
  const children: ChildProcess[] = [];
  const layout = opts.hubs ?? [
    { name: 'a', host: '127.0.0.2' },
    { name: 'b', host: '127.0.0.3' },
  ];
  const relayOrder = opts.relayOrder ?? layout.map((h) => h.name).reverse();
  let nats: NatsServer | undefined;
  const hubs: ClusterHub[] = [];
  const stop = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    nats = await startNatsServer();
    const database = await (await sharedPostgresServer()).createDatabase(`${opts.name}_${process.pid}`);
    const lbPort = await freePort();
    const lb = { url: `http://127.0.0.1:${lbPort}`, origin: `http://127.0.0.1:${lbPort}` };
    const relayPorts = await freePortBlock(opts.relaySpan ?? 4);

    for (const { name, host } of layout) {
      const dataDir = join(dir, name);
      mkdirSync(dataDir, { mode: 0o700 });
      // Nothing copied between data directories: the first hub puts the cluster's signing key in the database.
      const port = await freePortOn(host);
      const url = `http://${host}:${port}`;
      const args = [
        'bin/lattice.mjs',
        'hub',
        '--data-dir',
        dataDir,
        '--host',
        host,
        '--port',
        String(port),
        '--database',
        database,
        '--bus',
        nats.url,
        '--public-url',
        lb.url,
        '--public-host',
        '127.0.0.1',
        '--relay-ports',
        `${relayPorts.from}-${relayPorts.to}`,
        // Where agents dial relay streams for visitors that reach this hub (not the load balancer).
        '--advertise-url',
        url,
      ];
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LATTICE_LOG_LEVEL: opts.logLevel ?? 'warn' },
      });
      children.push(child);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await waitFor(`hub ${name} ready`, () => {
        if (child.exitCode !== null) throw new Error(`hub ${name} exited: ${out}`);
        return out.includes('Lattice hub listening');
      });
      hubs.push({
        name,
        host,
        port,
        url,
        origin: lb.origin,
        child,
        output: () => out,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    }

    const byName = new Map(hubs.map((h) => [h.name, h]));
    const socket = join(dir, 'haproxy.sock');
    const cfg = join(dir, 'haproxy.cfg');
    const check = 'check inter 300 fall 1 rise 1';
    writeFileSync(
      cfg,
      [
        'global',
        `  stats socket ${socket} mode 600 level admin`,
        'defaults',
        '  mode tcp',
        '  timeout connect 2s',
        '  timeout client 1h',
        '  timeout server 1h',
        'frontend hubs',
        `  bind 127.0.0.1:${lbPort}`,
        '  default_backend hubs',
        'backend hubs',
        '  balance first',
        '  retries 3',
        '  option redispatch',
        ...hubs.map((h) => `  server ${h.name} ${h.host}:${h.port} ${check}`),
        'frontend relay',
        `  bind 127.0.0.1:${relayPorts.from}-${relayPorts.to}`,
        '  default_backend relay',
        'backend relay',
        // No redispatch: a visitor that the first hub refuses is refused, never quietly sent elsewhere.
        '  balance first',
        ...relayOrder.map((n) => {
          const h = byName.get(n);
          if (!h) throw new Error(`relayOrder names no hub "${n}"`);
          return `  server ${h.name} ${h.host} ${check} port ${h.port}`;
        }),
        '',
      ].join('\n'),
    );
    const haproxy = spawn(HAPROXY, ['-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(haproxy);
    let haproxyErr = '';
    haproxy.stderr?.on('data', (d: Buffer) => (haproxyErr += d.toString()));

    const stats = async (backend: string, server: string): Promise<ServerStat> => {
      const [header, ...rows] = (await showStat(socket)).trim().split('\n');
      const cols = header.replace(/^# /, '').split(',');
      const at = (name: string) => cols.indexOf(name);
      const row = rows.map((r) => r.split(',')).find((r) => r[0] === backend && r[1] === server);
      if (!row) throw new Error(`HAProxy has no server ${backend}/${server}`);
      return { status: row[at('status')], scur: Number(row[at('scur')]), stot: Number(row[at('stot')]) };
    };
    // Every server checked UP before anyone connects: `balance first` then picks the first in order.
    await waitFor(
      `haproxy up with every hub healthy${haproxyErr ? `: ${haproxyErr}` : ''}`,
      async () => {
        if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${haproxyErr}`);
        for (const backend of ['hubs', 'relay'])
          for (const h of hubs) if ((await stats(backend, h.name)).status !== 'UP') return false;
        return (await fetch(`${lb.url}/api/health`)).ok;
      },
      10_000,
    );

    return {
      lb,
      hubs,
      relayPorts,
      database,
      nats,
      stats,
      logs: () =>
        hubs
          .map((h) =>
            h
              .output()
              .split('\n')
              .filter(Boolean)
              .map((l) => `[hub ${h.name}] ${l}`)
              .join('\n'),
          )
          .join('\n'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
