// The original design's API at `/trpc` (@trpc/server 11): every procedure of shared/hub-api.ts, its
// input and output checked with the contract's schemas, answered by the same handlers as the REST
// routes (hub-handlers.ts). Queries are GET (`?input=` URL-encoded JSON), mutations POST with a JSON
// body; `DELETE /trpc/workload.delete` is the mutation too. Signed in with the same bearer access
// token as `/api`. Errors carry the contract's `{code, message, field?}` in `error.data.lattice`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError, initTRPC, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import {
  HUB_PROCEDURES,
  LatticeError,
  type ErrorBody,
  type HubProcedureName,
  type HubUser,
} from '../../shared';
import { RateLimitedError } from '../accounts';
import type { HubContext } from '../hub-context';
import { clientAddress } from '../http/client-address';
import { ERROR_STATUS, MAX_BODY_BYTES, baseHeaders, sendJson, unsupportedMediaType } from '../http/responses';
import { HUB_HANDLERS, type ApiCall } from './hub-handlers';

interface TrpcContext {
  hub: HubContext;
  ip: string;
  user: HubUser | undefined;
}

const STATUS_CODE: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/** The contract's error body for any failure inside a procedure, input validation included. */
function latticeBody(error: TRPCError): ErrorBody {
  const cause = error.cause;
  if (cause instanceof LatticeError) return cause.toBody();
  const issues = (cause as { issues?: { path?: PropertyKey[]; message: string }[] } | undefined)?.issues;
  if (Array.isArray(issues) && issues.length) {
    const path = (issues[0].path ?? []).map(String).join('.');
    return {
      code: 'invalid_argument',
      message: `Invalid input: ${path ? `${path}: ` : ''}${issues[0].message}`,
      ...(path ? { field: path } : {}),
    };
  }
  if (error.code === 'UNAUTHORIZED') return { code: 'unauthorized', message: error.message };
  if (error.code === 'NOT_FOUND') return { code: 'not_found', message: error.message };
  if (error.code === 'BAD_REQUEST' || error.code === 'PARSE_ERROR' || error.code === 'METHOD_NOT_SUPPORTED') {
    return { code: 'invalid_argument', message: error.message };
  }
  return { code: 'internal', message: 'Internal error in the hub' };
}

const t = initTRPC.context<TrpcContext>().create({
  errorFormatter({ shape, error }) {
    const lattice = latticeBody(error);
    return { ...shape, message: lattice.message, data: { ...shape.data, stack: undefined, lattice } };
  },
});

/** A LatticeError from a handler becomes the tRPC error of the same HTTP status, keeping the body. */
const withLatticeErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof LatticeError) {
    const cause = result.error.cause;
    const code = STATUS_CODE[ERROR_STATUS[cause.code]] ?? 'INTERNAL_SERVER_ERROR';
    return { ...result, error: new TRPCError({ code, message: cause.message, cause }) };
  }
  return result;
});

const publicProcedure = t.procedure.use(withLatticeErrors);
const signedIn = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) {
    throw new TRPCError({
      code: 'UNAUTHORIZED',
      message: 'Sign in: the access token is missing, expired or revoked',
      cause: new LatticeError('unauthorized', 'Sign in: the access token is missing, expired or revoked'),
    });
  }
  return next({ ctx: { ...ctx, user: ctx.user } });
});

function call(ctx: TrpcContext): ApiCall {
  return { user: ctx.user ?? { id: '', email: '' }, ip: ctx.ip };
}

function base<K extends HubProcedureName>(name: K) {
  const def = HUB_PROCEDURES[name];
  return (def.auth ? signedIn : publicProcedure).input(def.input).output(def.output);
}

const query = <K extends HubProcedureName>(name: K) =>
  base(name).query(({ ctx, input }) => HUB_HANDLERS[name](ctx.hub, call(ctx), input as never));
const mutation = <K extends HubProcedureName>(name: K) =>
  base(name).mutation(({ ctx, input }) => HUB_HANDLERS[name](ctx.hub, call(ctx), input as never));

export const hubRouter = t.router({
  user: t.router({
    register: mutation('user.register'),
    login: mutation('user.login'),
    me: query('user.me'),
  }),
  node: t.router({ list: query('node.list') }),
  workload: t.router({
    list: query('workload.list'),
    get: query('workload.get'),
    deploy: mutation('workload.deploy'),
    start: mutation('workload.start'),
    stop: mutation('workload.stop'),
    restart: mutation('workload.restart'),
    delete: mutation('workload.delete'),
    logs: query('workload.logs'),
  }),
  share: t.router({
    create: mutation('share.create'),
    revoke: mutation('share.revoke'),
    list: query('share.list'),
  }),
  queue: t.router({
    list: query('queue.list'),
    cancel: mutation('queue.cancel'),
  }),
});
export type HubRouter = typeof hubRouter;

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** Answers `/trpc/<procedure>`. */
export async function handleTrpc(ctx: HubContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://hub');
  const path = url.pathname.replace(/^\/trpc\/?/, '');
  // The original design listed DELETE for workload.delete: the same mutation.
  if (req.method === 'DELETE' && path === 'workload.delete') req.method = 'POST';
  // As on /api (issue 13): a state change takes JSON only, so a cross-site form post changes nothing.
  const badMediaType = unsupportedMediaType(req);
  if (badMediaType) {
    req.resume();
    return sendJson(res, 415, {
      error: {
        message: badMediaType,
        data: { lattice: { code: 'invalid_argument', message: badMediaType } },
      },
    });
  }
  baseHeaders(res);
  res.setHeader('Cache-Control', 'no-store');
  await nodeHTTPRequestHandler({
    req,
    res,
    path,
    router: hubRouter,
    maxBodySize: MAX_BODY_BYTES,
    allowBatching: false,
    async createContext() {
      const token = bearer(req);
      return {
        hub: ctx,
        ip: clientAddress(req, ctx.trustProxy),
        user: token ? await ctx.accounts.userForAccessToken(token) : undefined,
      };
    },
    responseMeta({ errors }) {
      const limited = errors.find((e) => e.cause instanceof RateLimitedError)?.cause as
        RateLimitedError | undefined;
      if (limited)
        return { status: limited.httpStatus, headers: { 'Retry-After': String(limited.retryAfterSeconds) } };
      return {};
    },
    onError({ error, path: procedure }) {
      if (error.code === 'INTERNAL_SERVER_ERROR')
        ctx.logger.error({ err: error.cause ?? error, procedure }, 'tRPC procedure failed');
    },
  });
}
