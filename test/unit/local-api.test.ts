// The local API's doors and walls, against a fake agent: token, cookie login, Host/Origin checks, limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  existsSync,
  mkdirSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import {
  COMMAND_NAMES,
  DATA_FILES,
  LatticeError,
  SESSION_COOKIE,
  type AgentEvent,
  type CommandContext,
} from '../../shared';
import type { Agent } from '../../electron/agent/agent';
import { startLocalApi, type LocalApi } from '../../electron/agent/local-api';
import { sampleWorkload } from '../helpers/samples';

const workload = sampleWorkload();

function fakeAgent(dataDir: string) {
  const calls: { name: string; args: unknown; ctx: CommandContext }[] = [];
  const listeners = new Set<(e: AgentEvent) => void>();
  const agent: Agent = {
    dataDir,
    ownerId: 'owner',
    dispatch: (async (name: string, args: unknown, ctx: CommandContext) => {
      calls.push({ name, args, ctx });
      if (name === 'workload.get' && (args as { ref: string }).ref !== 'db') {
        throw new LatticeError('not_found', 'No workload "nosuch"');
      }
      if (name === 'workload.deploy' && (args as { privileged?: boolean })?.privileged) {
        throw new LatticeError('forbidden', 'privileged containers are refused', 'privileged');
      }
      if (name === 'workload.list') return [workload];
      if (name === 'share.list') return [];
      return workload;
    }) as Agent['dispatch'],
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async followLogs(_ref, _tail, onLine) {
      onLine({ stream: 'stdout', text: 'hello' });
      return () => undefined;
    },
    async wake() {},
    async close() {},
  };
  return { agent, calls, emit: (e: AgentEvent) => listeners.forEach((l) => l(e)) };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: () => { ok: boolean; value?: unknown; error?: { code: string; message: string } };
}

function call(
  api: LocalApi,
  method: string,
  path: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: api.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          json: () => JSON.parse(text),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local API', () => {
  let dataDir: string;
  let api: LocalApi;
  let fake: ReturnType<typeof fakeAgent>;
  let token: string;
  const bearer = () => ({ authorization: `Bearer ${token}` });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lattice-api-'));
    fake = fakeAgent(dataDir);
    api = await startLocalApi(fake.agent, { port: 0, consoleDir: join(dataDir, 'no-console') });
    token = readFileSync(join(dataDir, DATA_FILES.apiToken), 'utf8').trim();
  });
  after(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 only, with a 0600 token file of 256 bits and an agent.json', () => {
    const address = api.server.address() as { address: string; family: string; port: number };
    assert.equal(address.address, '127.0.0.1');
    assert.equal(address.port, api.port);
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dataDir, DATA_FILES.apiToken)).mode & 0o777, 0o600);
    const running = JSON.parse(readFileSync(join(dataDir, DATA_FILES.running), 'utf8'));
    assert.equal(running.url, api.url);
    assert.equal(running.pid, process.pid);
    assert.equal(statSync(join(dataDir, DATA_FILES.running)).mode & 0o777, 0o600);
  });

  test('401 without a token or with a wrong one', async () => {
    const none = await call(api, 'GET', '/api/workloads');
    assert.equal(none.status, 401);
    assert.equal(none.json().error?.code, 'unauthorized');
    const wrong = await call(api, 'GET', '/api/workloads', {
      headers: { authorization: `Bearer ${'0'.repeat(64)}` },
    });
    assert.equal(wrong.status, 401);
    assert.equal(fake.calls.length, 0);
  });

  test('the API token works on the command door and the REST routes, as the local door', async () => {
    const list = await call(api, 'POST', '/api/commands/workload.list', { headers: bearer() });
    assert.equal(list.status, 200);
    assert.deepEqual(list.json(), { ok: true, value: [workload] });
    assert.deepEqual(fake.calls.at(-1)?.ctx, { door: 'local' });
    const rest = await call(api, 'GET', '/api/workloads/db', { headers: bearer() });
    assert.equal(rest.status, 200);
    assert.deepEqual(fake.calls.at(-1)?.args, { ref: 'db' });
    const del = await call(api, 'DELETE', '/api/workloads/db?volumes=1', { headers: bearer() });
    assert.equal(del.status, 200);
    assert.deepEqual(fake.calls.at(-1), {
      name: 'workload.delete',
      args: { ref: 'db', volumes: true },
      ctx: { door: 'local' },
    });
  });

  test('errors carry their code and HTTP status', async () => {
    const missing = await call(api, 'GET', '/api/workloads/nosuch', { headers: bearer() });
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error?.code, 'not_found');
    const refused = await call(api, 'POST', '/api/workloads/deploy', {
      headers: bearer(),
      body: JSON.stringify({ template: 'custom', image: 'x', privileged: true }),
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.json().error?.code, 'forbidden');
    const unknown = await call(api, 'POST', '/api/commands/docker.exec', { headers: bearer(), body: '{}' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json().error?.code, 'unknown_command');
  });

  test('403 for a foreign Host (DNS rebinding), even with the token', async () => {
    const before = fake.calls.length;
    const res = await call(api, 'GET', '/api/workloads', {
      headers: { ...bearer(), host: `evil.example:${api.port}` },
    });
    assert.equal(res.status, 403);
    assert.equal(res.json().error?.code, 'forbidden');
    const other = await call(api, 'GET', '/api/health', { headers: { host: `127.0.0.1:${api.port + 1}` } });
    assert.equal(other.status, 403);
    const local = await call(api, 'GET', '/api/health', { headers: { host: `localhost:${api.port}` } });
    assert.equal(local.status, 200);
    assert.equal((JSON.parse(local.body) as { service: string }).service, 'agent');
    assert.equal(fake.calls.length, before);
  });

  test('413 on a body over 1 MiB, 400 on malformed JSON, and nothing dispatched', async () => {
    const before = fake.calls.length;
    const big = await call(api, 'POST', '/api/commands/workload.deploy', {
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: Buffer.alloc(1024 * 1024 + 10, 0x20),
    });
    assert.equal(big.status, 413);
    const bad = await call(api, 'POST', '/api/commands/workload.deploy', {
      headers: bearer(),
      body: '{"template":',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error?.code, 'invalid_argument');
    assert.equal(fake.calls.length, before);
  });

  test('console login: the one-time token works once, the cookie opens the API, Origin is checked', async () => {
    const login = new URL(api.consoleLoginUrl);
    assert.equal(login.origin, api.url);
    const first = await call(api, 'GET', login.pathname + login.search);
    assert.equal(first.status, 302);
    assert.equal(first.headers.location, '/');
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=`));
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\//);
    const again = await call(api, 'GET', login.pathname + login.search);
    assert.equal(again.status, 401);
    assert.equal(again.headers['set-cookie'], undefined);

    const cookie = setCookie.split(';')[0];
    const get = await call(api, 'GET', '/api/workloads', { headers: { cookie } });
    assert.equal(get.status, 200);
    const origin = api.url;
    const post = await call(api, 'POST', '/api/commands/workload.list', { headers: { cookie, origin } });
    assert.equal(post.status, 200);
    const cross = await call(api, 'POST', '/api/commands/workload.list', {
      headers: { cookie, origin: 'http://evil.example' },
    });
    assert.equal(cross.status, 403);
    const noOrigin = await call(api, 'POST', '/api/workloads/db/stop', { headers: { cookie } });
    assert.equal(noOrigin.status, 403);
    const forged = await call(api, 'GET', '/api/workloads', {
      headers: { cookie: `${SESSION_COOKIE}=forged` },
    });
    assert.equal(forged.status, 401);
  });

  test('POST /api/session trades a one-time token once, and refuses a foreign Origin', async () => {
    const ott = new URL(api.newConsoleLoginUrl()).searchParams.get('token') ?? '';
    const foreign = await call(api, 'POST', '/api/session', {
      headers: { origin: 'http://evil.example' },
      body: JSON.stringify({ token: ott }),
    });
    assert.equal(foreign.status, 403);
    const ok = await call(api, 'POST', '/api/session', {
      headers: { origin: api.url },
      body: JSON.stringify({ token: ott }),
    });
    assert.equal(ok.status, 200);
    assert.match(String(ok.headers['set-cookie']), /HttpOnly/);
    const reused = await call(api, 'POST', '/api/session', {
      headers: { origin: api.url },
      body: JSON.stringify({ token: ott }),
    });
    assert.equal(reused.status, 401);
    const byApiToken = await call(api, 'POST', '/api/session', { body: JSON.stringify({ token }) });
    assert.equal(byApiToken.status, 200);
  });

  test('openapi.json (no auth) lists every command and the REST routes', async () => {
    const res = await call(api, 'GET', '/api/openapi.json');
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\.1/);
    for (const name of COMMAND_NAMES) assert.ok(doc.paths[`/api/commands/${name}`], `missing ${name}`);
    for (const p of [
      '/api/workloads/deploy',
      '/api/workloads',
      '/api/workloads/{id}/logs',
      '/api/workloads/{id}/tunnel',
      '/api/events',
    ]) {
      assert.ok(doc.paths[p], `missing ${p}`);
    }
    const deploy = doc.paths['/api/commands/workload.deploy'] as {
      post: { requestBody: { content: Record<string, { schema: unknown }> } };
    };
    assert.match(JSON.stringify(deploy.post.requestBody.content['application/json'].schema), /postgres/);
  });

  test('events stream as SSE, logs follow as NDJSON, tunnel is 404 without a share', async () => {
    const events = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: api.port, path: '/api/events', headers: bearer(), agent: false },
        (res) => {
          assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (text.includes(': connected')) fake.emit({ type: 'workload.removed', id: 'w1', name: 'db' });
            if (text.includes('data: ')) {
              req.destroy();
              resolve(text);
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.match(events, /data: \{"type":"workload\.removed","id":"w1","name":"db"\}\n\n/);

    const logs = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: api.port,
          path: '/api/workloads/db/logs?tail=5&follow=1',
          headers: bearer(),
          agent: false,
        },
        (res) => {
          assert.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8');
          res.once('data', (c: Buffer) => {
            req.destroy();
            resolve(c.toString());
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(JSON.parse(logs.trim()), { stream: 'stdout', text: 'hello' });
    const badTail = await call(api, 'GET', '/api/workloads/db/logs?tail=-1', { headers: bearer() });
    assert.equal(badTail.status, 400);
    const tunnel = await call(api, 'GET', '/api/workloads/db/tunnel', { headers: bearer() });
    assert.equal(tunnel.status, 404);
  });

  test('serves the console shell with a strict CSP, falling back to index.html for client routes', async () => {
    const dir = join(dataDir, 'console');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
    const withConsole = await startLocalApi(fakeAgent(dataDir).agent, { port: 0, consoleDir: dir });
    try {
      const shell = await call(withConsole, 'GET', '/workloads/db');
      assert.equal(shell.status, 200);
      assert.match(shell.body, /id="root"/);
      assert.match(String(shell.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.match(String(shell.headers['content-security-policy']), /script-src 'self';/);
      assert.equal(shell.headers['x-content-type-options'], 'nosniff');
      const js = await call(withConsole, 'GET', '/assets/app.js');
      assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
      const escape = await call(withConsole, 'GET', '/../../api-token');
      assert.doesNotMatch(escape.body, /[0-9a-f]{64}/);
      const missing = await call(withConsole, 'GET', '/assets/nope.js');
      assert.equal(missing.status, 404);
    } finally {
      await withConsole.close();
    }
  });

  test('an api-token file readable by others is replaced; close removes agent.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lattice-api-'));
    const file = join(dir, DATA_FILES.apiToken);
    writeFileSync(file, 'a'.repeat(64));
    chmodSync(file, 0o644);
    const other = await startLocalApi(fakeAgent(dir).agent, { port: 0 });
    const replaced = readFileSync(file, 'utf8').trim();
    assert.notEqual(replaced, 'a'.repeat(64));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    await other.close();
    assert.equal(existsSync(join(dir, DATA_FILES.running)), false);
    // A correct file is reused, so a restarted agent keeps working with the CLI's token.
    const again = await startLocalApi(fakeAgent(dir).agent, { port: 0 });
    assert.equal(readFileSync(file, 'utf8').trim(), replaced);
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
