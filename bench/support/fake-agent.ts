// The agent end of bench/hub's command round trips: answers every command at once with an empty
// list (a valid `workload.list` result), so the time measured is the hub's and the transport's.
// Speaks the hub protocol, which the mini relay of hub-server.ts speaks too.
import WebSocket from 'ws';
import { childMain } from './child';

childMain<{ url: string; deviceToken?: string }>(async ({ url, deviceToken }) => {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/agent', {
    headers: deviceToken ? { authorization: `Bearer ${deviceToken}` } : {},
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', agentVersion: 'bench', name: 'bench-agent' }));
  let answered = 0;
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { type: string; id: string };
    if (msg.type !== 'command') return;
    answered++;
    ws.send(JSON.stringify({ type: 'result', id: msg.id, result: { ok: true, value: [] } }));
  });
  return { ready: {}, handlers: { answered: () => answered }, close: () => ws.close() };
});
