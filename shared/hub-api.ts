import { z } from 'zod';
import { DeployShare } from './deploy';
import { ErrorBody } from './errors';
import {
  AccountCredentials,
  AuthResponse,
  HubUser,
  QueuedCommand,
  QueuedCommandStatus,
  RegisterResponse,
  WorkloadState,
} from './hub-protocol';
import { Share, ShareCreateArgs } from './share';
import { DeployCustom, DeployMinio, DeployPostgres, LogLine, Workload, WorkloadRef } from './workload';

/**
 * The hub's account-wide API: the original design's tRPC procedures at `/trpc` (`GET` for queries,
 * `POST` for mutations) and the REST routes under `/api`, both answering from the same handlers.
 * `workload.*` here means every workload of the account, on whichever computer it runs.
 */

/** A computer of the account, by id or by name. */
export const NodeRef = z.string().min(1, 'a computer id or name is required').max(64);
/** Where a deploy goes: a computer (id or name), or `auto` to let the hub pick. */
export const NodeTarget = z.union([z.literal('auto'), NodeRef]);

/** How long a queued command waits for its computer: `1h`, `24h`, `7d`, or seconds. Default 24 h. */
export const QueueExpiry = z.union([
  z.enum(['1h', '24h', '7d']),
  z
    .number()
    .int()
    .min(1, 'must be at least 1 second')
    .max(7 * 86_400, 'must be at most 7 days'),
]);
export type QueueExpiry = z.input<typeof QueueExpiry>;
export const QUEUE_EXPIRY_SECONDS = { '1h': 3_600, '24h': 86_400, '7d': 7 * 86_400 } as const;
export const DEFAULT_QUEUE_EXPIRY = '24h';

/** For commands aimed at a computer that may be offline: wait on the hub instead of failing. */
const Queueing = {
  /** Queue the command when the computer is offline (default false: fail at once with device_offline). */
  queue: z.boolean().default(false),
  queueExpires: QueueExpiry.default(DEFAULT_QUEUE_EXPIRY),
  /** The command id, an idempotency key: a retry with the same id never runs twice. Made up when left out. */
  id: z.string().min(1).max(128).optional(),
};

const NodeSummary = z.object({ id: z.string(), name: z.string(), online: z.boolean() });
export type NodeSummary = z.infer<typeof NodeSummary>;

/** A workload's last known state as the hub keeps it (no secrets), with its computer and the state's age. */
export const InventoryWorkload = WorkloadState.extend({
  node: NodeSummary,
  /** When the computer reported this state. */
  observedAt: z.string(),
  /** Seconds since `observedAt` at the time of the answer. */
  ageSeconds: z.number().int().min(0),
  /** Queued commands for this workload that have not run yet. */
  pendingCommands: z.number().int().min(0),
});
export type InventoryWorkload = z.infer<typeof InventoryWorkload>;

/** A computer of the account: presence, what it last reported of its capacity, and its remote-deploy rules. */
export const NodeInfo = z.object({
  id: z.string(),
  name: z.string(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  /** When the capacity below was reported; null: never (every capacity field is then null). */
  capacityAt: z.string().nullable(),
  cpus: z.number().int().nullable(),
  memoryTotalBytes: z.number().nullable(),
  memoryFreeBytes: z.number().nullable(),
  diskFreeBytes: z.number().nullable(),
  runningWorkloads: z.number().int().nullable(),
  allowsRemoteDeploy: z.boolean(),
  remoteDeployMemoryCapBytes: z.number().nullable(),
  /** What `node: "auto"` compares: free memory, lowered to what the cap leaves for remote deploys. */
  placeableMemoryBytes: z.number().nullable(),
  /** Workloads in the inventory for this computer. */
  workloads: z.number().int().min(0),
});
export type NodeInfo = z.infer<typeof NodeInfo>;

const placement = {
  /** A computer's id or name, or `auto`: the online computer allowing remote deploys with the most free memory. */
  node: NodeTarget.default('auto'),
  /** Opened once the workload is ready; if it cannot be, the workload stays and `shareError` says why. */
  share: DeployShare.optional(),
  ...Queueing,
};

/** `workload.deploy` on the hub: the agent's deploy arguments plus where to run it and whether to wait. */
export const HubDeployInput = z.discriminatedUnion(
  'template',
  [DeployPostgres.extend(placement), DeployMinio.extend(placement), DeployCustom.extend(placement)],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? 'unknown template (use postgres, minio or custom)' : undefined,
  },
);
export type HubDeployInput = z.input<typeof HubDeployInput>;

/**
 * What a command aimed at one computer came to: run now (`value`), or queued because the computer is
 * offline (`queued`). Exactly one of the two is set.
 */
const outcome = <T extends z.ZodType>(value: T) =>
  z.object({ node: NodeSummary, value: value.optional(), queued: QueuedCommand.optional() });

export const HubDeployOutput = z.object({
  node: NodeSummary,
  /** The live answer from the computer, credentials included (for the owner only; never stored on the hub). */
  workload: Workload.optional(),
  share: Share.optional(),
  shareError: ErrorBody.optional(),
  /** Set instead of `workload` when the computer was offline and `queue` was asked for. */
  queued: QueuedCommand.optional(),
});
export type HubDeployOutput = z.infer<typeof HubDeployOutput>;

/** A workload of the account: by id or name, with its computer when the name is on more than one. */
export const WorkloadTarget = z.strictObject({ ref: WorkloadRef, node: NodeRef.optional() });
const lifecycle = WorkloadTarget.extend(Queueing);

export const WorkloadDetails = z.object({
  workload: InventoryWorkload,
  /** Connection details and credentials, straight from the computer; null when it is offline. */
  live: Workload.nullable(),
  /** Why `live` is null: "live details unavailable: …". */
  liveUnavailable: z.string().optional(),
});
export type WorkloadDetails = z.infer<typeof WorkloadDetails>;

export const NodeShare = Share.extend({ node: NodeSummary });
export type NodeShare = z.infer<typeof NodeShare>;

type ProcedureKind = 'query' | 'mutation';
interface ProcedureDef<I extends z.ZodType, O extends z.ZodType> {
  kind: ProcedureKind;
  input: I;
  output: O;
  /** Needs `Authorization: Bearer <access token>`. */
  auth: boolean;
  summary: string;
}
const proc = <I extends z.ZodType, O extends z.ZodType>(d: ProcedureDef<I, O>) => d;
const noInput = z.strictObject({}).optional();

/** Every procedure of the hub API: name → kind, input, output. The tRPC router and its docs are built from it. */
export const HUB_PROCEDURES = {
  'user.register': proc({
    kind: 'mutation',
    input: AccountCredentials,
    output: RegisterResponse,
    auth: false,
    summary: 'Create an account (answers alike whether the email was new or taken)',
  }),
  'user.login': proc({
    kind: 'mutation',
    input: z.strictObject({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024) }),
    output: AuthResponse,
    auth: false,
    summary: 'Sign in: an access token (Bearer) and a refresh token',
  }),
  'user.me': proc({
    kind: 'query',
    input: noInput,
    output: HubUser,
    auth: true,
    summary: 'Who is signed in',
  }),
  'node.list': proc({
    kind: 'query',
    input: noInput,
    output: z.array(NodeInfo),
    auth: true,
    summary: "The account's computers: presence, capacity, remote-deploy rules",
  }),
  'workload.list': proc({
    kind: 'query',
    input: z.strictObject({ node: NodeRef.optional() }).optional(),
    output: z.array(InventoryWorkload),
    auth: true,
    summary: 'Every workload of the account, on every computer, with its last known state and age',
  }),
  'workload.get': proc({
    kind: 'query',
    input: WorkloadTarget,
    output: WorkloadDetails,
    auth: true,
    summary: 'One workload: its last known state, and live details when its computer is online',
  }),
  'workload.deploy': proc({
    kind: 'mutation',
    input: HubDeployInput,
    output: HubDeployOutput,
    auth: true,
    summary:
      'Deploy on a computer or `auto`; optionally share it once ready, or queue it for an offline computer',
  }),
  'workload.start': proc({
    kind: 'mutation',
    input: lifecycle,
    output: outcome(Workload),
    auth: true,
    summary: 'Start a workload (queued for an offline computer with `queue: true`)',
  }),
  'workload.stop': proc({
    kind: 'mutation',
    input: lifecycle,
    output: outcome(Workload),
    auth: true,
    summary: 'Stop a workload (data is kept)',
  }),
  'workload.restart': proc({
    kind: 'mutation',
    input: lifecycle,
    output: outcome(Workload),
    auth: true,
    summary: 'Restart a workload',
  }),
  'workload.delete': proc({
    kind: 'mutation',
    input: lifecycle.extend({ volumes: z.boolean().default(false) }),
    output: outcome(z.object({ id: z.string(), volumesRemoved: z.boolean() })),
    auth: true,
    summary: 'Delete a workload, and its volumes when asked (also `DELETE /trpc/workload.delete`)',
  }),
  'workload.logs': proc({
    kind: 'query',
    input: WorkloadTarget.extend({ tail: z.number().int().min(0).max(10_000).default(200) }),
    output: z.object({ lines: z.array(LogLine) }),
    auth: true,
    summary: 'Recent log lines (the computer must be online)',
  }),
  'share.create': proc({
    kind: 'mutation',
    input: ShareCreateArgs.extend({ node: NodeRef.optional() }),
    output: NodeShare,
    auth: true,
    summary: 'Share a workload with the world (relay or ngrok)',
  }),
  'share.revoke': proc({
    kind: 'mutation',
    input: z.strictObject({ ref: z.string().min(1), node: NodeRef.optional() }),
    output: z.object({ node: NodeSummary, revoked: z.array(z.string()) }),
    auth: true,
    summary: 'Revoke a share by id, or every share of a workload',
  }),
  'share.list': proc({
    kind: 'query',
    input: z.strictObject({ node: NodeRef.optional() }).optional(),
    output: z.array(NodeShare),
    auth: true,
    summary: "Shares on the account's online computers",
  }),
  'queue.list': proc({
    kind: 'query',
    input: z.strictObject({ status: QueuedCommandStatus.optional(), node: NodeRef.optional() }).optional(),
    output: z.array(QueuedCommand),
    auth: true,
    summary: 'Queued commands, newest first, with their results once run',
  }),
  'queue.cancel': proc({
    kind: 'mutation',
    input: z.strictObject({ id: z.string().min(1).max(128) }),
    output: QueuedCommand,
    auth: true,
    summary: 'Cancel a queued command that has not been delivered yet',
  }),
} as const;

export type HubProcedures = typeof HUB_PROCEDURES;
export type HubProcedureName = keyof HubProcedures;
export const HUB_PROCEDURE_NAMES = Object.keys(HUB_PROCEDURES) as HubProcedureName[];
export type HubProcedureInput<K extends HubProcedureName> = z.input<HubProcedures[K]['input']>;
export type HubProcedureOutput<K extends HubProcedureName> = z.output<HubProcedures[K]['output']>;
