// Host ports: picked by the agent (not by Docker) so the port is known before the container exists
// and stays the same across restarts; a requested port that is busy is refused before anything is created.
import { createServer } from 'node:net';

/** Whether `port` can be bound on `host` right now. */
export function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port the OS considers free on `host` that is not in `reserved` (ports other workloads hold). */
export async function pickFreePort(host: string, reserved: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen({ port: 0, host, exclusive: true }, () => {
        const { port: p } = srv.address() as { port: number };
        srv.close(() => resolve(p));
      });
    });
    if (!reserved.has(port)) return port;
  }
  throw new Error('Could not find a free host port');
}
