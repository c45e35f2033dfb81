import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. Prefer port 0 where the code allows it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
  );
}

/**
 * A block of `span` consecutive ports that were all free a moment ago (a hub's relay range). Below
 * Linux's ephemeral range (32768 and up): there an outgoing connection of a parallel test could take
 * a relay port as its local port between one share closing it and the next listening on it.
 */
export async function freePortBlock(span: number): Promise<{ from: number; to: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const from = 21000 + Math.floor(Math.random() * (32768 - 21000 - span));
    const servers: ReturnType<typeof createServer>[] = [];
    let ok = true;
    for (let p = from; p < from + span && ok; p++) {
      const srv = createServer();
      ok = await new Promise<boolean>((r) => {
        srv.once('error', () => r(false));
        srv.listen(p, '0.0.0.0', () => r(true));
      });
      if (ok) servers.push(srv);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return { from, to: from + span - 1 };
  }
  throw new Error('no free block of ports for the relay');
}
