// relay: what the hub relay costs a visitor, against two baselines between the same client and the
// same sink, in one run:
//   direct  the container's published port (or the stream server's port)
//   chain   two plain TCP proxies in a row, in their own processes — the relay's hops (hub, agent)
//           without its framing
//   relay   a real `lattice hub` and a real `lattice agent` (processes): a fixture Postgres shared
//           through the hub; the Node-client paths use a second device running the agent's relay
//           code (HubLink + RelayTunnelProvider) to a stream server, as a custom image is HTTP-only
// Measures bulk throughput both ways (Node client), psql COPY to /dev/null, 64-byte round trips,
// and pgbench -S at 1 and 4 clients. Prints relay/chain and relay/direct with the goals (issue 14).
// Never fails on a timing. Knobs: BENCH_ROUNDS (3), BENCH_NODE_MB (128), BENCH_COPY_MB (400),
// BENCH_RTT (5000), BENCH_PGBENCH_S (5), BENCH_PROFILE=DIR (--cpu-prof every process).
import { startChild, type BenchChild } from './support/child';
import { startRelayStack, type RelayStack } from './support/lattice-stack';
import {
  atPort,
  pgbenchInit,
  pgbenchSelect,
  psqlCopyOut,
  type PgbenchResult,
} from './support/postgres-clients';
import { fmt, median, ms, ratio, table, type LatencySummary } from './support/report';
import { download, roundTrips, upload } from './support/stream-client';
import { measureTlsRelay } from './support/relay-tls';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const NODE_MB = Number(process.env.BENCH_NODE_MB ?? 128);
const COPY_MB = Number(process.env.BENCH_COPY_MB ?? 400);
const RTT_COUNT = Number(process.env.BENCH_RTT ?? 5000);
const PGBENCH_S = Number(process.env.BENCH_PGBENCH_S ?? 5);

type PathName = 'direct' | 'chain' | 'relay';
const PATHS: PathName[] = ['direct', 'chain', 'relay'];

interface Ports {
  stream: Record<PathName, number>;
  postgres: Record<PathName, string>;
}

/** Runs `fn` for every path, `rounds` times, rotating the order so no path always goes first. */
async function perPath<T>(
  rounds: number,
  fn: (path: PathName) => Promise<T>,
): Promise<Record<PathName, T[]>> {
  const out: Record<PathName, T[]> = { direct: [], chain: [], relay: [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < PATHS.length; i++) {
      const path = PATHS[(i + r) % PATHS.length];
      out[path].push(await fn(path));
    }
  }
  return out;
}

const range = (xs: number[], digits = 0) =>
  xs.length > 1 ? ` [${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}]` : '';

function throughputRows(label: string, mbps: Record<PathName, number[]>): string[][] {
  const m = { direct: median(mbps.direct), chain: median(mbps.chain), relay: median(mbps.relay) };
  return [
    [
      label,
      ...PATHS.map((p) => `${fmt(m[p], 0)} MB/s${range(mbps[p])}`),
      ratio(m.relay, m.chain, { op: '>=', target: 0.9, of: 'chain' }),
      ratio(m.relay, m.direct),
    ],
  ];
}

async function main(): Promise<void> {
  const children: BenchChild[] = [];
  let stack: RelayStack | undefined;
  const started = performance.now();
  try {
    stack = await startRelayStack();
    const pgPort = stack.workload.ports.find((p) => p.container === 5432)!.host;
    const streamServer = await startChild('stream-server.ts', {}, { name: 'stream-server' });
    children.push(streamServer);
    const streamPort = streamServer.ready.port as number;
    // The chain: the second hop (agent's place) first, then the first (hub's place) in front of it.
    const hopB = await startChild(
      'tcp-proxy.ts',
      { targets: [streamPort, pgPort].map((port) => ({ host: '127.0.0.1', port })) },
      { name: 'proxy-b' },
    );
    children.push(hopB);
    const hopA = await startChild(
      'tcp-proxy.ts',
      { targets: (hopB.ready.ports as number[]).map((port) => ({ host: '127.0.0.1', port })) },
      { name: 'proxy-a' },
    );
    children.push(hopA);
    const device = await startChild(
      'relay-device.ts',
      { hubUrl: stack.hub.url, code: await stack.pairingCode(), targetPort: streamPort },
      { name: 'relay-device' },
    );
    children.push(device);
    const [chainStream, chainPg] = hopA.ready.ports as number[];
    const shareString = stack.share.connectionString!;
    const ports: Ports = {
      stream: { direct: streamPort, chain: chainStream, relay: device.ready.publicPort as number },
      postgres: {
        direct: atPort(shareString, pgPort),
        chain: atPort(shareString, chainPg),
        relay: shareString,
      },
    };
    console.log(
      `paths ready in ${fmt((performance.now() - started) / 1000, 1)} s; ${ROUNDS} rounds, path order rotated each round`,
    );

    // Warm-up: every path carries a little of everything once before anything is timed.
    for (const p of PATHS) {
      await upload(ports.stream[p], 8e6);
      await download(ports.stream[p], 8e6);
      await roundTrips(ports.stream[p], 200);
    }

    const bytes = NODE_MB * 1e6;
    const up = await perPath(ROUNDS, (p) => upload(ports.stream[p], bytes));
    const down = await perPath(ROUNDS, (p) => download(ports.stream[p], bytes));
    const copy = await perPath(Math.max(1, ROUNDS - 1), (p) => psqlCopyOut(ports.postgres[p], COPY_MB));
    const rtt = await perPath(ROUNDS, (p) => roundTrips(ports.stream[p], RTT_COUNT));

    await pgbenchInit(ports.postgres.direct, 1);
    const bench1 = await perPath(1, (p) => pgbenchSelect(ports.postgres[p], 1, PGBENCH_S));
    const bench4 = await perPath(1, (p) => pgbenchSelect(ports.postgres[p], 4, PGBENCH_S));

    console.log('\nbulk throughput (median of rounds [range]):');
    table([
      ['', 'direct', 'chain', 'relay', 'relay/chain', 'relay/direct'],
      ...throughputRows(`Node upload ${NODE_MB} MB`, up),
      ...throughputRows(`Node download ${NODE_MB} MB`, down),
      ...throughputRows(`psql COPY ${COPY_MB} MB to /dev/null`, copy),
    ]);

    const rttOf = (xs: LatencySummary[]) => ({
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
    });
    const r = { direct: rttOf(rtt.direct), chain: rttOf(rtt.chain), relay: rttOf(rtt.relay) };
    const pb = (xs: Record<PathName, PgbenchResult[]>) => ({
      direct: xs.direct[0],
      chain: xs.chain[0],
      relay: xs.relay[0],
    });
    const b1 = pb(bench1);
    const b4 = pb(bench4);
    console.log('\nlatency and transactions:');
    table([
      ['', 'direct', 'chain', 'relay', 'relay/chain', 'relay/direct'],
      [
        `64-byte round trip p50 (${RTT_COUNT}×)`,
        ...PATHS.map((p) => ms(r[p].p50)),
        ratio(r.relay.p50, r.chain.p50, { op: '<=', target: 1.1, of: 'chain' }),
        ratio(r.relay.p50, r.direct.p50),
      ],
      [
        '64-byte round trip p99',
        ...PATHS.map((p) => ms(r[p].p99)),
        ratio(r.relay.p99, r.chain.p99),
        ratio(r.relay.p99, r.direct.p99),
      ],
      [
        `pgbench -S -c 1 latency (${PGBENCH_S} s)`,
        ...PATHS.map((p) => ms(b1[p].latencyMs)),
        ratio(b1.relay.latencyMs, b1.chain.latencyMs, { op: '<=', target: 1.1, of: 'chain' }),
        ratio(b1.relay.latencyMs, b1.direct.latencyMs),
      ],
      [
        `pgbench -S -c 4 TPS (${PGBENCH_S} s)`,
        ...PATHS.map((p) => fmt(b4[p].tps, 0)),
        ratio(b4.relay.tps, b4.chain.tps, { op: '>=', target: 0.95, of: 'chain' }),
        ratio(b4.relay.tps, b4.direct.tps),
      ],
    ]);

    // Issue 12 (TLS on the relay): measured when the hub's relay ports speak TLS, else says why not.
    await measureTlsRelay({
      rounds: ROUNDS,
      bytes,
      rttCount: RTT_COUNT,
      streamPort,
      plain: { up: median(up.relay), down: median(down.relay), rttP50: r.relay.p50 },
    });
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await stack?.cleanup();
  }
  console.log(`\nbench/relay done in ${fmt((performance.now() - started) / 1000, 0)} s`);
}

await main();
