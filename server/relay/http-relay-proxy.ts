// HTTP shares: the hub parses each visitor request (so it can check basic auth per request) and
// forwards it over one relay stream per request — the stream stands in for the TCP connection of an
// ordinary reverse proxy, through `http.request({ createConnection })`.
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Duplex } from 'node:stream';

/** Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the hub's own credentials. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardedHeaders(req: IncomingMessage, stripAuthorization: boolean): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  const named = new Set(
    String(req.headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [key, value] of Object.entries(req.headers)) {
    if (HOP_BY_HOP.has(key) || named.has(key)) continue;
    if (stripAuthorization && key === 'authorization') continue;
    headers[key] = value;
  }
  const remote = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${String(headers['x-forwarded-for'])}, ${remote}`
    : remote;
  headers['x-forwarded-proto'] = 'http';
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  // One stream carries one request: the workload closes it after the response.
  headers.connection = 'close';
  return headers;
}

function responseHeaders(res: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(res.headers)) {
    if (value === undefined || HOP_BY_HOP.has(key)) continue;
    out[key] = value;
  }
  return out;
}

/** Sends `req` through `stream` and the answer back to `res`; `done` runs once either way. */
export function proxyHttpRequest(
  req: IncomingMessage,
  res: ServerResponse,
  stream: Duplex,
  opts: { stripAuthorization: boolean },
  done: (err?: Error) => void,
): void {
  let finished = false;
  const finish = (err?: Error) => {
    if (finished) return;
    finished = true;
    done(err);
  };
  const upstream = request({
    method: req.method,
    path: req.url,
    headers: forwardedHeaders(req, opts.stripAuthorization),
    setHost: false,
    createConnection: () => stream as unknown as Socket,
  });
  upstream.on('response', (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes));
    pipeline(upRes, res, (err) => finish(err ?? undefined));
  });
  upstream.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('The shared service did not answer.\n');
    } else {
      res.destroy(err);
    }
    finish(err);
  });
  pipeline(req, upstream, (err) => {
    if (err) finish(err);
  });
}

/** A WebSocket (or other) upgrade through an HTTP share: replay the request head, then raw bytes both ways. */
export function proxyHttpUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  stream: Duplex,
  opts: { stripAuthorization: boolean },
  done: (err?: Error) => void,
): void {
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    if (opts.stripAuthorization && name.toLowerCase() === 'authorization') continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  stream.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length) stream.write(head);
  pipeline(socket, stream, socket, (err) => done(err ?? undefined));
}
