// The two long-lived responses of the local API: server-sent agent events and followed logs (NDJSON).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Agent } from '../agent';

const HEARTBEAT_MS = 15_000;

export function streamEvents(agent: Agent, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // A first comment tells the client the subscription is live (the CLI waits for it before deploying).
  res.write(': connected\n\n');
  const unsubscribe = agent.onEvent((event) => {
    res.write(`data: ${JSON.stringify(event)}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const stop = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.on('close', stop);
  res.on('close', stop);
}

/** Starts following; throws (before any byte is sent) when the workload is unknown, so errors stay JSON. */
export async function streamLogs(
  agent: Agent,
  ref: string,
  tail: number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const pending: string[] = [];
  let started = false;
  const write = (text: string) => (started ? res.write(text) : pending.push(text));
  // The container stopped: end the response, so `lattice logs -f` exits as `docker logs -f` does.
  let endedByDocker = false;
  const stop = await agent.followLogs(
    ref,
    tail,
    (line) => write(`${JSON.stringify(line)}\n`),
    () => (started ? res.end() : (endedByDocker = true)),
  );
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  started = true;
  for (const text of pending.splice(0)) res.write(text);
  if (endedByDocker) res.end();
  let stopped = false;
  const end = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  req.on('close', end);
  res.on('close', end);
  if (res.destroyed) end();
}
