// The hub's account-wide procedures answer in tRPC's envelope (`{result: {data}}` or `{error: {message,
// data: {lattice}}}`); this turns one into the Result every view reads, checked against the contract.
import {
  ErrorBody,
  HUB_PROCEDURES,
  type HubProcedureName,
  type HubProcedureOutput,
  type Result,
} from '../../../shared';

/** The request a procedure becomes: queries are GET with `?input=`, mutations POST with a JSON body. */
export function procedureRequest(
  name: HubProcedureName,
  input: unknown,
): { method: 'GET' | 'POST'; path: string; body?: unknown } {
  const path = `/trpc/${name}`;
  if (HUB_PROCEDURES[name].kind === 'mutation') return { method: 'POST', path, body: input ?? {} };
  return {
    method: 'GET',
    path: input === undefined ? path : `${path}?input=${encodeURIComponent(JSON.stringify(input))}`,
  };
}

/** Reads a tRPC reply body: the output parsed with the procedure's schema, or the contract's error. */
export function readProcedureReply<K extends HubProcedureName>(
  name: K,
  status: number,
  body: unknown,
): Result<HubProcedureOutput<K>> {
  const envelope = (body ?? {}) as {
    result?: { data?: unknown };
    error?: { message?: unknown; data?: unknown };
  };
  if (envelope.error) {
    const lattice = ErrorBody.safeParse((envelope.error.data as { lattice?: unknown } | undefined)?.lattice);
    if (lattice.success) return { ok: false, error: lattice.data };
    const message = typeof envelope.error.message === 'string' ? envelope.error.message : `HTTP ${status}`;
    return { ok: false, error: { code: status === 401 ? 'unauthorized' : 'internal', message } };
  }
  if (!envelope.result) {
    return {
      ok: false,
      error: { code: 'internal', message: `The hub sent an unexpected reply (HTTP ${status})` },
    };
  }
  const parsed = HUB_PROCEDURES[name].output.safeParse(envelope.result.data);
  if (!parsed.success) {
    return {
      ok: false,
      error: { code: 'internal', message: `The hub's answer to ${name} does not match the contract` },
    };
  }
  return { ok: true, value: parsed.data as HubProcedureOutput<K> };
}
