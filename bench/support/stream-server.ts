// The sink of the Node-client measurements (stands where the container's port stands): each
// connection starts with a 9-byte header, a mode byte and a 64-bit length —
//   'E' echo everything back; 'U' read N bytes then answer one byte; 'D' write N bytes.
// Lengths instead of half-closes, so every path (including WebSocket streams) ends the same way.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { childMain } from './child';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function download(socket: Socket, total: number): void {
  let left = total;
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
}

function onConnection(socket: Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let header = Buffer.alloc(0);
  const onHeader = (chunk: Buffer) => {
    header = Buffer.concat([header, chunk]);
    if (header.length < 9) return;
    socket.off('data', onHeader);
    const mode = String.fromCharCode(header[0]);
    const total = Number(header.readBigUInt64BE(1));
    const rest = header.subarray(9);
    if (mode === 'E') {
      if (rest.length) socket.write(rest);
      socket.on('data', (d) => socket.write(d));
    } else if (mode === 'U') {
      let got = rest.length;
      const check = () => {
        if (got >= total) socket.write(Buffer.from([1]));
      };
      socket.on('data', (d) => {
        got += d.length;
        check();
      });
      check();
    } else if (mode === 'D') {
      download(socket, total);
    } else {
      socket.destroy();
    }
  };
  socket.on('data', onHeader);
}

childMain(async () => {
  const server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    ready: { port: (server.address() as AddressInfo).port },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
});
