// The hub API's handlers, one per procedure of shared/hub-api.ts. The tRPC router (trpc-router.ts)
// and the REST routes (http/api-routes.ts) both call these with already-parsed input: one body of
// logic per operation, whichever door it came through.
import { randomUUID } from 'node:crypto';
import {
  COMMANDS,
  LatticeError,
  QUEUE_EXPIRY_SECONDS,
  RelayCommand,
  WorkloadState,
  fromZodError,
  isCommandName,
  isLocalOnly,
  type CommandName,
  type CommandResult,
  type DeployResult,
  type HubProcedureName,
  type HubProcedures,
  type HubUser,
  type InventoryWorkload,
  type NodeSummary,
  type QueueExpiry,
  type QueuedCommand,
  type Result,
} from '../../shared';
import { z } from 'zod';
import { currentUser, signInAgain, type AccessClaims } from '../accounts';
import type { HubContext } from '../hub-context';
import { findNode, placeAuto } from '../placement';
import type { DeviceRow } from '../store/hub-store';

/** Who is calling, as the door saw them. `user` is empty for the procedures that need no sign-in. */
export interface ApiCall {
  user: HubUser;
  /** The client's address (behind `--trust-proxy`, the forwarded one): rate limits count by it. */
  ip: string;
}

type Input<K extends HubProcedureName> = z.output<HubProcedures[K]['input']>;
type Output<K extends HubProcedureName> = z.output<HubProcedures[K]['output']>;
export type HubHandler<K extends HubProcedureName> = (
  ctx: HubContext,
  call: ApiCall,
  input: Input<K>,
) => Promise<Output<K>>;

// ---- one command on one computer ------------------------------------------------------------------

/** The caller's own device, not revoked; another user's is indistinguishable from a missing one. */
export async function requireOwnDevice(ctx: HubContext, user: HubUser, deviceId: string): Promise<DeviceRow> {
  return ownDevice(user, deviceId, await ctx.store.deviceById(deviceId));
}

function ownDevice(user: HubUser, deviceId: string, device: DeviceRow | undefined): DeviceRow {
  if (!device || device.userId !== user.id || device.revoked) {
    throw new LatticeError('not_found', `No device "${deviceId}" in this account`);
  }
  return device;
}

/**
 * `POST /api/devices/:id/commands`, the hub's busiest request: the account behind the access token
 * (its token version), the device and the command id's stored result come from one read of the
 * store (commandLookup) instead of three, with the same checks as requireOwnDevice and relayCommand.
 */
export async function relayPostedCommand(
  ctx: HubContext,
  claims: AccessClaims,
  deviceId: string,
  readBody: () => Promise<unknown>,
): Promise<Result<unknown>> {
  // The command id is needed for the read, so the body comes first.
  const parsed = await readBody().then(
    (body) => RelayCommand.safeParse(body),
    (err: unknown) => ({ success: false as const, error: err }),
  );
  if (!parsed.success) {
    // Refused in the order of the separate checks: a token that no longer counts, then someone
    // else's device, then the body (unreadable, too large or not a command).
    const user = await ctx.accounts.userForClaims(claims);
    if (!user) throw signInAgain();
    await requireOwnDevice(ctx, user, deviceId);
    throw parsed.error instanceof z.ZodError ? fromZodError(parsed.error, 'command') : parsed.error;
  }
  const cmd = parsed.data;
  const watch = ctx.commands.watchResult(deviceId, cmd.id);
  try {
    const found = await ctx.store.commandLookup(claims.userId, deviceId, cmd.id);
    const user = currentUser(claims, found.user);
    if (!user) throw signInAgain();
    const device = ownDevice(user, deviceId, found.device);
    checkRelayable(cmd.name, cmd.args);
    return await ctx.commands.relay(user, device, cmd, { lookup: { stored: found.stored, watch } });
  } finally {
    watch.release();
  }
}

/**
 * Relays one command of shared/commands.ts to a device and waits for its result: the name must be a
 * command the remote door may send, the arguments must match its schema. Every procedure that acts on
 * a computer comes through here; `POST /api/devices/:id/commands` makes the same checks in
 * relayPostedCommand.
 */
export async function relayCommand(
  ctx: HubContext,
  user: HubUser,
  device: DeviceRow,
  cmd: { id: string; name: string; args: unknown },
): Promise<Result<unknown>> {
  checkRelayable(cmd.name, cmd.args);
  return ctx.commands.relay(user, device, cmd);
}

function checkRelayable(name: string, args: unknown): asserts name is CommandName {
  if (!isCommandName(name)) throw new LatticeError('unknown_command', `Unknown command "${name}"`, 'name');
  if (isLocalOnly(name)) {
    throw new LatticeError('forbidden', `${name} can only be run on the computer itself`, 'name');
  }
  const parsed = COMMANDS[name].args.safeParse(args);
  if (!parsed.success) throw fromZodError(parsed.error, `arguments of ${name}`);
}

interface Queueing {
  queue: boolean;
  queueExpires: QueueExpiry;
  id?: string;
}

const expirySeconds = (e: QueueExpiry) => (typeof e === 'number' ? e : QUEUE_EXPIRY_SECONDS[e]);

/** Runs a command on a computer now, or, when it is offline and `queue` was asked for, queues it. */
async function runOnNode<K extends CommandName>(
  ctx: HubContext,
  user: HubUser,
  device: DeviceRow,
  name: K,
  args: unknown,
  queueing?: Queueing,
): Promise<{ node: NodeSummary; value?: CommandResult<K>; queued?: QueuedCommand }> {
  const node = ctx.inventory.node(device);
  const id = queueing?.id ?? randomUUID();
  if (!node.online && queueing?.queue) {
    checkRelayable(name, args);
    const queued = await ctx.queue.enqueue(user, device, {
      id,
      name,
      args,
      expiresInSeconds: expirySeconds(queueing.queueExpires),
    });
    return { node, queued };
  }
  const result = await relayCommand(ctx, user, device, { id, name, args });
  if (!result.ok) {
    const hint =
      result.error.code === 'device_offline' && queueing
        ? ' (queue: true keeps the command until it is back)'
        : '';
    throw new LatticeError(result.error.code, result.error.message + hint, result.error.field);
  }
  return { node, value: result.value as CommandResult<K> };
}

// ---- finding computers and workloads ---------------------------------------------------------------

async function nodeByRef(ctx: HubContext, user: HubUser, ref: string): Promise<DeviceRow> {
  return requireOwnDevice(ctx, user, findNode(await ctx.inventory.nodes(user.id), ref).id);
}

/**
 * A workload of the account by id or name, from the inventory. With `node` the search stays on that
 * computer, and a workload the inventory does not know yet is passed on to it as named.
 */
async function findWorkload(
  ctx: HubContext,
  user: HubUser,
  target: { ref: string; node?: string },
): Promise<{ device: DeviceRow; ref: string; known?: InventoryWorkload }> {
  const device = target.node ? await nodeByRef(ctx, user, target.node) : undefined;
  const all = await workloadsOf(ctx, user);
  const matches = all.filter(
    (w) => (w.id === target.ref || w.name === target.ref) && (!device || w.node.id === device.id),
  );
  if (matches.length === 1) {
    return {
      device: device ?? (await requireOwnDevice(ctx, user, matches[0].node.id)),
      ref: matches[0].name,
      known: matches[0],
    };
  }
  if (matches.length > 1) {
    throw new LatticeError(
      'conflict',
      `"${target.ref}" is on ${matches.map((w) => `"${w.node.name}"`).join(' and ')}: say which with node`,
      'node',
    );
  }
  if (device) return { device, ref: target.ref };
  throw new LatticeError('not_found', `No workload "${target.ref}" on any computer of this account`, 'ref');
}

async function workloadsOf(ctx: HubContext, user: HubUser): Promise<InventoryWorkload[]> {
  const pending = await ctx.queue.pendingCounter(user.id);
  return ctx.inventory.workloads(user.id, pending);
}

const ago = (seconds: number) =>
  seconds < 90
    ? `${seconds} s`
    : seconds < 5400
      ? `${Math.round(seconds / 60)} min`
      : `${Math.round(seconds / 3600)} h`;

/** start, stop and restart take and answer the same shapes. */
function lifecycle(
  name: 'workload.start' | 'workload.stop' | 'workload.restart',
): (ctx: HubContext, call: ApiCall, input: Input<'workload.start'>) => Promise<Output<'workload.start'>> {
  return async (ctx, { user }, input) => {
    const { device, ref } = await findWorkload(ctx, user, input);
    return runOnNode(ctx, user, device, name, { ref }, input);
  };
}

// ---- the handlers --------------------------------------------------------------------------------

export const HUB_HANDLERS: { [K in HubProcedureName]: HubHandler<K> } = {
  'user.register': (ctx, { ip }, { email, password }) => ctx.accounts.register(email, password, ip),
  'user.login': (ctx, { ip }, { email, password }) => ctx.accounts.login(email, password, ip),
  'user.me': async (_ctx, { user }) => user,

  'node.list': (ctx, { user }) => ctx.inventory.nodes(user.id),

  'workload.list': async (ctx, { user }, input) => {
    const all = await workloadsOf(ctx, user);
    if (!input?.node) return all;
    const node = findNode(await ctx.inventory.nodes(user.id), input.node);
    return all.filter((w) => w.node.id === node.id);
  },

  'workload.get': async (ctx, { user }, input) => {
    const { device, ref, known } = await findWorkload(ctx, user, input);
    const node = ctx.inventory.node(device);
    if (!node.online) {
      if (!known)
        throw new LatticeError('not_found', `No workload "${input.ref}" on "${device.name}"`, 'ref');
      return {
        workload: known,
        live: null,
        liveUnavailable: `Live details unavailable: "${device.name}" is offline; this is the state it reported ${ago(known.ageSeconds)} ago`,
      };
    }
    const { value } = await runOnNode(ctx, user, device, 'workload.get', { ref });
    const live = value!;
    // The answer just read is the freshest state there is; the inventory follows by the agent's event.
    const workload: InventoryWorkload = known
      ? { ...known, ...WorkloadState.parse(live), observedAt: new Date().toISOString(), ageSeconds: 0 }
      : {
          ...WorkloadState.parse(live),
          node,
          observedAt: new Date().toISOString(),
          ageSeconds: 0,
          pendingCommands: 0,
        };
    return { workload, live };
  },

  'workload.deploy': async (ctx, { user }, input) => {
    const { node: target, queue, queueExpires, id, ...spec } = input;
    const nodes = await ctx.inventory.nodes(user.id);
    const requested = spec.template === 'custom' ? (spec.memory ?? 0) : 0;
    const chosen = target === 'auto' ? placeAuto(nodes, requested) : findNode(nodes, target);
    const device = await requireOwnDevice(ctx, user, chosen.id);
    const out = await runOnNode(ctx, user, device, 'workload.deploy', spec, { queue, queueExpires, id });
    if (!out.value) return { node: out.node, queued: out.queued };
    const { share, shareError, ...workload } = out.value as DeployResult;
    return { node: out.node, workload, share, shareError };
  },

  'workload.start': lifecycle('workload.start'),
  'workload.stop': lifecycle('workload.stop'),
  'workload.restart': lifecycle('workload.restart'),
  'workload.delete': async (ctx, { user }, input) => {
    const { device, ref } = await findWorkload(ctx, user, input);
    return runOnNode(ctx, user, device, 'workload.delete', { ref, volumes: input.volumes }, input);
  },
  'workload.logs': async (ctx, { user }, input) => {
    const { device, ref } = await findWorkload(ctx, user, input);
    return (await runOnNode(ctx, user, device, 'workload.logs', { ref, tail: input.tail })).value!;
  },

  'share.create': async (ctx, { user }, { node, ...args }) => {
    const { device, ref } = await findWorkload(ctx, user, { ref: args.workload, node });
    const out = await runOnNode(ctx, user, device, 'share.create', { ...args, workload: ref });
    return { ...out.value!, node: out.node };
  },
  'share.revoke': async (ctx, { user }, { ref, node }) => {
    const device = node
      ? await nodeByRef(ctx, user, node)
      : await findWorkload(ctx, user, { ref }).then(
          (w) => w.device,
          async () => (await shareOwner(ctx, user, ref)) ?? Promise.reject(notShared(ref)),
        );
    const out = await runOnNode(ctx, user, device, 'share.revoke', { ref });
    return { node: out.node, revoked: out.value!.revoked };
  },
  'share.list': async (ctx, { user }, input) => {
    const nodes = (await ctx.inventory.nodes(user.id)).filter((n) => n.online);
    const wanted = input?.node ? [findNode(nodes, input.node)] : nodes;
    const lists = await Promise.all(
      wanted.map(async (n) => {
        const out = await runOnNode(ctx, user, await requireOwnDevice(ctx, user, n.id), 'share.list', {});
        return out.value!.map((s) => ({ ...s, node: out.node }));
      }),
    );
    return lists.flat();
  },

  'queue.list': async (ctx, { user }, input) => {
    const devices = await ctx.store.devicesOfUser(user.id);
    const deviceId = input?.node ? findNode(await ctx.inventory.nodes(user.id), input.node).id : undefined;
    return ctx.queue.list(user.id, devices, { status: input?.status, deviceId });
  },
  'queue.cancel': async (ctx, { user }, { id }) =>
    ctx.queue.cancel(user.id, id, await ctx.store.devicesOfUser(user.id)),
};

const notShared = (ref: string) =>
  new LatticeError('not_found', `No share or workload "${ref}" in this account`, 'ref');

/** The online computer holding share `shareId`, asked of each. */
async function shareOwner(ctx: HubContext, user: HubUser, shareId: string): Promise<DeviceRow | undefined> {
  for (const n of (await ctx.inventory.nodes(user.id)).filter((x) => x.online)) {
    const device = await requireOwnDevice(ctx, user, n.id);
    const out = await runOnNode(ctx, user, device, 'share.list', {}).catch(() => undefined);
    if (out?.value?.some((s) => s.id === shareId)) return device;
  }
  return undefined;
}
