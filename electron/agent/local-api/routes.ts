// The authenticated /api routes: the generic command door and the REST wrappers around the same dispatcher.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  LatticeError,
  isCommandName,
  isLiveShare,
  type CommandContext,
  type CommandName,
} from '../../../shared';
import type { Agent } from '../agent';
import { HttpError, readJsonBody, sendValue } from './http-io';
import { streamEvents, streamLogs } from './live-streams';

const LOCAL: CommandContext = { door: 'local' };

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

const methodNotAllowed = (allowed: string) =>
  new HttpError(405, { code: 'invalid_argument', message: `Use ${allowed} for this route` });

function flag(url: URL, name: string): boolean {
  const v = url.searchParams.get(name);
  return v === '1' || v === 'true' || v === '';
}

function tailParam(url: URL): number | undefined {
  const raw = url.searchParams.get('tail');
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) {
    throw new LatticeError('invalid_argument', `tail=${raw}: must be a whole number from 0 to 10000`, 'tail');
  }
  return n;
}

/** Answers one /api request (already authenticated). */
export async function handleApiRoute(agent: Agent, { req, res, url }: RouteRequest): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname;
  const run = async (name: CommandName, args: unknown) =>
    sendValue(res, await agent.dispatch(name, args, LOCAL));

  if (path === '/api/events') {
    if (method !== 'GET') throw methodNotAllowed('GET');
    return streamEvents(agent, req, res);
  }

  const command = /^\/api\/commands\/([^/]+)$/.exec(path);
  if (command) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    const name = decodeURIComponent(command[1]);
    if (!isCommandName(name)) throw new LatticeError('unknown_command', `Unknown command "${name}"`);
    return run(name, await readJsonBody(req));
  }

  if (path === '/api/workloads/deploy') {
    if (method !== 'POST') throw methodNotAllowed('POST');
    return run('workload.deploy', await readJsonBody(req));
  }
  if (path === '/api/workloads') {
    if (method !== 'GET') throw methodNotAllowed('GET');
    return run('workload.list', undefined);
  }

  const one = /^\/api\/workloads\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  if (one) {
    const ref = decodeURIComponent(one[1]);
    const action = one[2];
    switch (action) {
      case undefined:
        if (method === 'GET') return run('workload.get', { ref });
        if (method === 'DELETE') return run('workload.delete', { ref, volumes: flag(url, 'volumes') });
        throw methodNotAllowed('GET or DELETE');
      case 'start':
      case 'stop':
      case 'restart':
      case 'approve':
        if (method !== 'POST') throw methodNotAllowed('POST');
        return run(`workload.${action}`, { ref });
      case 'logs': {
        if (method !== 'GET') throw methodNotAllowed('GET');
        const tail = tailParam(url);
        if (flag(url, 'follow')) return streamLogs(agent, ref, tail ?? 200, req, res);
        return run('workload.logs', tail === undefined ? { ref } : { ref, tail });
      }
      case 'stats':
        if (method !== 'GET') throw methodNotAllowed('GET');
        return run('workload.stats', { ref });
      case 'tunnel': {
        if (method !== 'GET') throw methodNotAllowed('GET');
        const workload = await agent.dispatch('workload.get', { ref }, LOCAL);
        const shares = await agent.dispatch('share.list', {}, LOCAL);
        const mine = shares.filter((s) => s.workloadId === workload.id && isLiveShare(s));
        const share = mine.find((s) => s.status === 'active') ?? mine[0];
        if (!share) throw new LatticeError('not_found', `Workload "${workload.name}" is not shared`);
        return sendValue(res, share);
      }
    }
  }
  throw new LatticeError('not_found', `No route ${method} ${path}`);
}
