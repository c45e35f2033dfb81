// The original design's API at `/trpc` (@trpc/server 11): every procedure of shared/hub-api.ts, its
// input and output checked with the contract's schemas, answered by the same handlers as the REST
// routes (hub-handlers.ts). Queries are GET (`?input=` URL-encoded JSON), mutations POST with a JSON
// body; `DELETE /trpc/workload.delete` is the mutation too. Signed in with the same bearer access
// token as `/api`. Errors carry the contract's `{code, message, field?}` in `error.data.lattice`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError, initTRPC, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import type { z } from 'zod';
import { HUB_PROCEDURES, LatticeError, type ErrorBody, type HubUser } from '../../shared';
import { RateLimitedError, signInAgain } from '../accounts';
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
  if (error.code === 'TOO_MANY_REQUESTS') return { code: 'rate_limited', message: error.message };
  // Anything else tRPC itself refused (bad JSON, wrong method, content type, size) is the caller's.
  if (error.code !== 'INTERNAL_SERVER_ERROR') return { code: 'invalid_argument', message: error.message };
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
    const cause = signInAgain();
    throw new TRPCError({ code: 'UNAUTHORIZED', message: cause.message, cause });
  }
  return next({ ctx: { ...ctx, user: ctx.user } });
});

function call(ctx: TrpcContext): ApiCall {
  return { user: ctx.user ?? { id: '', email: '' }, ip: ctx.ip };
}

interface Def<I extends z.ZodType, O extends z.ZodType> {
  input: I;
  output: O;
  auth: boolean;
}
type Handler<I extends z.ZodType, O extends z.ZodType> = (
  hub: HubContext,
  call: ApiCall,
  input: z.output<I>,
) => Promise<z.output<O>>;

// Generic over the schemas themselves (not a procedure name), so each procedure keeps its own types
// for clients of the router.
const base = <I extends z.ZodType, O extends z.ZodType>(def: Def<I, O>) =>
  (def.auth ? signedIn : publicProcedure).input(def.input).output(def.output);
const query = <I extends z.ZodType, O extends z.ZodType>(def: Def<I, O>, handler: Handler<I, O>) =>
  base(def).query(({ ctx, input }) => handler(ctx.hub, call(ctx), input as z.output<I>) as never);
const mutation = <I extends z.ZodType, O extends z.ZodType>(def: Def<I, O>, handler: Handler<I, O>) =>
  base(def).mutation(({ ctx, input }) => handler(ctx.hub, call(ctx), input as z.output<I>) as never);

const P = HUB_PROCEDURES;
const H = HUB_HANDLERS;

export const hubRouter = t.router({
  user: t.router({
    register: mutation(P['user.register'], H['user.register']),
    login: mutation(P['user.login'], H['user.login']),
    me: query(P['user.me'], H['user.me']),
  }),
  node: t.router({ list: query(P['node.list'], H['node.list']) }),
  workload: t.router({
    list: query(P['workload.list'], H['workload.list']),
    get: query(P['workload.get'], H['workload.get']),
    deploy: mutation(P['workload.deploy'], H['workload.deploy']),
    start: mutation(P['workload.start'], H['workload.start']),
    stop: mutation(P['workload.stop'], H['workload.stop']),
    restart: mutation(P['workload.restart'], H['workload.restart']),
    delete: mutation(P['workload.delete'], H['workload.delete']),
    logs: query(P['workload.logs'], H['workload.logs']),
  }),
  share: t.router({
    create: mutation(P['share.create'], H['share.create']),
    revoke: mutation(P['share.revoke'], H['share.revoke']),
    list: query(P['share.list'], H['share.list']),
  }),
  queue: t.router({
    list: query(P['queue.list'], H['queue.list']),
    cancel: mutation(P['queue.cancel'], H['queue.cancel']),
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
  const badMediaType = unsupportedMediaType(req);
  // A POST without a body (a bare DELETE) carries no input: read it as JSON, as tRPC wants.
  if (!badMediaType && req.method === 'POST' && req.headers['content-type'] === undefined) {
    req.headers['content-type'] = 'application/json';
  }
  // As on /api: a state change takes JSON only, so a cross-site form post changes nothing.
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
