// JSON in and out of node:http, with the error shape and status codes every client of the local API expects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ErrorCode, LatticeError, fromZodError, type ErrorBody } from '../../../shared';

export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_argument: 400,
  unknown_command: 404,
  not_found: 404,
  conflict: 409,
  port_taken: 409,
  forbidden: 403,
  pending_approval: 202,
  unauthorized: 401,
  rate_limited: 429,
  docker_unavailable: 503,
  timeout: 504,
};

export const statusForCode = (code: ErrorCode): number => STATUS[code] ?? 500;

/** Any thrown value as the contract's error body; unknown errors become `internal`. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof LatticeError) return err.toBody();
  if (err instanceof z.ZodError) return fromZodError(err).toBody();
  // A LatticeError from another copy of the module (bundles): trust its shape, not its prototype.
  const e = err as { code?: unknown; message?: unknown; field?: unknown } | null;
  if (e && ErrorCode.safeParse(e.code).success && typeof e.message === 'string') {
    return new LatticeError(
      e.code as ErrorCode,
      e.message,
      typeof e.field === 'string' ? e.field : undefined,
    ).toBody();
  }
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown) {
  const error = toErrorBody(err);
  sendJson(res, statusForCode(error.code), { ok: false, error });
}

export const sendValue = (res: ServerResponse, value: unknown) => sendJson(res, 200, { ok: true, value });

/** An error the API answers with its own HTTP status (413), outside the error-code table. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
}

/** Reads a JSON body of at most 1 MiB; an empty body is `undefined` (commands then take their defaults). */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const tooLarge = () =>
    new HttpError(413, {
      code: 'invalid_argument',
      message: `Request body is larger than ${MAX_BODY_BYTES} bytes`,
    });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new LatticeError('invalid_argument', `Request body is not valid JSON: ${(err as Error).message}`);
  }
}
