// The one way the hub refuses a connection it has not handed to an HTTP response object: upgrades it
// will not accept (bad token, wrong origin, unknown stream, an HTTP share's basic auth) and requests
// the HTTP parser gave up on. Destroying the socket right after write() can throw away a reply still
// queued in Node (a TLS socket, a congested peer), so the client sees a reset instead of the 401
// that says what was wrong. As ws's abortHandshake does: end() after the reply, and destroy only once
// the reply has been flushed ('finish') — or after a bound, so a peer that never reads cannot hold
// the socket open.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a refused peer may take to accept the reply before the socket is cut anyway. */
const REJECT_FLUSH_MS = 10_000;

export function rejectUpgrade(
  socket: Duplex,
  status: number,
  message: string = STATUS_CODES[status] ?? 'Error',
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const body = message ? `${message}\n` : '';
  const head = {
    Connection: 'close',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  };
  const lines = Object.entries(head).map(([name, value]) => `${name}: ${value}`);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const cut = setTimeout(() => socket.destroy(), REJECT_FLUSH_MS);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  // Whatever the peer still sends is read and dropped: unread bytes at close make the kernel answer
  // with a reset, which can discard the reply on the peer's side before it reads it.
  socket.resume();
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
}
