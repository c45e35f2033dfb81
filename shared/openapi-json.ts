// The pure part of the OpenAPI documents the agent (local API) and the hub serve at
// /api/openapi.json: zod schemas of the contract turned into JSON Schema, and the `{ok, value}` /
// `{ok: false, error}` envelopes every Lattice JSON API answers with.
import { z } from 'zod';
import { ErrorBody } from './errors';

export type JsonObject = Record<string, unknown>;

/** A contract schema as JSON Schema: its input side for requests, its output side for results. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  // Transforms (memory sizes) and defaults have no exact JSON Schema: describe their input/output side.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  return rest;
}

/** `{ ok: true, value }` around a result. */
export const okEnvelope = (value: JsonObject): JsonObject => ({
  type: 'object',
  required: ['ok', 'value'],
  properties: { ok: { const: true }, value },
});

/** The `Error` response both documents define under components.responses. */
export const ERROR_RESPONSE: JsonObject = {
  description: 'An error: the code is for programs, the message for people',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['ok', 'error'],
        properties: { ok: { const: false }, error: jsonSchemaOf(ErrorBody, 'output') },
      },
    },
  },
};

export const ERROR_REF: JsonObject = { $ref: '#/components/responses/Error' };
