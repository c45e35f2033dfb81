import { z } from 'zod';
import { ErrorBody } from './errors';
import { AgentEvent } from './events';
import { Workload } from './workload';

/**
 * Messages on the agent's control WebSocket (`/agent`, device token in the Authorization header).
 * Every message is a JSON object tagged by `type`; requests carry an `id` that pairs them with the reply.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/**
 * The hub closes an agent's socket with this code when it keeps sending messages the hub does not
 * understand, and refuses it with the same code for a cool-down; the agent redials slowly after it.
 */
export const CLOSE_PROTOCOL_VIOLATIONS = 4008;

export const HubUser = z.object({ id: z.string(), email: z.string() });
export type HubUser = z.infer<typeof HubUser>;

/**
 * A workload's state without its credentials (connection string, user, password, database, keys):
 * what agents report to the hub's inventory. Secrets never leave the desktop except in a live answer
 * to the owner; parsing with this schema drops them.
 */
export const WorkloadState = Workload.omit({
  connectionString: true,
  username: true,
  password: true,
  database: true,
  accessKey: true,
  secretKey: true,
});
export type WorkloadState = z.infer<typeof WorkloadState>;

/**
 * Every field that carries a secret in a command's result: the credentials a full Workload has and
 * WorkloadState has not, and a share's second connection string (it holds the share's password too).
 */
const CREDENTIAL_KEYS = new Set([
  ...Object.keys(Workload.shape).filter((k) => !Object.prototype.hasOwnProperty.call(WorkloadState.shape, k)),
  'connectionStringStrict',
]);

/**
 * A result without credentials, at any depth (a deploy's workload and its share): what the hub may keep.
 * A value with nothing to leave out comes back as the same object, so callers can tell by identity.
 */
export function withoutCredentials(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value.map(withoutCredentials);
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  let changed = false;
  const kept: [string, unknown][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (CREDENTIAL_KEYS.has(k)) {
      changed = true;
      continue;
    }
    const w = withoutCredentials(v);
    if (w !== v) changed = true;
    kept.push([k, w]);
  }
  return changed ? Object.fromEntries(kept) : value;
}

const bytes = z.number().int().min(0);

/** What a computer can take, sent by its agent on connect and with every heartbeat (about every 15 s). */
export const NodeCapacity = z.object({
  cpus: z.number().int().min(0),
  memoryTotalBytes: bytes,
  memoryFreeBytes: bytes,
  /** Free space where Docker keeps its data (or the agent's data dir); null when it cannot be read. */
  diskFreeBytes: bytes.nullable(),
  runningWorkloads: z.number().int().min(0),
  /** The owner's setting: may the remote door (dashboard, hub API) deploy here at all? */
  allowsRemoteDeploy: z.boolean(),
  /** The memory remote deploys may use here; null: no cap beyond what is free. */
  remoteDeployMemoryCapBytes: bytes.nullable(),
  /** Memory used now by the running workloads deployed from the remote door. */
  remoteMemoryUsedBytes: bytes,
});
export type NodeCapacity = z.infer<typeof NodeCapacity>;

/**
 * How visitors verify the hub's certificate on a relay port: `publiclyTrusted` (libpq
 * `sslrootcert=system`), or the CA in `caPem`, which the hub also serves at `caUrl`.
 */
export const RelayTls = z.object({
  protection: z.enum(['postgres', 'tls']),
  publiclyTrusted: z.boolean(),
  caPem: z
    .string()
    .max(64 * 1024)
    .optional(),
  caUrl: z.string().optional(),
});
export type RelayTls = z.infer<typeof RelayTls>;

/** Where a hub on a private CA serves that CA (`caUrl` is this path on the hub). */
export const RELAY_CA_PATH = '/api/relay-ca.pem';
/** The file name the CA is saved under: the download's name, and `sslrootcert=` in share strings. */
export const RELAY_CA_FILE = 'lattice-relay-ca.pem';

/**
 * The `Upgrade` token of a relay stream that carries a visitor's bytes as they are: after the hub's
 * `101 Switching Protocols` the connection is the visitor's TCP stream (its end is the visitor's end).
 * One connection per visitor, so it needs no framing of its own; an HTTP/1.1 proxy that forwards
 * upgrades passes it, one that knows only WebSocket refuses it and the agent falls back to one.
 */
export const BYTE_STREAM_PROTOCOL = 'lattice-stream/1';

/** hub → agent */
export const HubToAgent = z.discriminatedUnion('type', [
  /** A command from the owner's dashboard; `id` is the idempotency key. */
  z.object({
    type: z.literal('command'),
    id: z.string().min(1).max(128),
    name: z.string(),
    args: z.unknown(),
    user: HubUser,
  }),
  /**
   * A visitor connected to a relay share: dial `/agent/stream/:streamId` and pipe it to the workload.
   * `hubUrl`, in a cluster, names the hub process that holds the visitor (it may not be the one this
   * control link reached); the agent dials it only with the same scheme as its own hub link.
   * `byteStream`: the hub also takes the stream as an HTTP upgrade to BYTE_STREAM_PROTOCOL (bytes as
   * they are, no WebSocket frames); without it, or when that upgrade is not answered with 101, the
   * agent dials a WebSocket.
   */
  z.object({
    type: z.literal('stream.open'),
    streamId: z.string(),
    shareId: z.string(),
    hubUrl: z.string().max(2048).optional(),
    byteStream: z.boolean().optional(),
  }),
  /** Reply to relay.open. */
  z.object({
    type: z.literal('relay.opened'),
    requestId: z.string(),
    shareId: z.string(),
    publicHost: z.string(),
    publicPort: z.number().int().optional(),
    url: z.string(),
    /** Present when the hub secures the public side with its certificate (see RelayTls). */
    tls: RelayTls.optional(),
  }),
  z.object({ type: z.literal('relay.error'), requestId: z.string(), error: ErrorBody }),
]);
export type HubToAgent = z.infer<typeof HubToAgent>;

/** agent → hub */
export const AgentToHub = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), agentVersion: z.string(), name: z.string() }),
  z.object({
    type: z.literal('result'),
    id: z.string(),
    result: z.discriminatedUnion('ok', [
      z.object({ ok: z.literal(true), value: z.unknown() }),
      z.object({ ok: z.literal(false), error: ErrorBody }),
    ]),
  }),
  z.object({ type: z.literal('event'), event: AgentEvent }),
  /** Ask the hub for a public port (tcp) or route (http) for a share; `preferredPort` re-opens the same address. */
  z.object({
    type: z.literal('relay.open'),
    requestId: z.string(),
    shareId: z.string(),
    kind: z.enum(['tcp', 'http']),
    preferredPort: z.number().int().optional(),
    basicAuth: z.object({ username: z.string(), password: z.string() }).optional(),
    expiresAt: z.string().nullable(),
    /**
     * How a tcp share's public side is secured when the hub has a certificate: `postgres` (Postgres's
     * SSLRequest negotiation, cleartext logins refused), `tls` (TLS from the first byte; the default),
     * `plain` (no TLS, asked for by the share). HTTP shares are always HTTPS then.
     */
    protection: z.enum(['postgres', 'tls', 'plain']).optional(),
  }),
  /** Close a share's public port and every open connection through it. */
  z.object({ type: z.literal('relay.close'), shareId: z.string() }),
  /** Every workload of this computer, without secrets: sent on connect, replaces the hub's copy. */
  z.object({ type: z.literal('inventory.snapshot'), workloads: z.array(WorkloadState).max(2000) }),
  /** One workload was created or changed state. */
  z.object({ type: z.literal('inventory.changed'), workload: WorkloadState }),
  z.object({ type: z.literal('inventory.removed'), id: z.string() }),
  /** Sent on connect and then with the heartbeat. */
  z.object({ type: z.literal('capacity'), capacity: NodeCapacity }),
]);
export type AgentToHub = z.infer<typeof AgentToHub>;

export const QueuedCommandStatus = z.enum(['pending', 'delivered', 'done', 'failed', 'cancelled', 'expired']);
export type QueuedCommandStatus = z.infer<typeof QueuedCommandStatus>;

/**
 * A command the hub keeps for a computer that was offline (`queue: true`), delivered in order when it
 * reconnects. Its id is the agent's idempotency key, so a redelivery after a lost result is harmless.
 */
export const QueuedCommand = z.object({
  id: z.string(),
  nodeId: z.string(),
  nodeName: z.string(),
  /** A command of shared/commands.ts (`workload.start`, `workload.deploy`, …). */
  name: z.string(),
  /** What it acts on, in words (`postgres "orders"`, `"orders"`); never argument values that may be secret. */
  summary: z.string(),
  /** The workload it acts on, by the name or id it was given; null for a deploy (and commands queued before hubs kept it). */
  ref: z.string().nullable(),
  status: QueuedCommandStatus,
  /** Set once it finished: the agent's answer, secrets removed (a deploy's credentials stay on the desktop). */
  result: z
    .discriminatedUnion('ok', [
      z.object({ ok: z.literal(true), value: z.unknown() }),
      z.object({ ok: z.literal(false), error: ErrorBody }),
    ])
    .nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  deliveredAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type QueuedCommand = z.infer<typeof QueuedCommand>;

/** hub → dashboard, on `/api/events` */
export const DashboardEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('presence'),
    deviceId: z.string(),
    online: z.boolean(),
    lastSeenAt: z.string().nullable(),
  }),
  z.object({ type: z.literal('device.event'), deviceId: z.string(), event: AgentEvent }),
  /** A queued command was created, delivered, finished, cancelled or expired. */
  z.object({ type: z.literal('queue.changed'), command: QueuedCommand }),
]);
export type DashboardEvent = z.infer<typeof DashboardEvent>;

// ---- Hub HTTP API ----

export const AccountCredentials = z.strictObject({
  email: z.email({ error: 'must be an email address' }).max(254),
  password: z.string().min(10, 'must be at least 10 characters').max(1024),
});
export const AuthResponse = z.object({ user: HubUser, accessToken: z.string(), refreshToken: z.string() });
export type AuthResponse = z.infer<typeof AuthResponse>;
/** Registration answers this whether the email was new or taken; signing in decides. */
export const RegisterResponse = z.object({ registered: z.literal(true), message: z.string() });
export type RegisterResponse = z.infer<typeof RegisterResponse>;

export const PairingCode = z.object({
  code: z.string(),
  expiresAt: z.string(),
  /**
   * Present when the hub's certificate is from a private CA: where that CA is downloaded. A desktop
   * must be given it to pair (`lattice pair --hub-ca FILE`, or the Hub CA field of Settings → Pair).
   */
  hubCaUrl: z.string().optional(),
});
export type PairingCode = z.infer<typeof PairingCode>;
export const PairRedeem = z.strictObject({
  code: z.string().min(4).max(64),
  name: z.string().min(1).max(64),
});
export const PairRedeemResponse = z.object({ deviceId: z.string(), deviceToken: z.string() });

export const Device = z.object({
  id: z.string(),
  name: z.string(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
});
export type Device = z.infer<typeof Device>;

export const RelayCommand = z.strictObject({
  id: z.string().min(1).max(128),
  name: z.string(),
  args: z.unknown(),
});

/** The WebSocket subprotocol prefix a browser uses to pass its access token at upgrade. */
export const TOKEN_PROTOCOL_PREFIX = 'lattice.token.';
