// One plain TCP proxy hop (the chain baseline: two of these in a row stand where the hub and the
// agent stand on the relay path, with no framing). Routes: one listening port per target.
import { connect, createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { childMain } from './child';

childMain<{ targets: { host: string; port: number }[] }>(async ({ targets }) => {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (const target of targets) {
    const server = createServer({ noDelay: true }, (visitor) => {
      const upstream = connect({ ...target, noDelay: true });
      visitor.pipe(upstream).pipe(visitor);
      const cut = () => {
        visitor.destroy();
        upstream.destroy();
      };
      visitor.on('error', cut).on('close', cut);
      upstream.on('error', cut).on('close', cut);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    ports.push((server.address() as AddressInfo).port);
  }
  return {
    ready: { ports },
    close: async () => {
      for (const s of servers) s.close();
    },
  };
});
