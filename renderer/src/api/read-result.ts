// Reading the {ok, value} | {ok: false, error} replies of the agent and hub APIs.
import type { ErrorBody, Result } from '../../../shared';

export const networkError = (what: string, err: unknown): ErrorBody => ({
  code: 'internal',
  message: `${what}: ${err instanceof Error ? err.message : String(err)}`,
});

/** Parses a Result body, turning an unexpected reply into a readable error. */
export async function readResult<T>(res: Response): Promise<Result<T>> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { ok: false, error: { code: 'internal', message: `Unexpected reply (HTTP ${res.status})` } };
  }
  if (body && typeof body === 'object' && 'ok' in body) return body as Result<T>;
  if (res.status === 401) return { ok: false, error: { code: 'unauthorized', message: 'Not signed in' } };
  const error = (body as { error?: ErrorBody } | null)?.error;
  if (error && typeof error.message === 'string') return { ok: false, error };
  return res.ok
    ? { ok: true, value: body as T }
    : { ok: false, error: { code: 'internal', message: `HTTP ${res.status}` } };
}
