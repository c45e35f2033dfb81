// The hub's tables as rows come back from either database (snake_case records), and their mapping to
// the HubStore's types: one mapping for the SQLite and the PostgreSQL store.
import type { QueuedCommandStatus, Result } from '../../shared';
import type { DeviceRow, QueuedCommandRow, RelayAssignment, UserRow } from './hub-store';

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
