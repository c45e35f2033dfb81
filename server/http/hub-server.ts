// The hub's HTTP(S) server before anything is routed to it: TLS when given PEM files, timeouts, a
// plain 400 for requests the parser rejects, and listening. Handlers are attached by startHub once
// the context they need (which depends on the port the OS picked) exists.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rejectUpgrade } from '../sockets/reject-upgrade';

export function createHubServer(tls?: { certPem: string; keyPem: string }): Server {
  const server: Server = tls ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem }) : createHttpServer();
  // Slow-header and slow-body clients are cut instead of holding sockets forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000 * 3;
  server.on('clientError', (_err, socket) => rejectUpgrade(socket, 400));
  return server;
}

/** Listens and resolves with the port (the one the OS chose for port 0). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
