// The hub's JSON API. Every handler validates its body with the contract's zod schemas; errors are
// `{ok: false, error: {code, message, field?}}` with the status of ERROR_STATUS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  AccountCredentials,
  COMMANDS,
  LatticeError,
  PairRedeem,
  RelayCommand,
  fromZodError,
  isCommandName,
  isLocalOnly,
  type Device,
  type HubUser,
} from '../../shared';
import { RateLimitedError } from '../accounts';
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
  auth: boolean;
  handler: (ctx: HubContext, call: Call) => Promise<{ status: number; body: unknown }>;
}
interface Call {
  req: IncomingMessage;
  params: string[];
  user: HubUser;
  body: () => Promise<unknown>;
}

async function requireOwnDevice(ctx: HubContext, user: HubUser, deviceId: string) {
  const device = await ctx.store.deviceById(deviceId);
  // Another user's device is indistinguishable from a missing one.
  if (!device || device.userId !== user.id || device.revoked) {
    throw new LatticeError('not_found', `No device "${deviceId}" in this account`);
  }
  return device;
}

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
  {
    method: 'POST',
    pattern: /^\/api\/auth\/register$/,
    auth: false,
    handler: async (ctx, { req, body }) => {
      const { email, password } = parse(AccountCredentials, await body());
      return { status: 201, body: await ctx.accounts.register(email, password, clientIp(ctx, req)) };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/auth\/login$/,
    auth: false,
    handler: async (ctx, { req, body }) => {
      const { email, password } = parse(
        z.strictObject({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) }),
        await body(),
      );
      return { status: 200, body: await ctx.accounts.login(email, password, clientIp(ctx, req)) };
    },
  },
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
  {
    method: 'GET',
    pattern: /^\/api\/me$/,
    auth: true,
    handler: async (_ctx, { user }) => ({ status: 200, body: user }),
  },
  {
    method: 'POST',
    pattern: /^\/api\/devices\/pairing$/,
    auth: true,
    handler: async (ctx, { user }) => ({ status: 201, body: await ctx.accounts.createPairingCode(user.id) }),
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
      // Closing the socket runs the offline path: presence event, pending commands fail.
      ctx.presence.agent(device.id)?.ws.close(4003, 'device revoked');
      return { status: 200, body: { id: device.id, revoked: true } };
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/devices\/([A-Za-z0-9_-]{1,64})\/commands$/,
    auth: true,
    handler: async (ctx, { user, params, body }) => {
      const device = await requireOwnDevice(ctx, user, params[0]);
      const cmd = parse(RelayCommand, await body(), 'command');
      if (!isCommandName(cmd.name)) {
        throw new LatticeError('unknown_command', `Unknown command "${cmd.name}"`, 'name');
      }
      const def = COMMANDS[cmd.name];
      if (isLocalOnly(cmd.name)) {
        throw new LatticeError('forbidden', `${cmd.name} can only be run on the computer itself`, 'name');
      }
      const args = def.args.safeParse(cmd.args);
      if (!args.success) throw fromZodError(args.error, `arguments of ${cmd.name}`);
      const result = await ctx.commands.relay(user, device, { id: cmd.id, name: cmd.name, args: cmd.args });
      return { status: result.ok ? 200 : ERROR_STATUS[result.error.code], body: result };
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/audit$/,
    auth: true,
    handler: async (ctx, { user }) => ({ status: 200, body: await ctx.store.auditLog(user.id, 200) }),
  },
];

/** Answers /api/* requests. */
export async function handleApi(ctx: HubContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://hub').pathname;
  const matching = routes.filter((r) => r.pattern.test(path));
  const route = matching.find((r) => r.method === req.method);
  try {
    if (!route) {
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
    if (route.auth) {
      const token = bearer(req);
      const found = token ? await ctx.accounts.userForAccessToken(token) : undefined;
      if (!found)
        throw new LatticeError('unauthorized', 'Sign in: the access token is missing, expired or revoked');
      user = found;
    }
    const params = route.pattern.exec(path)!.slice(1);
    const { status, body } = await route.handler(ctx, { req, params, user, body: () => readJsonBody(req) });
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
