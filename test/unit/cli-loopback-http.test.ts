// The CLI's one-request HTTP client (electron/agent/cli/loopback-http.ts) against Node's own HTTP
// server: bodies with a length and chunked, the request's method, headers and body as the server
// reads them, a refused connection, and answers cut short.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { loopbackRequest, parseResponse } from '../../electron/agent/cli/loopback-http';

let server: Server;
let base: URL;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = {
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      if (req.url === '/slow') {
        // An agent answers after awaiting its command: the request must keep the socket open till then.
        setTimeout(() => res.end(JSON.stringify({ ok: true, value: 'late' })), 50);
      } else if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"ok":true,');
        res.write(`"value":${JSON.stringify(seen)}}`);
        res.end();
      } else if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"ok":false,"error":{"code":"not_found","message":"no"}}');
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, value: seen }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

after(() => server.close());

test('a POST with a JSON body: the server sees method, path, query, headers and body', async () => {
  const body = JSON.stringify({ name: 'pg-é', n: 1 });
  const answer = await loopbackRequest(
    new URL('/api/commands/workload.list?x=1', base),
    'POST',
    { authorization: 'Bearer t0k', 'content-type': 'application/json' },
    body,
  );
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.body.toString('utf8')), {
    ok: true,
    value: {
      method: 'POST',
      url: '/api/commands/workload.list?x=1',
      auth: 'Bearer t0k',
      type: 'application/json',
      body,
    },
  });
});

test('a chunked answer is put back together, a late one awaited; an error status comes with its body', async () => {
  const chunked = await loopbackRequest(new URL('/chunked', base), 'GET', {});
  assert.equal(chunked.status, 200);
  assert.equal(JSON.parse(chunked.body.toString('utf8')).value.method, 'GET');
  const slow = await loopbackRequest(new URL('/slow', base), 'POST', {}, '{}');
  assert.equal(slow.body.toString('utf8'), '{"ok":true,"value":"late"}');
  const missing = await loopbackRequest(new URL('/missing', base), 'GET', {});
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body.toString('utf8')).error.code, 'not_found');
});

test('no server: the socket error keeps its code, for "no agent is running"', async () => {
  const closed = createTcpServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(loopbackRequest(new URL(`http://127.0.0.1:${port}/`), 'GET', {}), {
    code: 'ECONNREFUSED',
  });
});

test('answers cut short or not HTTP are errors, not half a body', async () => {
  const raw = (s: string) => Buffer.from(s, 'latin1');
  assert.deepEqual(parseResponse(raw('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}')).body, raw('{}'));
  assert.deepEqual(
    parseResponse(raw('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n')).body,
    raw('{}'),
  );
  assert.throws(() => parseResponse(raw('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}')), /middle/);
  assert.throws(
    () => parseResponse(raw('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{}')),
    /middle/,
  );
  assert.throws(() => parseResponse(raw('HTTP/1.1 200 OK\r\nContent-Le')), /before answering/);
  assert.throws(() => parseResponse(raw('SSH-2.0-OpenSSH\r\n\r\n')), /not HTTP/);
  await assert.rejects(loopbackRequest(new URL('https://127.0.0.1:1/'), 'GET', {}), /not plain http/);
});
