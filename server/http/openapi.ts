// The OpenAPI 3.1 description of the hub's JSON API (served at /api/openapi.json), generated from the
// contract's zod schemas in shared/ as the agent's local API document is, so the two cannot drift
// from what the hub accepts and answers.
import { z } from 'zod';
import {
  AccountCredentials,
  AuthResponse,
  COMMANDS,
  Device,
  HubUser,
  PairRedeem,
  PairRedeemResponse,
  PairingCode,
  RegisterResponse,
  RelayCommand,
} from '../../shared';
import {
  ERROR_REF,
  ERROR_RESPONSE,
  jsonSchemaOf,
  okEnvelope,
  type JsonObject,
} from '../../shared/openapi-json';
import { restProcedurePaths, trpcPaths } from '../api/procedure-openapi';

/** The path of this document, on the hub as on the agent. */
export const HUB_OPENAPI_PATH = '/api/openapi.json';

const errors = { '400': ERROR_REF, '401': ERROR_REF, '404': ERROR_REF, default: ERROR_REF };
const publicErrors = { '400': ERROR_REF, '429': ERROR_REF, default: ERROR_REF };

const body = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: jsonSchemaOf(schema, 'input') } },
});
const answer = (description: string, schema: z.ZodType | JsonObject) => ({
  description,
  content: {
    'application/json': { schema: schema instanceof z.ZodType ? jsonSchemaOf(schema, 'output') : schema },
  },
});
const deviceId = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'Device id (from GET /api/devices)',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
};

// Request bodies the hub defines next to its routes (no other side sends them).
const RefreshBody = z.object({ refreshToken: z.string() });
const LogoutBody = z.object({ refreshToken: z.string().nullish() });
const PasswordChange = z.object({ currentPassword: z.string(), newPassword: z.string().min(10) });
const AuditEntry = z.object({
  userId: z.string(),
  deviceId: z.string(),
  commandId: z.string(),
  commandName: z.string(),
  ok: z.boolean(),
  errorCode: z.string().nullable(),
  at: z.string(),
});

/** A relayed command's answer: the agent's own `{ok, value}` or `{ok: false, error}`. */
function commandResult(): JsonObject {
  const results = Object.values(COMMANDS).map((def) => jsonSchemaOf(def.result, 'output'));
  return {
    oneOf: [
      okEnvelope({ anyOf: results }),
      (ERROR_RESPONSE.content as { 'application/json': { schema: JsonObject } })['application/json'].schema,
    ],
  };
}

function paths(): JsonObject {
  return {
    '/api/health': {
      get: {
        operationId: 'health',
        summary: 'Which service answers, and its version',
        tags: ['meta'],
        security: [],
        responses: {
          '200': answer('Health', z.object({ service: z.literal('hub'), version: z.string() })),
        },
      },
    },
    [HUB_OPENAPI_PATH]: {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
      },
    },
    '/api/auth/register': {
      post: {
        operationId: 'auth.register',
        summary: 'Create an account (the answer is the same whether the email was new or taken)',
        tags: ['auth'],
        security: [],
        requestBody: body(AccountCredentials),
        responses: { '201': answer('Registered', RegisterResponse), ...publicErrors },
      },
    },
    '/api/auth/login': {
      post: {
        operationId: 'auth.login',
        summary: 'Sign in: an access token and a refresh token (rate-limited, with Retry-After)',
        tags: ['auth'],
        security: [],
        requestBody: body(AccountCredentials),
        responses: { '200': answer('Signed in', AuthResponse), ...publicErrors, '401': ERROR_REF },
      },
    },
    '/api/auth/refresh': {
      post: {
        operationId: 'auth.refresh',
        summary: 'Exchange a refresh token for new tokens',
        tags: ['auth'],
        security: [],
        requestBody: body(RefreshBody),
        responses: { '200': answer('New tokens', AuthResponse), ...publicErrors, '401': ERROR_REF },
      },
    },
    '/api/auth/logout': {
      post: {
        operationId: 'auth.logout',
        summary: "End every session of the user and close the user's dashboards",
        tags: ['auth'],
        requestBody: body(LogoutBody),
        responses: { '200': answer('Signed out', z.object({ ok: z.literal(true) })), ...errors },
      },
    },
    '/api/auth/password': {
      post: {
        operationId: 'auth.password',
        summary: 'Change the password; other sessions end',
        tags: ['auth'],
        requestBody: body(PasswordChange),
        responses: { '200': answer('New tokens', AuthResponse), ...errors },
      },
    },
    '/api/me': {
      get: {
        operationId: 'me',
        summary: 'The signed-in user',
        tags: ['auth'],
        responses: { '200': answer('The user', HubUser), ...errors },
      },
    },
    '/api/devices/pairing': {
      post: {
        operationId: 'devices.pairing',
        summary: 'A short-lived code that pairs a computer (`lattice pair <hub> <code>`)',
        tags: ['devices'],
        responses: { '201': answer('Pairing code', PairingCode), ...errors },
      },
    },
    '/api/devices/pair': {
      post: {
        operationId: 'devices.pair',
        summary: "Redeem a pairing code (the agent's side): a device token",
        tags: ['devices'],
        security: [],
        requestBody: body(PairRedeem),
        responses: { '201': answer('Paired', PairRedeemResponse), ...publicErrors },
      },
    },
    '/api/devices': {
      get: {
        operationId: 'devices.list',
        summary: "The user's computers and whether they are online",
        tags: ['devices'],
        responses: { '200': answer('Devices', z.array(Device)), ...errors },
      },
    },
    '/api/devices/{id}': {
      delete: {
        operationId: 'devices.revoke',
        summary: 'Revoke a computer: its token stops working and its connection closes',
        tags: ['devices'],
        parameters: [deviceId],
        responses: {
          '200': answer('Revoked', z.object({ id: z.string(), revoked: z.literal(true) })),
          ...errors,
        },
      },
    },
    '/api/devices/{id}/commands': {
      post: {
        operationId: 'devices.command',
        summary:
          "Run one of the agent's commands on that computer (its id is the idempotency key); " +
          'local-only commands are refused',
        tags: ['devices'],
        parameters: [deviceId],
        requestBody: body(RelayCommand),
        responses: { '200': answer("The agent's result", commandResult()), ...errors },
      },
    },
    '/api/audit': {
      get: {
        operationId: 'audit',
        summary: "The user's last relayed commands (names and outcomes, never arguments)",
        tags: ['devices'],
        responses: { '200': answer('Audit log', z.array(AuditEntry)), ...errors },
      },
    },
  };
}

export function buildHubOpenApi(version: string): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lattice hub API',
      version,
      description:
        'JSON API of a Lattice hub: accounts, device pairing and commands relayed to your computers. ' +
        'Authenticate with `Authorization: Bearer <access token>` from POST /api/auth/login. ' +
        'The same workload operations are also tRPC procedures at /trpc.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths: { ...paths(), ...restProcedurePaths(), ...trpcPaths() },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: { Error: ERROR_RESPONSE },
    },
  };
}

let cached: JsonObject | undefined;
/** The document, built once per process. */
export function hubOpenApi(version: string): JsonObject {
  return (cached ??= buildHubOpenApi(version));
}
