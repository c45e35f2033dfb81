// The hook for "relay with TLS" (issue 12): a second `lattice hub` with a certificate from a test CA
// made here, a relay device paired with it, and a probe of the public port. When the port answers a
// TLS handshake, the Node-client measurements run through it and print next to the plain relay's;
// until then the bench says why it measured nothing. (Postgres over TLS, via SSLRequest, belongs
// here too once the relay terminates it: psql with sslmode=verify-full against the share.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/net';
import { makeTestCertificates } from '../../test/integration/relay-tls-support';
import { startChild, type BenchChild } from './child';
import { freePortBlock, startHubProcess, type HubProcess } from './lattice-stack';
import { fmt, ms, ratio, table } from './report';
import { download, roundTrips, upload } from './stream-client';

/** A CA and a leaf for 127.0.0.1/localhost, in `dir` (the TLS tests' certificates). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  makeTestCertificates(dir);
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'leaf.pem'), key: join(dir, 'leaf.key') };
}

function speaksTls(port: number, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 3_000);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

export async function measureTlsRelay(opts: {
  rounds: number;
  bytes: number;
  rttCount: number;
  streamPort: number;
  plain: { up: number; down: number; rttP50: number };
}): Promise<void> {
  console.log('\nrelay with TLS (issue 12):');
  if (process.env.BENCH_TLS === '0') return console.log('  skipped (BENCH_TLS=0)');
  const dir = mkdtempSync(join(tmpdir(), 'lattice-bench-tls-'));
  let hub: HubProcess | undefined;
  let device: BenchChild | undefined;
  try {
    const certs = makeCertificates(dir);
    const ca = readFileSync(certs.ca);
    hub = await startHubProcess(join(dir, 'hub'), await freePort(), await freePortBlock(2), [
      '--tls-cert',
      certs.cert,
      '--tls-key',
      certs.key,
      // The leaf's CA: a hub refuses a certificate it cannot tell clients how to verify.
      '--tls-ca',
      certs.ca,
    ]);
    device = await startChild(
      'relay-device.ts',
      { hubUrl: hub.url, targetPort: opts.streamPort, tls: true },
      { name: 'relay-device-tls', env: { NODE_EXTRA_CA_CERTS: certs.ca } },
    );
    const port = device.ready.publicPort as number;
    if (!(await speaksTls(port, ca))) {
      console.log('  not measured: a hub with a certificate still serves its relay ports in plain TCP');
      return;
    }
    const target = { port, ca };
    await upload(target, 8e6);
    await roundTrips(target, 200);
    const up: number[] = [];
    const down: number[] = [];
    const rtt: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      up.push(await upload(target, opts.bytes));
      down.push(await download(target, opts.bytes));
      rtt.push((await roundTrips(target, opts.rttCount)).p50);
    }
    table([
      ['', 'relay', 'relay with TLS', 'TLS/plain'],
      [
        'Node upload',
        `${fmt(opts.plain.up, 0)} MB/s`,
        `${fmt(Math.max(...up), 0)} MB/s`,
        ratio(Math.max(...up), opts.plain.up),
      ],
      [
        'Node download',
        `${fmt(opts.plain.down, 0)} MB/s`,
        `${fmt(Math.max(...down), 0)} MB/s`,
        ratio(Math.max(...down), opts.plain.down),
      ],
      [
        '64-byte round trip p50',
        ms(opts.plain.rttP50),
        ms(Math.min(...rtt)),
        ratio(Math.min(...rtt), opts.plain.rttP50),
      ],
    ]);
  } catch (err) {
    console.log(`  not measured: ${(err as Error).message.trim().split('\n').slice(-3).join(' | ')}`);
  } finally {
    await device?.stop().catch(() => undefined);
    await hub?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
