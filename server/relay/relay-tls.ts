// TLS on the relay's public ports, when the hub has a certificate. A share's listener is fronted by a
// TCP server that secures each visitor before the share's own handling sees it (and before the agent
// is asked for a stream, so a refused visitor costs the owner's computer nothing):
//   - `tls`: TLS from the first byte (S3, generic TCP; HTTP shares become HTTPS this way);
//   - `postgres`: Postgres's own negotiation — an `SSLRequest` is answered 'S' and TLS follows; a
//     direct TLS hello (PostgreSQL 17's `sslnegotiation=direct`) must carry ALPN `postgresql`; a
//     startup packet in clear (`sslmode=disable`) gets an ErrorResponse and the socket closes.
// The inner stream toward the agent is the plain protocol (the agent hands it to the service on
// loopback), inside the agent's own TLS link to the hub.
import type { Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Duplex } from 'node:stream';

export type RelayProtection = 'postgres' | 'tls' | 'plain';

/** The Postgres request codes a connection may start with (protocol docs, "Message Formats"). */
export const PG_SSL_REQUEST = 80877103;
export const PG_GSSENC_REQUEST = 80877104;
export const PG_CANCEL_REQUEST = 80877102;
const PG_PROTOCOL_3 = 196608;
const TLS_HANDSHAKE_RECORD = 0x16;

/** A visitor that has not finished negotiating by then is dropped. */
export const NEGOTIATION_TIMEOUT_MS = 10_000;

/** A Postgres ErrorResponse (FATAL, SQLSTATE `code`) as libpq shows it: "FATAL:  <message>". */
export function postgresError(message: string, code = '28000'): Buffer {
  const field = (tag: string, value: string) => Buffer.concat([Buffer.from(tag), Buffer.from(`${value}\0`)]);
  const body = Buffer.concat([
    field('S', 'FATAL'),
    field('V', 'FATAL'),
    field('C', code),
    field('M', message),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

export const TLS_REQUIRED_MESSAGE =
  "TLS required: this Lattice relay accepts only encrypted connections; use the share's connection string (sslmode=verify-full)";

class Refused extends Error {}

/** Reads until at least `n` bytes arrived; leaves the socket paused with nothing buffered past them. */
function readAtLeast(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      socket.pause();
    };
    const onData = (chunk: Buffer) => {
      got = got.length ? Buffer.concat([got, chunk]) : chunk;
      if (got.length < n) return;
      cleanup();
      resolve(got);
    };
    const onEnd = () => {
      cleanup();
      reject(new Refused('the visitor left before negotiating'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

function handshake(socket: Socket, context: SecureContext, alpn?: string[]): Promise<TLSSocket> {
  const secured = new TLSSocket(socket, {
    isServer: true,
    secureContext: context,
    ...(alpn ? { ALPNProtocols: alpn } : {}),
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      secured.off('secure', onSecure);
      reject(err);
    };
    const onSecure = () => {
      secured.off('error', onError);
      resolve(secured);
    };
    secured.once('secure', onSecure);
    secured.once('error', onError);
  });
}

/**
 * Postgres's negotiation on a fresh socket. Resolves with the stream to relay: the TLS socket, or —
 * the one cleartext message let through — the raw socket of a CancelRequest (libpq before 17 sends
 * cancels in clear whatever the sslmode; it carries a backend id and cancel key, never a password).
 */
async function negotiatePostgres(socket: Socket, context: () => SecureContext): Promise<Duplex> {
  for (;;) {
    let first = await readAtLeast(socket, 1);
    if (first[0] === TLS_HANDSHAKE_RECORD) {
      socket.unshift(first);
      const secured = await handshake(socket, context(), ['postgresql']);
      if (secured.alpnProtocol !== 'postgresql') {
        secured.destroy();
        throw new Refused('direct TLS without ALPN postgresql');
      }
      return secured;
    }
    if (first.length < 8) {
      socket.unshift(first);
      first = await readAtLeast(socket, 8);
    }
    const length = first.readInt32BE(0);
    const code = first.readInt32BE(4);
    if (length === 8 && code === PG_SSL_REQUEST) {
      // Bytes sent after an SSLRequest but before our answer would be read as if they had come
      // through TLS (CVE-2021-23214): refuse them, as PostgreSQL does.
      if (first.length > 8) throw new Refused('data after SSLRequest');
      socket.write('S');
      return handshake(socket, context(), ['postgresql']);
    }
    if (length === 8 && code === PG_GSSENC_REQUEST) {
      if (first.length > 8) throw new Refused('data after GSSENCRequest');
      socket.write('N'); // no GSSAPI encryption here; the client goes on with an SSLRequest or gives up
      continue;
    }
    if (length === 16 && code === PG_CANCEL_REQUEST) {
      socket.unshift(first);
      return socket;
    }
    if (code === PG_PROTOCOL_3 || length > 8) {
      socket.end(postgresError(TLS_REQUIRED_MESSAGE));
      throw new Refused('cleartext startup refused');
    }
    throw new Refused('not a Postgres client');
  }
}

/**
 * A TCP server that secures each visitor and hands the result to `inner` as a `connection` (the
 * share's own TCP or HTTP handling, which never listens itself). `context` is read per visitor, so a
 * renewed certificate applies to the next one.
 */
export function tlsFront(
  inner: Server | HttpServer,
  protection: Exclude<RelayProtection, 'plain'>,
  context: () => SecureContext,
  onRefused?: (why: string) => void,
): Server {
  const front = createTcpServer({ pauseOnConnect: true });
  front.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(), NEGOTIATION_TIMEOUT_MS);
    const secured =
      protection === 'postgres' ? negotiatePostgres(socket, context) : handshake(socket, context());
    secured.then(
      (stream) => {
        clearTimeout(timer);
        if (socket.destroyed) return stream.destroy();
        stream.on('error', () => undefined);
        inner.emit('connection', stream);
      },
      (err: Error) => {
        clearTimeout(timer);
        onRefused?.(err.message);
        if (!socket.writableEnded) socket.destroy();
        else socket.once('finish', () => socket.destroy()).setTimeout(2_000, () => socket.destroy());
      },
    );
  });
  return front;
}
