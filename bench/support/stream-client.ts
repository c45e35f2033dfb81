// The Node client of bench/relay: bulk upload, bulk download and 64-byte round trips against
// stream-server.ts, through whichever path `port` leads into.
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { summarize, type LatencySummary } from './report';

/** A port on loopback, or a TLS port with the CA that signed its certificate. */
export type Target = number | { port: number; ca: Buffer };

function open(target: Target, mode: 'E' | 'U' | 'D', total: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket =
      typeof target === 'number'
        ? connect({ host: '127.0.0.1', port: target, noDelay: true })
        : connectTls({ host: '127.0.0.1', port: target.port, ca: target.ca });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once(typeof target === 'number' ? 'connect' : 'secureConnect', () => {
      socket.off('error', reject);
      const header = Buffer.alloc(9);
      header.write(mode, 0, 'latin1');
      header.writeBigUInt64BE(BigInt(total), 1);
      socket.write(header);
      resolve(socket);
    });
  });
}

const CHUNK = Buffer.alloc(64 * 1024, 0x62);

/** MB/s (10^6 bytes) from the first byte written to the sink's acknowledgement of the last. */
export async function upload(port: Target, bytes: number): Promise<number> {
  const socket = await open(port, 'U', bytes);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('upload: the path closed early')));
    socket.once('data', () => resolve());
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  const secs = (performance.now() - started) / 1000;
  socket.destroy();
  return bytes / 1e6 / secs;
}

/** MB/s from the request to the last byte received. */
export async function download(port: Target, bytes: number): Promise<number> {
  const socket = await open(port, 'D', bytes);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`download: the path closed after ${got} bytes`)));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) resolve();
    });
  });
  const secs = (performance.now() - started) / 1000;
  socket.removeAllListeners('close');
  socket.destroy();
  return bytes / 1e6 / secs;
}

/** One message of `size` bytes out, the same back, `count` times in a row (after a warm-up). */
export async function roundTrips(
  port: Target,
  count: number,
  size = 64,
  warmup = 200,
): Promise<LatencySummary> {
  const socket = await open(port, 'E', 0);
  const msg = Buffer.alloc(size, 0x63);
  const samples: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let got = 0;
      let sent = 0;
      let t0 = 0;
      const send = () => {
        got = 0;
        t0 = performance.now();
        sent++;
        socket.write(msg);
      };
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('round trips: the path closed')));
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got < size) return;
        if (sent > warmup) samples.push(performance.now() - t0);
        if (sent >= warmup + count) return resolve();
        send();
      });
      send();
    });
  } finally {
    socket.removeAllListeners('close');
    socket.destroy();
  }
  return summarize(samples);
}
