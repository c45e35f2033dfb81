// The headless console: the agent's loopback API (shared/local-api.ts) with a session cookie.
import { AgentEvent, LOCAL_API, LogLine, type ErrorBody, type Result } from '../../../shared';
import type { ConsoleApi, StreamState } from './console-api';
import { Listeners } from './listeners';
import { networkError, readResult } from './read-result';

const RECONNECT_MS = 2000;

/** Reads an NDJSON body line by line, calling `onValue` for each parsed line. */
export async function readNdjson(
  body: ReadableStream<Uint8Array>,
  onValue: (value: unknown) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) onValue(JSON.parse(line));
    }
  }
  if (buffered.trim()) onValue(JSON.parse(buffered));
}

/** Exchanges the token printed by `lattice agent` for a session cookie. */
export async function startHttpSession(token: string, base = ''): Promise<Result<true>> {
  try {
    const res = await fetch(base + LOCAL_API.session, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    if (res.ok) return { ok: true, value: true };
    const body = await readResult<unknown>(res);
    return body.ok
      ? { ok: false, error: { code: 'unauthorized', message: 'That token was not accepted' } }
      : body;
  } catch (err) {
    return { ok: false, error: networkError('Could not reach the agent', err) };
  }
}

export function createHttpApi(base = ''): ConsoleApi {
  const events = new Listeners<AgentEvent>();
  const states = new Listeners<StreamState>();
  let state: StreamState = 'connecting';
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const setState = (next: StreamState) => {
    if (next === state) return;
    state = next;
    states.emit(next);
  };

  const connect = () => {
    if (closed || source) return;
    const es = new EventSource(base + LOCAL_API.events, { withCredentials: true });
    source = es;
    es.onopen = () => setState('live');
    es.onmessage = (msg) => {
      const parsed = AgentEvent.safeParse(JSON.parse(msg.data as string));
      if (parsed.success) events.emit(parsed.data);
    };
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED) {
        // The browser keeps retrying on its own; until it is back, the agent is unreachable.
        setState('down');
        return;
      }
      // The browser gave up (a 401, or the agent went away): find out which, then retry.
      es.close();
      source = undefined;
      void fetch(base + LOCAL_API.health, { credentials: 'same-origin' })
        .then(() =>
          fetch(base + LOCAL_API.command('settings.get'), {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          }),
        )
        .then((res) => setState(res.status === 401 ? 'unauthorized' : 'down'))
        .catch(() => setState('down'))
        .finally(() => {
          if (state !== 'unauthorized' && !closed) retry = setTimeout(connect, RECONNECT_MS);
        });
    };
  };

  return {
    kind: 'http',
    async invoke(name, args) {
      try {
        const res = await fetch(base + LOCAL_API.command(name), {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(args ?? {}),
        });
        if (res.status === 401) setState('unauthorized');
        // A fresh session cookie works again: let the stream reconnect instead of re-prompting.
        else if (state === 'unauthorized') setState('connecting');
        return await readResult(res);
      } catch (err) {
        return { ok: false, error: networkError('Could not reach the agent', err) };
      }
    },
    onEvent(listener) {
      const off = events.add(listener);
      connect();
      return off;
    },
    onStreamState(listener) {
      queueMicrotask(() => listener(state));
      return states.add(listener);
    },
    followLogs(ref, tail, onLine, onError) {
      const abort = new AbortController();
      const fail = (e: ErrorBody) => {
        if (!abort.signal.aborted) onError?.(e);
      };
      void (async () => {
        try {
          const res = await fetch(`${base}${LOCAL_API.logs(ref)}?tail=${tail}&follow=1`, {
            credentials: 'same-origin',
            signal: abort.signal,
          });
          if (!res.ok || !res.body) {
            const body = await readResult<unknown>(res);
            fail(body.ok ? { code: 'internal', message: `HTTP ${res.status}` } : body.error);
            return;
          }
          await readNdjson(res.body, (value) => {
            const line = LogLine.safeParse(value);
            if (line.success) onLine(line.data);
          });
        } catch (err) {
          fail(networkError('Log stream ended', err));
        }
      })();
      return () => abort.abort();
    },
    close() {
      closed = true;
      clearTimeout(retry);
      source?.close();
      source = undefined;
    },
  };
}
