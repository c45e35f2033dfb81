// GET /api/openapi.json on a real hub: the document is OpenAPI 3.1, lists the hub's routes, and
// every operation it lists is one the hub answers (no "No API route"), checked over HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HUB_PROCEDURES, HUB_PROCEDURE_NAMES } from '../../shared';
import { api, startTestHub, type TestHub } from './hub-fixtures';

/** The hub's REST routes, as a person reading server/http/api-routes.ts would list them. */
const HUB_ROUTES = [
  'GET /api/health',
  'GET /api/openapi.json',
  'POST /api/auth/register',
  'POST /api/auth/login',
  'POST /api/auth/refresh',
  'POST /api/auth/logout',
  'POST /api/auth/password',
  'GET /api/me',
  'POST /api/devices/pairing',
  'POST /api/devices/pair',
  'GET /api/devices',
  'DELETE /api/devices/{id}',
  'POST /api/devices/{id}/commands',
  'GET /api/audit',
  // The account-wide procedures (shared/hub-api.ts) as REST routes…
  'GET /api/nodes',
  'GET /api/workloads',
  'POST /api/workloads',
  'GET /api/workloads/{ref}',
  'GET /api/queue',
  'DELETE /api/queue/{id}',
  // …and every procedure at /trpc: GET for queries, POST for mutations, DELETE for workload.delete too.
  ...HUB_PROCEDURE_NAMES.map(
    (name) => `${HUB_PROCEDURES[name].kind === 'query' ? 'GET' : 'POST'} /trpc/${name}`,
  ),
  'DELETE /trpc/workload.delete',
];

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { operationId: string; security?: unknown[] }>>;
  components: { responses: Record<string, unknown> };
}

describe('the hub describes its API at /api/openapi.json', () => {
  let hub: TestHub;
  let doc: OpenApiDoc;

  before(async () => {
    hub = await startTestHub();
    const res = await api<OpenApiDoc>(hub, 'GET', '/api/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    doc = res.body;
  });
  after(() => hub?.stop());

  test('an OpenAPI 3.1 document with the version the hub reports', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const health = await api<{ version: string }>(hub, 'GET', '/api/health');
    assert.equal(doc.info.version, health.body.version);
    assert.ok(doc.components.responses.Error, 'the shared error response');
  });

  test('it lists every route of the hub, and no other', () => {
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual([...listed].sort(), [...HUB_ROUTES].sort());
  });

  test('every listed operation is answered by the hub, with 401 where it needs a token', async () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const res = await api<{ error?: { message: string } }>(
          hub,
          method.toUpperCase(),
          path.replace('{id}', 'no-such-device'),
          method === 'get' || method === 'delete' ? {} : { raw: '{}' },
        );
        const what = `${method.toUpperCase()} ${path} → ${res.status} ${JSON.stringify(res.body)}`;
        assert.doesNotMatch(res.body?.error?.message ?? '', /No API route/, what);
        assert.notEqual(res.status, 405, what);
        const open = Array.isArray(op.security) && op.security.length === 0;
        if (!open) assert.equal(res.status, 401, what);
        else assert.notEqual(res.status, 401, what);
      }
    }
  });

  test('request bodies come from the contract: the register body is the account credentials schema', () => {
    const register = doc.paths['/api/auth/register'].post as unknown as {
      requestBody: { content: { 'application/json': { schema: { required: string[] } } } };
    };
    assert.deepEqual([...register.requestBody.content['application/json'].schema.required].sort(), [
      'email',
      'password',
    ]);
  });
});
