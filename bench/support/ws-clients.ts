// The client side of bench/hub's memory measurement, in its own process (the open-file limit of 20,000
// cannot hold 10,000 sockets on both ends in one process): opens idle authenticated agent connections
// with the device tokens it is given (or bare ones), and closes them again.
import WebSocket from 'ws';
import { childMain } from './child';

const sockets: WebSocket[] = [];

/** Runs `fn(i)` for i < n with at most `width` at once. */
async function pool(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function openSockets(args: Record<string, unknown>): Promise<{ seconds: number }> {
  const url = (args.url as string).replace(/^http/, 'ws');
  const count = args.count as number;
  const tokens = (args.tokens as string[] | undefined) ?? [];
  const asAgents = tokens.length > 0;
  if (asAgents && tokens.length < count) throw new Error(`${count} sockets but ${tokens.length} tokens`);
  const started = performance.now();
  await pool(count, 64, async (i) => {
    const ws = new WebSocket(asAgents ? `${url}/agent` : url, {
      headers: asAgents ? { authorization: `Bearer ${tokens[i]}` } : {},
      perMessageDeflate: false,
    });
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    if (asAgents) ws.send(JSON.stringify({ type: 'hello', agentVersion: 'bench', name: `idle-${i}` }));
    sockets.push(ws);
  });
  return { seconds: (performance.now() - started) / 1000 };
}

async function closeSockets(): Promise<{ stillOpen: number }> {
  const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  for (const ws of sockets.splice(0)) ws.terminate();
  return { stillOpen: open };
}

childMain(async () => ({
  ready: {},
  handlers: { openSockets, closeSockets },
  close: () => void closeSockets(),
}));
