// What the hub keeps, behind one interface: SQLite (sqlite-store.ts) for a person or a team; a
// PostgreSQL implementation can take its place when the hub runs as several instances. Every method
// is async so such a store fits without changing callers.
import type { ErrorCode, NodeCapacity, QueuedCommandStatus, Result, WorkloadState } from '../../shared';

export interface UserRow {
  id: string;
  email: string;
  passwordHash: string;
  /** Bumped by logout and password change: access tokens carrying an older value are refused. */
  tokenVersion: number;
  createdAt: string;
}

export interface DeviceRow {
  id: string;
  userId: string;
  name: string;
  /** The `jti` of the one device token that is valid for this device. */
  tokenId: string;
  revoked: boolean;
  createdAt: string;
  lastSeenAt: string | null;
}

export interface AuditEntry {
  userId: string;
  deviceId: string;
  commandId: string;
  commandName: string;
  ok: boolean;
  /** The error code when the command failed; never argument values (they may hold secrets). */
  errorCode: ErrorCode | null;
  at: string;
}

export interface StoredCommandResult {
  deviceId: string;
  commandId: string;
  userId: string;
  name: string;
  result: Result<unknown>;
}

/**
 * What relaying one command needs from the store, read at once: the caller's account (its token
 * version decides whether the access token still counts), the device (whose owner is checked) and any
 * result already stored under the command id (the idempotency record).
 */
export interface CommandLookup {
  /** Undefined when the account no longer exists. */
  user: Pick<UserRow, 'id' | 'email' | 'tokenVersion'> | undefined;
  /** The device as deviceById returns it, whoever owns it: the caller checks. */
  device: DeviceRow | undefined;
  stored: StoredCommandResult | undefined;
}

export interface RelayAssignment {
  shareId: string;
  /** The share's account: the port is theirs until the share ends. */
  userId: string;
  deviceId: string;
  port: number;
  kind: 'tcp' | 'http';
  /** The share's expiry; null when it lasts until revoked. */
  expiresAt: string | null;
  updatedAt: string;
}

/** The relay's port reservations (server/relay/hub-relay.ts); part of the hub's one store. */
export interface RelayAssignmentStore {
  relayAssignment(shareId: string): Promise<RelayAssignment | undefined>;
  relayAssignmentAt(port: number): Promise<RelayAssignment | undefined>;
  /** Every reservation, oldest first. */
  relayAssignments(): Promise<RelayAssignment[]>;
  /**
   * Reserves `port` for the share, or moves the share's reservation there. False when another share
   * holds the port, or the share id is reserved by another device: the database has the last word
   * when two requests race.
   */
  reserveRelayPort(a: Omit<RelayAssignment, 'updatedAt'>): Promise<boolean>;
  /**
   * Reserves `port` for a share that has no reservation yet, only while its account holds fewer than
   * `accountCap` reservations. Counting and inserting are one step for the database (an advisory lock
   * per account on PostgreSQL), so two hubs opening an account's last share at the same moment cannot
   * both pass the cap. `port_taken`: another share holds the port, or the share id is reserved already.
   */
  reserveNewRelayPort(
    a: Omit<RelayAssignment, 'updatedAt'>,
    accountCap: number,
  ): Promise<'reserved' | 'port_taken' | 'account_full'>;
  releaseRelayPort(shareId: string): Promise<void>;
  releaseRelayPortsOfDevice(deviceId: string): Promise<void>;
}

export interface InventoryRecord {
  deviceId: string;
  workload: WorkloadState;
  /** When the device reported this state. */
  observedAt: string;
}

export interface CapacityRecord {
  deviceId: string;
  capacity: NodeCapacity;
  reportedAt: string;
}

/** What the hub keeps of each computer's workloads and capacity (server/inventory.ts). */
export interface InventoryStore {
  /** Replaces everything known of the device's workloads (the snapshot an agent sends on connect). */
  replaceInventory(deviceId: string, workloads: WorkloadState[], at: string): Promise<void>;
  upsertInventory(deviceId: string, workload: WorkloadState, at: string): Promise<void>;
  removeInventory(deviceId: string, workloadId: string): Promise<void>;
  /** The workloads of the user's devices that are not revoked. */
  inventoryOfUser(userId: string): Promise<InventoryRecord[]>;
  saveCapacity(deviceId: string, capacity: NodeCapacity, at: string): Promise<void>;
  capacitiesOfUser(userId: string): Promise<CapacityRecord[]>;
}

export interface QueuedCommandRow {
  id: string;
  userId: string;
  deviceId: string;
  name: string;
  /** Null once delivered, cancelled or expired. */
  args: unknown;
  summary: string;
  /** The workload it acts on, by the name or id it was given; null for a deploy. */
  ref: string | null;
  status: QueuedCommandStatus;
  result: Result<unknown> | null;
  createdAt: string;
  expiresAt: string;
  deliveredAt: string | null;
  finishedAt: string | null;
}

/** Commands waiting for offline computers (server/command-queue.ts). */
export interface CommandQueueStore {
  /** False when the user already has a command with this id. */
  enqueueCommand(
    row: Omit<QueuedCommandRow, 'status' | 'result' | 'deliveredAt' | 'finishedAt'>,
  ): Promise<boolean>;
  queuedCommand(userId: string, id: string): Promise<QueuedCommandRow | undefined>;
  /** Newest first. */
  queuedCommandsOfUser(
    userId: string,
    filter?: { status?: QueuedCommandStatus; deviceId?: string },
  ): Promise<QueuedCommandRow[]>;
  /** Pending and delivered-but-unanswered commands of a device, in the order they were queued. */
  undeliveredCommands(deviceId: string): Promise<QueuedCommandRow[]>;
  /**
   * Moves a command to `status` when it is in one of `from` (the database decides a race between a
   * cancel and a delivery); the returned row, or undefined when it was not in `from`.
   */
  transitionCommand(
    userId: string,
    id: string,
    from: QueuedCommandStatus[],
    to: Pick<QueuedCommandRow, 'status'> &
      Partial<Pick<QueuedCommandRow, 'result' | 'deliveredAt' | 'finishedAt'>> & { dropArgs?: boolean },
  ): Promise<QueuedCommandRow | undefined>;
  /** Marks pending commands past their expiry `expired` (arguments dropped); returns them. */
  expireCommands(now: string): Promise<QueuedCommandRow[]>;
}

/**
 * One attempt limit as the store counts it (built by server/auth/rate-limit.ts). `window`: at most
 * `max` attempts in a window of `windowMs` that begins with the first. `delay`: `free` attempts, then
 * each further one waits `baseMs` × 2^(attempts − free) (at most `maxDelayMs`) after the latest;
 * forgotten `windowMs` after the latest.
 */
export type RateLimitRule =
  | { kind: 'window'; name: string; max: number; windowMs: number }
  | { kind: 'delay'; name: string; free: number; baseMs: number; maxDelayMs: number; windowMs: number };

/** The counts of one limiter's key (table rate_limits); times in ms since the epoch. */
export interface RateLimitRow {
  attempts: number;
  lastMs: number;
  expiresMs: number;
}

/**
 * The attempt counters of the hub's limits (server/auth/rate-limit.ts), shared by every hub on the
 * database. The check and the count are one statement, so of two hubs racing for the last allowed
 * attempt only one gets it.
 */
export interface RateLimitStore {
  /** Counts one attempt when the rule lets `key` try at `nowMs`: undefined; else the row that refused it. */
  chargeRateLimit(rule: RateLimitRule, key: string, nowMs: number): Promise<RateLimitRow | undefined>;
  rateLimit(name: string, key: string): Promise<RateLimitRow | undefined>;
  /** Takes one counted attempt back (it succeeded, or was never evaluated). */
  refundRateLimit(name: string, key: string): Promise<void>;
  /** The counted attempt has just failed: a delay rule's wait counts from `nowMs`. */
  failedRateLimit(rule: RateLimitRule, key: string, nowMs: number): Promise<void>;
  clearRateLimit(name: string, key: string): Promise<void>;
  /** Deletes expired rows and rows refunded to nothing; returns how many. */
  pruneRateLimits(nowMs: number): Promise<number>;
}

export interface HubStore extends RelayAssignmentStore, InventoryStore, CommandQueueStore, RateLimitStore {
  createUser(user: { id: string; email: string; passwordHash: string }): Promise<UserRow | 'email_taken'>;
  userByEmail(email: string): Promise<UserRow | undefined>;
  userById(id: string): Promise<UserRow | undefined>;
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /** Invalidates the user's outstanding access tokens; returns the new version. */
  bumpTokenVersion(userId: string): Promise<number>;

  addRefreshToken(token: { jti: string; userId: string; expiresAt: string }): Promise<void>;
  /** Marks the token used; 'ok' the first time, 'reused' if it was already revoked, 'unknown' otherwise. */
  consumeRefreshToken(jti: string, userId: string): Promise<'ok' | 'reused' | 'unknown'>;
  revokeRefreshTokens(userId: string): Promise<void>;

  addPairingCode(code: { codeHash: string; userId: string; expiresAt: string }): Promise<void>;
  /** Redeems a code once: the owner's id if it was valid, unused and unexpired. Marks it used. */
  redeemPairingCode(codeHash: string, now: string): Promise<string | undefined>;

  createDevice(device: { id: string; userId: string; name: string; tokenId: string }): Promise<DeviceRow>;
  deviceById(id: string): Promise<DeviceRow | undefined>;
  devicesOfUser(userId: string): Promise<DeviceRow[]>;
  revokeDevice(id: string): Promise<void>;
  touchDevice(id: string, at: string): Promise<void>;

  commandResult(deviceId: string, commandId: string): Promise<StoredCommandResult | undefined>;
  /**
   * userById, deviceById and commandResult in one query: every command posted to the hub needs all
   * three, and three reads were a fifth of the hub's time per command (three read transactions in
   * SQLite, three round trips to PostgreSQL).
   */
  commandLookup(userId: string, deviceId: string, commandId: string): Promise<CommandLookup>;
  saveCommandResult(entry: StoredCommandResult): Promise<void>;

  audit(entry: AuditEntry): Promise<void>;
  auditLog(userId: string, limit?: number): Promise<AuditEntry[]>;

  /**
   * The signing key of hubs sharing this database: `offered` (PKCS#8 PEM) becomes it if there is none
   * yet; either way the key in the database is returned. The database decides between hubs racing.
   */
  adoptSigningKey(offered: string): Promise<string>;

  close(): Promise<void>;
}
