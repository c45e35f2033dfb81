// hub: what the hub costs per agent connection and per relayed command, against baselines in the
// same run (issue 14):
//   memory       RSS of the server process per idle authenticated agent connection, at 10,000
//                connections (clients in another process), vs a bare `ws` server; the JS heap's share
//                beside it, which swings less between runs than RSS
//   commands     `POST /api/devices/:id/commands` → agent → back through the real hub, vs a minimal
//                HTTP → `ws` relay (no auth, no storage) and a bare `ws` echo; 16 in flight, ~8 s each
// The hub is `lattice hub`, the CLI bundle users run; the baselines are small servers in
// support/hub-server.ts. The agent is a stand-in process answering at once, so the time is the hub's
// and the transport's.
// The HTTP commands are posted by wrk (a C load generator, one thread, one request in flight per
// connection): the Node client used before took a third of the two cores the servers share, and
// held the minimal relay to two thirds of its rate. The bare ws echo keeps a Node client.
// Never fails on a timing. Knobs: BENCH_CONNECTIONS (10000), BENCH_SECONDS (8), BENCH_IN_FLIGHT (16),
// BENCH_WARMUP (5 s before measuring each server), BENCH_ROUNDS (3 alternating rounds of the minimal
// relay and the hub), BENCH_PARTS (commands,cluster,memory),
// BENCH_PROFILE=DIR (--cpu-prof every process).
// The warm-up is long enough for V8 to finish compiling the hot path: under load the hub's compiler
// threads take about a quarter of its CPU for its first ~5 s, the minimal relay's for ~3 s (perf on
// this machine), so with 1 s of warm-up both rates, and the hub's more, included start-up work.
// Two hubs over NATS (issue 16): posts to hub A, agent on hub B, one PostgreSQL 15 and nats-server
// started here; its rate is shown against one hub's (the cost of the bus, as a ratio).
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { startNatsServer } from '../../test/helpers/nats-server';
import { startPostgresServer } from '../../test/helpers/postgres-server';
import { api, registerUser } from '../../test/integration/hub-fixtures';
import { startChild, type BenchChild } from '../support/child';
import { startHubProcess } from '../support/lattice-stack';
import { cpuMs, fmt, median, ms, ratio, summarize, table, type LatencySummary } from '../support/report';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 16);
const WARMUP_MS = Number(process.env.BENCH_WARMUP ?? 5) * 1000;
/** Rounds of the minimal relay and the hub, alternating; each figure is the rounds' median. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'commands,cluster,memory').split(','));

interface Rate extends LatencySummary {
  perSecond: number;
  /** CPU the server process spent per round trip (robust to a busy machine, unlike the rate). */
  serverCpuUs: number;
}

// ---- memory ----

async function memoryPerConnection(
  kind: 'hub' | 'bare-ws',
): Promise<{ perConnKb: number; heapPerConnKb: number; openSeconds: number }> {
  const dataDir = kind === 'hub' ? mkdtempSync(join(tmpdir(), 'lattice-bench-mem-')) : undefined;
  let tokens: string[] = [];
  if (dataDir) {
    // Pairing through the API took two requests per device (and minutes for 10,000); a hub on the
    // same data directory writes the same rows and device tokens straight into its store
    // (hub-server.ts) and stops, so the measured hub starts fresh, as the bare server does, and its
    // agents still authenticate at upgrade.
    const pairing = await startChild('hub-server.ts', { kind, dataDir }, { name: 'mem-hub-pairing' });
    try {
      const paired = await pairing.request<{ tokens: string[]; seconds: number }>('pairDevices', {
        count: CONNECTIONS,
      });
      tokens = paired.tokens;
      console.log(
        `  (${fmt(CONNECTIONS, 0)} devices paired through the store in ${fmt(paired.seconds, 1)} s)`,
      );
    } finally {
      await pairing.stop();
    }
  }
  const server = await startChild(
    'hub-server.ts',
    { kind, dataDir },
    { name: `mem-${kind}`, exposeGc: true },
  );
  const clients = await startChild('ws-clients.ts', {}, { name: `mem-clients-${kind}` });
  try {
    const url = server.ready.url as string;
    const before = await server.request<{ rss: number; heapUsed: number }>('memory');
    const opened = await clients.request<{ seconds: number }>('openSockets', {
      url,
      count: CONNECTIONS,
      tokens,
    });
    await new Promise((r) => setTimeout(r, 2_000)); // hellos, lastSeen writes, presence settle
    const after = await server.request<{ rss: number; heapUsed: number }>('memory');
    const { stillOpen } = await clients.request<{ stillOpen: number }>('closeSockets');
    if (stillOpen !== CONNECTIONS)
      throw new Error(`${kind}: only ${stillOpen} of ${CONNECTIONS} stayed open`);
    return {
      perConnKb: (after.rss - before.rss) / CONNECTIONS / 1024,
      heapPerConnKb: (after.heapUsed - before.heapUsed) / CONNECTIONS / 1024,
      openSeconds: opened.seconds,
    };
  } finally {
    await clients.stop();
    await server.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- round trips ----

/** `IN_FLIGHT` loops of `once()` for SECONDS; every completion's latency (the bare ws echo row). */
async function closedLoop(serverPid: number, once: () => Promise<void>): Promise<Rate> {
  const samples: number[] = [];
  const warmEnd = performance.now() + WARMUP_MS;
  const end = warmEnd + SECONDS * 1000;
  let cpuAtWarmEnd = 0;
  const mark = setTimeout(() => (cpuAtWarmEnd = cpuMs([serverPid])), WARMUP_MS);
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        await once();
        if (t0 >= warmEnd) samples.push(performance.now() - t0);
      }
    }),
  );
  clearTimeout(mark);
  const serverCpuUs = ((cpuMs([serverPid]) - cpuAtWarmEnd) * 1000) / samples.length;
  return { ...summarize(samples), perSecond: samples.length / SECONDS, serverCpuUs };
}

const run = promisify(execFile);
const commandBody = () => JSON.stringify({ id: randomUUID(), name: 'workload.list', args: {} });

async function wsEcho(url: string, serverPid: number): Promise<Rate> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const waiting: (() => void)[] = [];
  ws.on('message', () => waiting.shift()?.());
  try {
    return await closedLoop(
      serverPid,
      () =>
        new Promise<void>((resolve) => {
          waiting.push(resolve);
          ws.send(commandBody());
        }),
    );
  } finally {
    ws.close();
  }
}

/** One path of relayed commands: where to POST, with which headers, and the agent that answers. */
interface CommandPath {
  url: string;
  /** The process whose CPU per command is reported (the hub that received the POST). */
  serverPid: number;
  path: string;
  authorization?: string;
  agent: BenchChild;
}

const WRK_SCRIPT = new URL('../support/commands.lua', import.meta.url).pathname;

interface WrkResult {
  requests: number;
  seconds: number;
  non2xx: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  p50: number;
  p99: number;
}

/** `wrk` for `seconds` with IN_FLIGHT connections on one thread, each POSTing commands back to back. */
async function wrk(target: CommandPath, seconds: number): Promise<WrkResult> {
  const env = {
    ...process.env,
    BENCH_PATH: target.path,
    BENCH_AUTH: target.authorization ?? '',
    BENCH_ID_PREFIX: randomUUID().slice(0, 24), // 8-4-4-4 hex digits and a dash: ids never repeat
  };
  const args = ['-t1', `-c${IN_FLIGHT}`, `-d${seconds}s`, '--timeout', '10s', '-s', WRK_SCRIPT, target.url];
  const { stdout } = await run('wrk', args, { env }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      throw new Error(
        'bench/hub drives commands with wrk, which is not installed (Debian: apt-get install wrk; .ci/run installs it)',
      );
    throw err;
  });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as WrkResult;
}

/** wrk for WARMUP_MS against `target`, unmeasured: V8 compiles the server's hot path meanwhile. */
async function warmUp(target: CommandPath): Promise<void> {
  if (WARMUP_MS > 0) await wrk(target, Math.ceil(WARMUP_MS / 1000));
}

/**
 * Commands through `target` for SECONDS, driven by wrk (a C load generator, so the client takes
 * little of the two cores the servers share). Checks every measured request was answered 2xx and
 * the agent answered at least as many commands as were sent.
 */
async function measureCommands(target: CommandPath): Promise<Rate> {
  const answeredBefore = await target.agent.request<number>('answered');
  const cpuBefore = cpuMs([target.serverPid]);
  const r = await wrk(target, SECONDS);
  const serverCpuUs = ((cpuMs([target.serverPid]) - cpuBefore) * 1000) / r.requests;
  const answered = (await target.agent.request<number>('answered')) - answeredBefore;
  const errors = r.non2xx + r.connect + r.read + r.write + r.timeout;
  if (errors) throw new Error(`${errors} of ${r.requests} commands failed: ${JSON.stringify(r)}`);
  if (answered < r.requests)
    throw new Error(`the agent answered ${answered} commands, but ${r.requests} were answered 2xx`);
  return { p50: r.p50, p99: r.p99, n: r.requests, perSecond: r.requests / r.seconds, serverCpuUs };
}

/** Each figure's median over rounds (the rounds' own rates are kept for the spread of the ratio). */
function medianRate(rounds: Rate[]): Rate & { rounds: Rate[] } {
  const m = (pick: (r: Rate) => number) => median(rounds.map(pick));
  return {
    perSecond: m((r) => r.perSecond),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    serverCpuUs: m((r) => r.serverCpuUs),
    n: rounds.reduce((sum, r) => sum + r.n, 0),
    rounds,
  };
}

/** Pairs a device through `hub` and starts a stand-in agent connected to `agentHub`. */
async function pairedAgent(
  hub: { url: string },
  agentHub: { url: string },
  start: (file: string, args: Record<string, unknown>, name: string) => Promise<BenchChild>,
  name: string,
): Promise<Pick<CommandPath, 'path' | 'authorization' | 'agent'>> {
  const user = await registerUser(hub);
  const code = await api<{ code: string }>(hub, 'POST', '/api/devices/pairing', { token: user.accessToken });
  const paired = await api<{ deviceId: string; deviceToken: string }>(hub, 'POST', '/api/devices/pair', {
    body: { code: code.body.code, name: 'bench-agent' },
  });
  const agent = await start(
    'fake-agent.ts',
    { url: agentHub.url, deviceToken: paired.body.deviceToken },
    name,
  );
  return {
    path: `/api/devices/${paired.body.deviceId}/commands`,
    authorization: `Bearer ${user.accessToken}`,
    agent,
  };
}

/**
 * Two hubs on one PostgreSQL 15 and one nats-server (started here, as the tests do): commands posted
 * to hub A for an agent connected to hub B, so every command crosses the bus both ways.
 */
async function clusterRate(
  start: (file: string, args: Record<string, unknown>, name: string) => Promise<BenchChild>,
): Promise<Rate> {
  const nats = await startNatsServer();
  const pg = await startPostgresServer();
  const dir = mkdtempSync(join(tmpdir(), 'lattice-bench-cluster-'));
  try {
    const database = await pg.createDatabase('bench_cluster');
    const [dirA, dirB] = [join(dir, 'a'), join(dir, 'b')];
    for (const d of [dirA, dirB]) mkdirSync(d, { mode: 0o700 });
    const clusterHub = (dataDir: string) => latticeHub(dataDir, ['--database', database, '--bus', nats.url]);
    const a = await clusterHub(dirA);
    // Hub B adopts hub A's signing key from the database (docs/running-a-cluster.md).
    const b = await clusterHub(dirB);
    const paired = await pairedAgent(a, b, start, 'hub-b-agent');
    await new Promise((r) => setTimeout(r, 500)); // hub A learns over the bus that B holds the device
    const target = { url: a.url, serverPid: a.pid, ...paired };
    await warmUp(target);
    return await measureCommands(target);
  } finally {
    for (const c of children.splice(0).reverse()) await c.stop().catch(() => undefined);
    await nats.stop();
    pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The processes of the part being measured, stopped (last first) when it is done. */
const children: Pick<BenchChild, 'stop'>[] = [];

/**
 * `lattice hub` on loopback, as users run it and as bench/relay runs it: the CLI bundle, not the
 * TypeScript sources through tsx, whose transform wraps every named function it creates in a
 * `__name` call (about 2% of the hub's CPU per command in profiles of the source-run hub).
 */
async function latticeHub(dataDir: string, args: string[] = []): Promise<{ url: string; pid: number }> {
  const hub = await startHubProcess(dataDir, 0, undefined, args);
  children.push(hub);
  return { url: hub.url, pid: hub.child.pid! };
}

async function commandRates(): Promise<{
  echo: Rate;
  mini: ReturnType<typeof medianRate>;
  hub: ReturnType<typeof medianRate>;
  cluster?: Rate;
}> {
  const start = async (file: string, args: Record<string, unknown>, name: string) => {
    const c = await startChild(file, args, { name });
    children.push(c);
    return c;
  };
  try {
    const echo = await start('hub-server.ts', { kind: 'echo-ws' }, 'echo-ws');
    const echoRate = await wsEcho(echo.ready.url as string, echo.pid);

    const mini = await start('hub-server.ts', { kind: 'mini-relay' }, 'mini-relay');
    const miniAgent = await start('fake-agent.ts', { url: mini.ready.url }, 'mini-relay-agent');
    const miniPath = {
      url: mini.ready.url as string,
      serverPid: mini.pid,
      path: '/commands',
      agent: miniAgent,
    };
    const hubDir = mkdtempSync(join(tmpdir(), 'lattice-bench-hub-'));
    children.push({ stop: async () => rmSync(hubDir, { recursive: true, force: true }) });
    const hub = await latticeHub(hubDir);
    const hubPath = {
      url: hub.url,
      serverPid: hub.pid,
      ...(await pairedAgent(hub, hub, start, 'hub-agent')),
    };
    // Rounds of both, the order swapped each round, so a busy moment of the machine falls on both.
    await warmUp(miniPath);
    await warmUp(hubPath);
    const miniRounds: Rate[] = [];
    const hubRounds: Rate[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['mini', 'hub'] as const) : (['hub', 'mini'] as const);
      for (const which of order) {
        if (which === 'mini') miniRounds.push(await measureCommands(miniPath));
        else hubRounds.push(await measureCommands(hubPath));
      }
    }
    const miniRate = medianRate(miniRounds);
    const hubRate = medianRate(hubRounds);
    for (const c of children.splice(0).reverse()) await c.stop().catch(() => undefined);
    const cluster = PARTS.has('cluster') ? await clusterRate(start) : undefined;
    return { echo: echoRate, mini: miniRate, hub: hubRate, cluster };
  } finally {
    for (const c of children.splice(0).reverse()) await c.stop().catch(() => undefined);
  }
}

const started = performance.now();
if (PARTS.has('commands')) {
  console.log(
    `commands: ${IN_FLIGHT} in flight, ${SECONDS} s each after ${WARMUP_MS / 1000} s of warm-up; minimal relay and hub: median of ${ROUNDS} alternating rounds`,
  );
  const rates = await commandRates();
  const cpu = (r: Rate) => `${fmt(r.serverCpuUs, 0)} µs`;
  // Each round's hub ÷ minimal relay, lowest to highest: how far one round's ratio can be trusted.
  const roundRatios = (hub: Rate[], mini: Rate[]) => {
    const rs = hub.map((h, i) => h.perSecond / mini[i].perSecond).sort((a, b) => a - b);
    return rs.length > 1 ? `${fmt(rs[0])}–${fmt(rs[rs.length - 1])}×` : `${fmt(rs[0])}×`;
  };
  table([
    ['path', 'round trips/s', 'p50', 'p99', 'vs minimal relay', 'server CPU per round trip'],
    [
      'bare ws echo',
      fmt(rates.echo.perSecond, 0),
      ms(rates.echo.p50),
      ms(rates.echo.p99),
      ratio(rates.echo.perSecond, rates.mini.perSecond),
      cpu(rates.echo),
    ],
    [
      'minimal HTTP → ws relay',
      fmt(rates.mini.perSecond, 0),
      ms(rates.mini.p50),
      ms(rates.mini.p99),
      '1×',
      cpu(rates.mini),
    ],
    [
      'hub POST /api/devices/:id/commands',
      fmt(rates.hub.perSecond, 0),
      `${ms(rates.hub.p50)} (goal ≤ 2 ms: ${rates.hub.p50 <= 2 ? 'met' : 'NOT met'})`,
      ms(rates.hub.p99),
      `${ratio(rates.hub.perSecond, rates.mini.perSecond, { op: '>=', target: 0.5, of: 'minimal relay' })}, rounds ${roundRatios(rates.hub.rounds, rates.mini.rounds)}`,
      `${cpu(rates.hub)} (${ratio(rates.hub.serverCpuUs, rates.mini.serverCpuUs)} minimal relay)`,
    ],
    ...(rates.cluster
      ? [
          [
            'two hubs over NATS (POST on A, agent on B)',
            fmt(rates.cluster.perSecond, 0),
            ms(rates.cluster.p50),
            ms(rates.cluster.p99),
            `${ratio(rates.cluster.perSecond, rates.hub.perSecond)} one hub`,
            `${cpu(rates.cluster)} on hub A`,
          ],
        ]
      : []),
  ]);
  // Little's law: with IN_FLIGHT requests always outstanding, the mean latency is IN_FLIGHT ÷ rate,
  // so a p50 goal is a rate goal; print the rate it asks for beside what the baseline reaches.
  const needed = IN_FLIGHT / 0.002;
  console.log(
    `  (p50 ≈ ${IN_FLIGHT} ÷ rate: 2 ms asks for about ${fmt(needed, 0)} round trips/s; the minimal relay reached ${fmt(rates.mini.perSecond, 0)}/s on this machine)`,
  );
}

if (PARTS.has('memory')) {
  console.log(
    `\nmemory per idle connection at ${fmt(CONNECTIONS, 0)} connections (server RSS delta after GC):`,
  );
  const bare = await memoryPerConnection('bare-ws');
  const hubMem = await memoryPerConnection('hub');
  table([
    ['server', 'per connection', 'opened in', 'vs bare ws', 'JS heap per connection (steadier than RSS)'],
    [
      'bare ws',
      `${fmt(bare.perConnKb)} KB`,
      `${fmt(bare.openSeconds, 1)} s`,
      '1×',
      `${fmt(bare.heapPerConnKb)} KB`,
    ],
    [
      'hub, authenticated agents',
      `${fmt(hubMem.perConnKb)} KB`,
      `${fmt(hubMem.openSeconds, 1)} s`,
      ratio(hubMem.perConnKb, bare.perConnKb, { op: '<=', target: 1.5, of: 'bare ws' }),
      `${fmt(hubMem.heapPerConnKb)} KB (${ratio(hubMem.heapPerConnKb, bare.heapPerConnKb)})`,
    ],
  ]);
}
console.log(`\nbench/hub done in ${fmt((performance.now() - started) / 1000, 0)} s`);
