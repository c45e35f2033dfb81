// The hub's JSON API. Every handler validates its body with the contract's zod schemas; errors are
// `{ok: false, error: {code, message, field?}}` with the status of ERROR_STATUS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  AccountCredentials,
  HUB_PROCEDURES,
  LatticeError,
  PairRedeem,
  fromZodError,
  type Device,
  type HubProcedureName,
  type HubUser,
} from '../../shared';
import { HUB_HANDLERS, relayPostedCommand, requireOwnDevice, type HubHandler } from '../api/hub-handlers';
import { RateLimitedError, signInAgain, type AccessClaims } from '../accounts';
import type { HubContext } from '../hub-context';
import { HUB_VERSION } from '../version';
import { clientAddress } from './client-address';
import { hubOpenApi } from './openapi';
import {
  ERROR_STATUS,
  PayloadTooLarge,
  readJsonBody,
  sendError,
  sendJson,
  unsupportedMediaType,
} from './responses';

const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(4096) });
const PasswordChange = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: AccountCredentials.shape.password,
});
// The dashboard sends its refresh token (or null); every session of the user ends either way.
const LogoutBody = z.strictObject({ refreshToken: z.string().max(4096).nullish() });

function parse<T extends z.ZodType>(schema: T, value: unknown, what = 'request body'): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error, what);
  return result.data;
}

// Behind `--trust-proxy N`, the forwarded address; otherwise the socket's peer (client-address.ts).
const clientIp = (ctx: HubContext, req: IncomingMessage) => clientAddress(req, ctx.trustProxy);

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const m = header ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
  return m?.[1];
}

interface Route {
  method: string;
  pattern: RegExp;
  /**
   * true: the signed-in user, the access token checked against the account before the handler runs.
   * 'claims': only the token's signature and expiry are checked here; the handler compares its token
   * version with the account in the one read of the store it makes anyway (the commands route).
   */
  auth: boolean | 'claims';
  handler: (ctx: HubContext, call: Call) => Promise<{ status: number; body: unknown }>;
}
interface Call {
  req: IncomingMessage;
  params: string[];
  /** Empty for a route without auth or with auth 'claims'. */
  user: HubUser;
  /** The access token's claims, for a route with auth. */
  claims: AccessClaims | undefined;
  body: () => Promise<unknown>;
}

/**
 * A route that is a procedure of the hub API (shared/hub-api.ts): its input read from the request by
 * `input`, checked with the procedure's schema, answered by the same handler as `/trpc/<name>`.
 */
function procedureRoute<K extends HubProcedureName>(
  method: string,
  pattern: RegExp,
  name: K,
  status: number,
  input: (call: Call, query: URLSearchParams) => Promise<unknown> | unknown = () => undefined,
): Route {
  const def = HUB_PROCEDURES[name];
  return {
    method,
    pattern,
    auth: def.auth,
    handler: async (ctx, call) => {
      const query = new URL(call.req.url ?? '/', 'http://hub').searchParams;
      const parsed = parse(def.input, await input(call, query), 'request');
      const handler = HUB_HANDLERS[name] as HubHandler<K>;
      return {
        status,
        body: await handler(ctx, { user: call.user, ip: clientIp(ctx, call.req) }, parsed as never),
      };
    },
  };
}

/** `?node=…&status=…` as an input object; absent parameters are left out. */
const searchInput = (query: URLSearchParams, ...keys: string[]) => {
  const out = Object.fromEntries(keys.flatMap((k) => (query.has(k) ? [[k, query.get(k)]] : [])));
  return Object.keys(out).length ? out : undefined;
};

const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/api\/health$/,
    auth: false,
    handler: async () => ({ status: 200, body: { service: 'hub', version: HUB_VERSION } }),
  },
  {
    method: 'GET',
    pattern: /^\/api\/openapi\.json$/,
    auth: false,
    handler: async () => ({ status: 200, body: hubOpenApi(HUB_VERSION) }),
  },
  procedureRoute('POST', /^\/api\/auth\/register$/, 'user.register', 201, ({ body }) => body()),
  procedureRoute('POST', /^\/api\/auth\/login$/, 'user.login', 200, ({ body }) => body()),
  {
    method: 'POST',
    pattern: /^\/api\/auth\/refresh$/,
    auth: false,
    handler: async (ctx, { req, body }) => {
      const { refreshToken } = parse(RefreshBody, await body());
      return { status: 200, body: await ctx.accounts.refresh(refreshToken, clientIp(ctx, req)) };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/auth\/logout$/,
    auth: true,
    handler: async (ctx, { user, body }) => {
      parse(LogoutBody, await body());
      await ctx.accounts.endSessions(user.id);
      ctx.presence.closeDashboards(user.id, 'signed out');
      return { status: 200, body: { ok: true } };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/auth\/password$/,
    auth: true,
    handler: async (ctx, { req, user, body }) => {
      const { currentPassword, newPassword } = parse(PasswordChange, await body());
      const session = await ctx.accounts.changePassword(
        user.id,
        currentPassword,
        newPassword,
        clientIp(ctx, req),
      );
      ctx.presence.closeDashboards(user.id, 'password changed');
      return { status: 200, body: session };
    },
  },
  procedureRoute('GET', /^\/api\/me$/, 'user.me', 200),
  {
    method: 'POST',
    pattern: /^\/api\/devices\/pairing$/,
    auth: true,
    handler: async (ctx, { user }) => {
      const hubCaUrl = ctx.hubCaUrl();
      const code = await ctx.accounts.createPairingCode(user.id);
      return { status: 201, body: hubCaUrl ? { ...code, hubCaUrl } : code };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/devices\/pair$/,
    auth: false,
    handler: async (ctx, { req, body }) => {
      const { code, name } = parse(PairRedeem, await body());
      return { status: 201, body: await ctx.accounts.redeemPairingCode(code, name, clientIp(ctx, req)) };
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/devices$/,
    auth: true,
    handler: async (ctx, { user }) => {
      const devices: Device[] = (await ctx.store.devicesOfUser(user.id)).map((d) => ({
        id: d.id,
        name: d.name,
        online: ctx.presence.isOnline(d.id),
        lastSeenAt: d.lastSeenAt,
      }));
      return { status: 200, body: devices };
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/api\/devices\/([A-Za-z0-9_-]{1,64})$/,
    auth: true,
    handler: async (ctx, { user, params }) => {
      const device = await requireOwnDevice(ctx, user, params[0]);
      await ctx.store.revokeDevice(device.id);
      // Its shares end with it: their relay ports are free again.
      await ctx.relay.forgetDevice(device.id);
      // Closing the socket runs the offline path: presence event, pending commands fail.
      ctx.presence.agent(device.id)?.ws.close(4003, 'device revoked');
      return { status: 200, body: { id: device.id, revoked: true } };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/devices\/([A-Za-z0-9_-]{1,64})\/commands$/,
    auth: 'claims',
    handler: async (ctx, { claims, params, body }) => {
      const result = await relayPostedCommand(ctx, claims!, params[0], body);
      return { status: result.ok ? 200 : ERROR_STATUS[result.error.code], body: result };
    },
  },
  // Account-wide, on every computer: the same procedures as /trpc (docs/hub-api.md).
  procedureRoute('GET', /^\/api\/nodes$/, 'node.list', 200),
  procedureRoute('GET', /^\/api\/workloads$/, 'workload.list', 200, (_c, q) => searchInput(q, 'node')),
  procedureRoute('POST', /^\/api\/workloads$/, 'workload.deploy', 200, ({ body }) => body()),
  procedureRoute('GET', /^\/api\/workloads\/([^/]{1,128})$/, 'workload.get', 200, ({ params }, q) => ({
    ref: decodeURIComponent(params[0]),
    ...searchInput(q, 'node'),
  })),
  procedureRoute('GET', /^\/api\/queue$/, 'queue.list', 200, (_c, q) => searchInput(q, 'status', 'node')),
  procedureRoute('DELETE', /^\/api\/queue\/([^/]{1,128})$/, 'queue.cancel', 200, ({ params }) => ({
    id: decodeURIComponent(params[0]),
  })),
  {
    method: 'GET',
    pattern: /^\/api\/audit$/,
    auth: true,
    handler: async (ctx, { user }) => ({ status: 200, body: await ctx.store.auditLog(user.id, 200) }),
  },
];

/** Answers /api/* requests; `path` is the request's pathname, as the router parsed it (request-path.ts). */
export async function handleApi(
  ctx: HubContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  let params: RegExpExecArray | null = null;
  const route = routes.find((r) => r.method === req.method && (params = r.pattern.exec(path)) !== null);
  try {
    if (!route || !params) {
      const matching = routes.filter((r) => r.pattern.test(path));
      if (matching.length) {
        res.setHeader('Allow', matching.map((r) => r.method).join(', '));
        return sendJson(res, 405, {
          ok: false,
          error: { code: 'invalid_argument', message: `${req.method} is not allowed here` },
        });
      }
      throw new LatticeError('not_found', `No API route ${req.method} ${path}`);
    }
    // Before authentication and before any work: a cross-site form post changes nothing.
    const badMediaType = unsupportedMediaType(req);
    if (badMediaType) {
      req.resume();
      return sendJson(res, 415, { ok: false, error: { code: 'invalid_argument', message: badMediaType } });
    }
    let user: HubUser = { id: '', email: '' };
    let claims: AccessClaims | undefined;
    if (route.auth) {
      const token = bearer(req);
      claims = token ? await ctx.accounts.accessClaims(token) : undefined;
      if (!claims) throw signInAgain();
      if (route.auth === true) {
        const found = await ctx.accounts.userForClaims(claims);
        if (!found) throw signInAgain();
        user = found;
      }
    }
    const { status, body } = await route.handler(ctx, {
      req,
      params: (params as RegExpExecArray).slice(1),
      user,
      claims,
      body: () => readJsonBody(req),
    });
    sendJson(res, status, body);
  } catch (err) {
    if (err instanceof PayloadTooLarge) {
      sendJson(
        res,
        413,
        { ok: false, error: { code: 'invalid_argument', message: err.message } },
        { Connection: 'close' },
      );
      req.resume();
      return;
    }
    if (err instanceof RateLimitedError) {
      return sendError(res, err, { 'Retry-After': String(err.retryAfterSeconds) }, err.httpStatus);
    }
    if (!(err instanceof LatticeError)) ctx.logger.error({ err, path }, 'API handler failed');
    sendError(res, err);
  }
}
