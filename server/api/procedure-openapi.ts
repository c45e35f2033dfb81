// The hub API's procedures in the hub's OpenAPI document (/api/openapi.json), generated from
// HUB_PROCEDURES: the account-wide REST routes (api-routes.ts `procedureRoute`), and every procedure
// at /trpc, where a query is `GET /trpc/<name>?input=<URL-encoded JSON>`, a mutation `POST /trpc/<name>`
// with the input as the JSON body; the answer is `{"result": {"data": <output>}}`, an error
// `{"error": {"message", "code", "data": {"lattice": {code, message, field?}}}}`.
import { ErrorBody, HUB_PROCEDURES, HUB_PROCEDURE_NAMES } from '../../shared';
import { ERROR_REF, jsonSchemaOf, type JsonObject } from '../../shared/openapi-json';
import type { HubProcedureName } from '../../shared';

/** The REST routes that are procedures (server/http/api-routes.ts); their input from path, query or body. */
const REST_PROCEDURES: { method: string; path: string; name: HubProcedureName; query?: string[] }[] = [
  { method: 'get', path: '/api/nodes', name: 'node.list' },
  { method: 'get', path: '/api/workloads', name: 'workload.list', query: ['node'] },
  { method: 'post', path: '/api/workloads', name: 'workload.deploy' },
  { method: 'get', path: '/api/workloads/{ref}', name: 'workload.get', query: ['node'] },
  { method: 'get', path: '/api/queue', name: 'queue.list', query: ['status', 'node'] },
  { method: 'delete', path: '/api/queue/{id}', name: 'queue.cancel' },
];

export function restProcedurePaths(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const r of REST_PROCEDURES) {
    const def = HUB_PROCEDURES[r.name];
    const params = [
      ...[...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(r.query ?? []).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    ];
    paths[r.path] = {
      ...paths[r.path],
      [r.method]: {
        operationId: `rest.${r.name}`,
        summary: `${def.summary} (= /trpc/${r.name})`,
        tags: ['workloads'],
        ...(params.length ? { parameters: params } : {}),
        ...(r.method === 'post'
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchemaOf(def.input, 'input') } },
              },
            }
          : {}),
        responses: {
          '200': {
            description: 'The result',
            content: { 'application/json': { schema: jsonSchemaOf(def.output, 'output') } },
          },
          default: ERROR_REF,
        },
      },
    };
  }
  return paths;
}

const TRPC_ERROR = {
  description: 'tRPC error; `error.data.lattice` is the contract error body',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: {
              message: { type: 'string' },
              code: { type: 'integer' },
              data: {
                type: 'object',
                properties: { lattice: jsonSchemaOf(ErrorBody, 'output'), httpStatus: { type: 'integer' } },
              },
            },
          },
        },
      },
    },
  },
};

export function trpcPaths(): JsonObject {
  const paths: JsonObject = {};
  for (const name of HUB_PROCEDURE_NAMES) {
    const def = HUB_PROCEDURES[name];
    const input = jsonSchemaOf(def.input, 'input');
    const operation: JsonObject = {
      operationId: `trpc.${name}`,
      summary: def.summary,
      tags: ['trpc'],
      ...(def.auth ? {} : { security: [] }),
      responses: {
        '200': {
          description: 'The result',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  result: { type: 'object', properties: { data: jsonSchemaOf(def.output, 'output') } },
                },
              },
            },
          },
        },
        default: TRPC_ERROR,
      },
    };
    if (def.kind === 'query') {
      operation.parameters = [
        {
          name: 'input',
          in: 'query',
          required: false,
          description: 'The input as URL-encoded JSON',
          content: { 'application/json': { schema: input } },
        },
      ];
      paths[`/trpc/${name}`] = { get: operation };
    } else {
      operation.requestBody = { required: true, content: { 'application/json': { schema: input } } };
      paths[`/trpc/${name}`] =
        name === 'workload.delete'
          ? { post: operation, delete: { ...operation, operationId: 'trpc.workload.delete.DELETE' } }
          : { post: operation };
    }
  }
  return paths;
}
