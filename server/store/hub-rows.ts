// The hub's tables as rows come back from either database (snake_case records), and their mapping to
// the HubStore's types: one mapping for the SQLite and the PostgreSQL store.
import type { QueuedCommandStatus, Result } from '../../shared';
import type {
  AuditEntry,
  CommandLookup,
  DeviceRow,
  QueuedCommandRow,
  RelayAssignment,
  StoredCommandResult,
  UserRow,
} from './hub-store';

export interface UserRecord {
  id: string;
  email: string;
  password_hash: string;
  token_version: number;
  created_at: string;
}
export interface DeviceRecord {
  id: string;
  user_id: string;
  name: string;
  token_id: string;
  revoked: number;
  created_at: string;
  last_seen_at: string | null;
}
export interface RelayAssignmentRecord {
  share_id: string;
  user_id: string;
  device_id: string;
  port: number;
  kind: 'tcp' | 'http';
  expires_at: string | null;
  updated_at: string;
}
export interface QueuedRecord {
  id: string;
  user_id: string;
  device_id: string;
  name: string;
  args_json: string | null;
  summary: string;
  ref: string | null;
  status: QueuedCommandStatus;
  result_json: string | null;
  created_at: string;
  expires_at: string;
  delivered_at: string | null;
  finished_at: string | null;
}

export const toUser = (r: UserRecord): UserRow => ({
  id: r.id,
  email: r.email,
  passwordHash: r.password_hash,
  tokenVersion: r.token_version,
  createdAt: r.created_at,
});
export const toDevice = (r: DeviceRecord): DeviceRow => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  tokenId: r.token_id,
  revoked: r.revoked === 1,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
});
/**
 * The one row of commandLookup's query, as an array (better-sqlite3 `raw`, pg `rowMode: 'array'`):
 * building a row object property by property cost more than the lookup itself. A group is NULL when
 * its row does not exist (LEFT JOINs).
 */
export type CommandLookupRecord = [
  userId: string | null,
  email: string,
  tokenVersion: number,
  deviceId: string | null,
  deviceUserId: string,
  deviceName: string,
  tokenId: string,
  revoked: number,
  deviceCreatedAt: string,
  lastSeenAt: string | null,
  resultUserId: string | null,
  resultName: string,
  resultJson: string,
];

/**
 * The query behind commandLookup, for both databases: its `?` are userId, deviceId, deviceId,
 * commandId (pg-store numbers them). Each join is a primary-key lookup; the one-row subquery makes a
 * row come back when none of them finds anything.
 */
export const COMMAND_LOOKUP_SQL = `SELECT u.id, u.email, u.token_version,
  d.id, d.user_id, d.name, d.token_id, d.revoked, d.created_at, d.last_seen_at,
  r.user_id, r.name, r.result_json
FROM (SELECT 1 AS one) AS k
LEFT JOIN users u ON u.id = ?
LEFT JOIN devices d ON d.id = ?
LEFT JOIN command_results r ON r.device_id = ? AND r.command_id = ?`;

export const toCommandLookup = (
  r: CommandLookupRecord,
  deviceId: string,
  commandId: string,
): CommandLookup => {
  const [
    userId,
    email,
    tokenVersion,
    id,
    deviceUserId,
    name,
    tokenId,
    revoked,
    createdAt,
    lastSeenAt,
    ...result
  ] = r;
  const [resultUserId, resultName, resultJson] = result;
  return {
    user: userId === null ? undefined : { id: userId, email, tokenVersion },
    device:
      id === null
        ? undefined
        : toDevice({
            id,
            user_id: deviceUserId,
            name,
            token_id: tokenId,
            revoked,
            created_at: createdAt,
            last_seen_at: lastSeenAt,
          }),
    stored:
      resultUserId === null
        ? undefined
        : {
            deviceId,
            commandId,
            userId: resultUserId,
            name: resultName,
            result: JSON.parse(resultJson) as Result<unknown>,
          },
  };
};

/**
 * A reservation's columns in the order both stores' reserving statements take them: share_id,
 * user_id, device_id, port, kind, expires_at, updated_at.
 */
export const reservationValues = (
  a: Omit<RelayAssignment, 'updatedAt'>,
  updatedAt: string,
): [string, string, string, number, string, string | null, string] => [
  a.shareId,
  a.userId,
  a.deviceId,
  a.port,
  a.kind,
  a.expiresAt,
  updatedAt,
];

export const toAssignment = (r: RelayAssignmentRecord): RelayAssignment => ({
  shareId: r.share_id,
  userId: r.user_id,
  deviceId: r.device_id,
  port: r.port,
  kind: r.kind,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
});
export const toQueued = (r: QueuedRecord): QueuedCommandRow => ({
  id: r.id,
  userId: r.user_id,
  deviceId: r.device_id,
  name: r.name,
  args: r.args_json === null ? null : JSON.parse(r.args_json),
  summary: r.summary,
  ref: r.ref,
  status: r.status,
  result: r.result_json === null ? null : (JSON.parse(r.result_json) as Result<unknown>),
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  deliveredAt: r.delivered_at,
  finishedAt: r.finished_at,
});

/**
 * A stored result's columns in the order both stores' inserts take them: device_id, command_id,
 * user_id, name, result_json, created_at.
 */
export const resultValues = (
  r: StoredCommandResult,
  createdAt: string,
): [string, string, string, string, string, string] => [
  r.deviceId,
  r.commandId,
  r.userId,
  r.name,
  JSON.stringify(r.result),
  createdAt,
];

/**
 * An audit entry's columns in the order both stores' inserts take them: user_id, device_id,
 * command_id, command_name, ok, error_code, at.
 */
export const auditValues = (
  e: AuditEntry,
): [string, string, string, string, number, string | null, string] => [
  e.userId,
  e.deviceId,
  e.commandId,
  e.commandName,
  e.ok ? 1 : 0,
  e.errorCode,
  e.at,
];
