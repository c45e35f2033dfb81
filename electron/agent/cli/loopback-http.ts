// One HTTP/1.1 exchange with the local agent over a plain socket: what a CLI command's one request
// (`AgentClient.command`) needs. node:http would load and compile its client, parser and agent
// modules at every `lattice` start, some 10 ms of CPU, for a single request to 127.0.0.1 that waits
// for the whole answer; the streams (`lattice logs -f`, deploy progress) still use node:http, loaded
// when they are used. The request says `Connection: close`, so the answer ends with the socket; the
// request itself does not half-close it (Node's HTTP server would drop a request whose socket ended
// before it answered).
import { connect } from 'node:net';

export interface LoopbackResponse {
  status: number;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Sends one request to an `http:` URL and resolves with the whole answer. */
export function loopbackRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<LoopbackResponse> {
  if (url.protocol !== 'http:') {
    return Promise.reject(new Error(`The agent's address ${url.origin} is not plain http on this computer`));
  }
  const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (payload) lines.push(`content-length: ${payload.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || 80 });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    socket.write(payload ? Buffer.concat([head, payload]) : head);
  });
}

/** An HTTP/1.1 answer read to the end of the connection: status, and the body it declares. */
export function parseResponse(raw: Buffer): LoopbackResponse {
  const headEnd = raw.indexOf(HEAD_END);
  if (headEnd < 0) throw new Error('The agent closed the connection before answering');
  const [statusLine, ...headerLines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!status) throw new Error(`The agent's answer is not HTTP: ${JSON.stringify(statusLine.slice(0, 40))}`);
  const header = (name: string) =>
    headerLines
      .find((l) => l.slice(0, l.indexOf(':')).trim().toLowerCase() === name)
      ?.slice(name.length + 1)
      .trim();
  const rest = raw.subarray(headEnd + HEAD_END.length);
  if (/\bchunked\b/i.test(header('transfer-encoding') ?? '')) {
    return { status: Number(status[1]), body: dechunk(rest) };
  }
  const length = header('content-length');
  if (length === undefined) return { status: Number(status[1]), body: rest };
  if (!/^\d+$/.test(length) || Number(length) > rest.length) {
    throw new Error('The agent closed the connection in the middle of its answer');
  }
  return { status: Number(status[1]), body: rest.subarray(0, Number(length)) };
}

/** The body of a `Transfer-Encoding: chunked` answer (chunk extensions and trailers ignored). */
function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    const size = lineEnd < 0 ? NaN : parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (!(size > 0) || start + size > data.length) {
      throw new Error('The agent closed the connection in the middle of its answer');
    }
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}
