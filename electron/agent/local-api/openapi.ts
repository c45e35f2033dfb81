// The OpenAPI 3.1 description of the local API, generated from the same zod schemas the dispatcher uses,
// so the document cannot drift from what the agent accepts (the JSON Schema part is shared with the
// hub's document: shared/openapi-json.ts).
import { COMMANDS, COMMAND_NAMES, LOCAL_API, LogLine, Share, type CommandName } from '../../../shared';
import {
  ERROR_REF,
  ERROR_RESPONSE,
  jsonSchemaOf as schemaOf,
  okEnvelope as okOf,
  type JsonObject as Json,
} from '../../../shared/openapi-json';

const errors = { '400': ERROR_REF, '401': ERROR_REF, '404': ERROR_REF, default: ERROR_REF };

const jsonResponse = (description: string, schema: Json) => ({
  description,
  content: { 'application/json': { schema: okOf(schema) } },
});

const resultOf = (name: CommandName) => schemaOf(COMMANDS[name].result, 'output');
const refParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Workload name or id',
  schema: { type: 'string' },
};

function commandPaths(): Json {
  const paths: Json = {};
  for (const name of COMMAND_NAMES) {
    const def = COMMANDS[name];
    paths[LOCAL_API.command(name)] = {
      post: {
        operationId: name,
        summary: def.summary,
        tags: ['commands'],
        requestBody: {
          required: false,
          content: { 'application/json': { schema: schemaOf(def.args, 'input') } },
        },
        responses: { '200': jsonResponse('Result', resultOf(name)), ...errors },
      },
    };
  }
  return paths;
}

function restPaths(): Json {
  const workloadAction = (name: CommandName) => ({
    post: {
      operationId: `rest.${name}`,
      summary: COMMANDS[name].summary,
      tags: ['workloads'],
      parameters: [refParam],
      responses: { '200': jsonResponse('The workload', resultOf(name)), ...errors },
    },
  });
  return {
    '/api/workloads/deploy': {
      post: {
        operationId: 'rest.workload.deploy',
        summary: COMMANDS['workload.deploy'].summary,
        tags: ['workloads'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemaOf(COMMANDS['workload.deploy'].args, 'input') } },
        },
        responses: { '200': jsonResponse('The deployed workload', resultOf('workload.deploy')), ...errors },
      },
    },
    '/api/workloads': {
      get: {
        operationId: 'rest.workload.list',
        summary: COMMANDS['workload.list'].summary,
        tags: ['workloads'],
        responses: { '200': jsonResponse('Workloads', resultOf('workload.list')), ...errors },
      },
    },
    '/api/workloads/{id}': {
      get: {
        operationId: 'rest.workload.get',
        summary: COMMANDS['workload.get'].summary,
        tags: ['workloads'],
        parameters: [refParam],
        responses: { '200': jsonResponse('The workload', resultOf('workload.get')), ...errors },
      },
      delete: {
        operationId: 'rest.workload.delete',
        summary: COMMANDS['workload.delete'].summary,
        tags: ['workloads'],
        parameters: [
          refParam,
          {
            name: 'volumes',
            in: 'query',
            description: '1 to remove its volumes too',
            schema: { enum: ['0', '1'] },
          },
        ],
        responses: { '200': jsonResponse('Deleted', resultOf('workload.delete')), ...errors },
      },
    },
    '/api/workloads/{id}/start': workloadAction('workload.start'),
    '/api/workloads/{id}/stop': workloadAction('workload.stop'),
    '/api/workloads/{id}/restart': workloadAction('workload.restart'),
    '/api/workloads/{id}/approve': workloadAction('workload.approve'),
    '/api/workloads/{id}/logs': {
      get: {
        operationId: 'rest.workload.logs',
        summary: 'Recent log lines, or a live NDJSON stream of LogLine with follow=1',
        tags: ['workloads'],
        parameters: [
          refParam,
          { name: 'tail', in: 'query', schema: { type: 'integer', minimum: 0, maximum: 10000 } },
          { name: 'follow', in: 'query', schema: { enum: ['0', '1'] } },
        ],
        responses: {
          '200': {
            description: 'Log lines',
            content: {
              'application/json': { schema: okOf(resultOf('workload.logs')) },
              'application/x-ndjson': { schema: schemaOf(LogLine, 'output') },
            },
          },
          ...errors,
        },
      },
    },
    '/api/workloads/{id}/stats': {
      get: {
        operationId: 'rest.workload.stats',
        summary: COMMANDS['workload.stats'].summary,
        tags: ['workloads'],
        parameters: [refParam],
        responses: { '200': jsonResponse('Stats', resultOf('workload.stats')), ...errors },
      },
    },
    '/api/workloads/{id}/tunnel': {
      get: {
        operationId: 'rest.workload.tunnel',
        summary: "The workload's active share (404 when it has none)",
        tags: ['workloads'],
        parameters: [refParam],
        responses: { '200': jsonResponse('The share', schemaOf(Share, 'output')), ...errors },
      },
    },
    [LOCAL_API.events]: {
      get: {
        operationId: 'events',
        summary: 'Server-sent events: one `data:` line per AgentEvent, comment heartbeats',
        tags: ['events'],
        responses: {
          '200': { description: 'Event stream', content: { 'text/event-stream': {} } },
          ...errors,
        },
      },
    },
    [LOCAL_API.session]: {
      post: {
        operationId: 'session',
        summary: 'Exchange the one-time console token (or the API token) for a session cookie',
        tags: ['auth'],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
            },
          },
        },
        responses: { '200': jsonResponse('Session started', { type: 'object' }), ...errors },
      },
    },
    [LOCAL_API.health]: {
      get: {
        operationId: 'health',
        summary: 'Which service answers, and its version',
        tags: ['meta'],
        security: [],
        responses: {
          '200': {
            description: 'Health',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { service: { const: 'agent' }, version: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
  };
}

export function buildOpenApi(version: string): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lattice agent local API',
      version,
      description:
        'Loopback-only API of a Lattice agent. Authenticate with `Authorization: Bearer <api-token>` ' +
        '(the `api-token` file in the data directory) or the console session cookie.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { cookie: [] }],
    paths: { ...commandPaths(), ...restPaths() },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'lattice_console' },
      },
      responses: { Error: ERROR_RESPONSE },
    },
  };
}
