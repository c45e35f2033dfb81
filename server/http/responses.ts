// Writing HTTP answers: JSON with the security headers every response carries, and the mapping from
// the contract's error codes to HTTP statuses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LatticeError, type ErrorBody, type ErrorCode } from '../../shared';
import { parseSafeJson } from './safe-json';

export const MAX_BODY_BYTES = 1024 * 1024;

export const ERROR_STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unknown_command: 400,
  not_found: 404,
  conflict: 409,
  port_taken: 409,
  forbidden: 403,
  pending_approval: 409,
  unauthorized: 401,
  rate_limited: 429,
  docker_unavailable: 503,
  image_not_found: 404,
  pull_failed: 502,
  deploy_failed: 500,
  start_failed: 500,
  stop_failed: 500,
  restart_failed: 500,
  remove_failed: 500,
  health_check_failed: 500,
  share_failed: 502,
  relay_ports_exhausted: 503,
  quota_exceeded: 403,
  device_offline: 503,
  timeout: 504,
  agent_error: 502,
  internal: 500,
};

/** The headers every response of the hub carries. */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

export function baseHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  // All in writeHead: with no header set before (no CORS), Node writes them without its header map.
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  err: unknown,
  headers: Record<string, string> = {},
  status?: number,
): void {
  const body: ErrorBody =
    err instanceof LatticeError ? err.toBody() : { code: 'internal', message: 'Internal error in the hub' };
  sendJson(res, status ?? ERROR_STATUS[body.code], { ok: false, error: body }, headers);
}

/** Methods that change something; they take JSON or nothing. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Refuses a state-changing request whose body is not JSON. A cross-site page can send `text/plain`,
 * `application/x-www-form-urlencoded` or `multipart/form-data` without a CORS preflight; it cannot
 * send `application/json`. A request with no body and no Content-Type carries nothing to act on.
 */
export function unsupportedMediaType(req: IncomingMessage): string | undefined {
  if (!STATE_CHANGING.has(req.method ?? '')) return undefined;
  const type = req.headers['content-type'];
  const mediaType = type?.split(';')[0].trim().toLowerCase();
  if (mediaType === 'application/json') return undefined;
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (type === undefined && !hasBody) return undefined;
  return `${req.method} requests take Content-Type: application/json${type ? ` (got "${type.slice(0, 100)}")` : ''}`;
}

/** Reads a JSON body of at most 1 MiB; a bigger one is refused with 413 before it is buffered. */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new PayloadTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        reject(new PayloadTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(parseSafeJson(text));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

export class PayloadTooLarge extends Error {
  constructor() {
    super('The request body is larger than 1 MiB');
  }
}
