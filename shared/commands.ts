import { z } from 'zod';
import { LogLine, Workload, WorkloadRef, WorkloadStats } from './workload';
import { DeployCommandArgs, DeployResult } from './deploy';
import { Share, ShareCreateArgs } from './share';
import { Settings, SettingsPatch, SystemInfo } from './settings';

const ref = z.strictObject({ ref: WorkloadRef });
const none = z.strictObject({}).default({});
const ok = z.object({ ok: z.literal(true) });

interface CommandDef<A extends z.ZodType, R extends z.ZodType> {
  args: A;
  result: R;
  /** Refused from the remote door whatever the arguments. */
  localOnly?: boolean;
  summary: string;
}
const def = <A extends z.ZodType, R extends z.ZodType>(d: CommandDef<A, R>) => d;

/**
 * The one command set. Every door (IPC, local API, hub relay) carries exactly these, and the agent's
 * dispatcher validates and executes them.
 */
export const COMMANDS = {
  'workload.deploy': def({
    args: DeployCommandArgs,
    result: DeployResult,
    summary: 'Deploy a template or a custom image, and share it once ready when asked',
  }),
  'workload.list': def({ args: none, result: z.array(Workload), summary: 'List workloads' }),
  'workload.get': def({ args: ref, result: Workload, summary: 'One workload by name or id' }),
  'workload.start': def({ args: ref, result: Workload, summary: 'Start a stopped workload' }),
  'workload.stop': def({ args: ref, result: Workload, summary: 'Stop a workload (data is kept)' }),
  'workload.restart': def({ args: ref, result: Workload, summary: 'Restart a workload' }),
  'workload.delete': def({
    args: z.strictObject({ ref: WorkloadRef, volumes: z.boolean().default(false) }),
    result: z.object({ id: z.string(), volumesRemoved: z.boolean() }),
    summary: 'Delete a workload, and its volumes when asked',
  }),
  'workload.logs': def({
    args: z.strictObject({ ref: WorkloadRef, tail: z.number().int().min(0).max(10_000).default(200) }),
    result: z.object({ lines: z.array(LogLine) }),
    summary: 'Recent log lines',
  }),
  'workload.stats': def({ args: ref, result: WorkloadStats, summary: 'CPU, memory and network now' }),
  'workload.approve': def({
    args: ref,
    result: Workload,
    localOnly: true,
    summary: 'Approve a remote deploy of an image outside the catalog and allow-list',
  }),
  'share.create': def({ args: ShareCreateArgs, result: Share, summary: 'Share a workload with the world' }),
  'share.revoke': def({
    args: z.strictObject({ ref: z.string().min(1) }),
    result: z.object({ revoked: z.array(z.string()) }),
    summary: 'Revoke a share (by share id, or every share of a workload)',
  }),
  'share.list': def({ args: none, result: z.array(Share), summary: 'Shares and their time left' }),
  'settings.get': def({ args: none, result: Settings, summary: 'Settings' }),
  'settings.set': def({ args: SettingsPatch, result: Settings, localOnly: true, summary: 'Change settings' }),
  'system.info': def({ args: none, result: SystemInfo, summary: 'Docker and agent status' }),
  'hub.pair': def({
    args: z.strictObject({
      hubUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
      code: z.string().min(4).max(64),
      name: z.string().min(1).max(64).optional(),
      /** PEM of the private CA the hub's certificate comes from (its `/api/relay-ca.pem`); checked by the agent. */
      hubCaPem: z.string().min(1).max(65_536).optional(),
    }),
    result: z.object({ deviceId: z.string(), hubUrl: z.string() }),
    localOnly: true,
    summary: 'Pair this computer with a hub account',
  }),
  'hub.unpair': def({ args: none, result: ok, localOnly: true, summary: 'Forget the hub' }),
} as const;

export type Commands = typeof COMMANDS;
export type CommandName = keyof Commands;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];
export const isCommandName = (name: unknown): name is CommandName =>
  typeof name === 'string' && Object.prototype.hasOwnProperty.call(COMMANDS, name);

/**
 * Commands refused from the remote door whatever their arguments (settings, pairing, approval). The
 * hub refuses them before relaying; the agent's policy refuses them again, whoever relayed them.
 */
export const isLocalOnly = (name: CommandName): boolean =>
  (COMMANDS[name] as { localOnly?: boolean }).localOnly === true;

export type CommandArgs<K extends CommandName> = z.input<Commands[K]['args']>;
export type ParsedArgs<K extends CommandName> = z.output<Commands[K]['args']>;
export type CommandResult<K extends CommandName> = z.output<Commands[K]['result']>;

/** Which door a command came through, and who asked. The policy decides from this. */
export interface CommandContext {
  door: 'local' | 'remote';
  /** For remote commands: the hub user the command was relayed for. */
  user?: { id: string; email: string };
  /** Idempotency key (remote command id). */
  commandId?: string;
}

/** The one entry every transport calls. */
export interface Dispatch {
  <K extends CommandName>(name: K, args: unknown, ctx: CommandContext): Promise<CommandResult<K>>;
}
