// What a share shows to its owner: the ready-to-paste address with the credentials a client needs —
// always the share's own (its database role, its S3 key), never the workload's.
import { postgresUrl, RELAY_CA_FILE, type RelayTls, type Share } from '../../../shared';
import type { ShareRow } from '../store';

/** The secrets of a share, sealed in its row. */
export interface ShareSecrets {
  /** The share role's password (postgres). */
  password?: string;
  database?: string;
  /** Whether the database server offered TLS when the share was made (shares made before TLS was on). */
  tls?: boolean;
  basicAuth?: { username: string; password: string };
  /** The key pair made for an S3 share; visitors sign with it, the agent re-signs with the root key. */
  s3?: { accessKeyId: string; secretAccessKey: string };
  /** How the hub secures the public side with its certificate, from its last `relay.opened`. */
  hubTls?: RelayTls;
}

/** The file name a Postgres string's `sslrootcert` gives the hub's CA (downloaded next to the client). */

/**
 * The query of a Postgres share's string. Through a hub with a certificate the client verifies the
 * hub (verify-full: a stranger answering on that address gets no password); otherwise it asks the
 * server itself for TLS (`require`, see SHARE_SSLMODE).
 */
function postgresQuery(hubTls: RelayTls | undefined): string {
  if (hubTls?.protection !== 'postgres') return `?sslmode=${SHARE_SSLMODE}`;
  return `?sslmode=verify-full&sslrootcert=${hubTls.publiclyTrusted ? 'system' : RELAY_CA_FILE}`;
}

/**
 * An S3 endpoint is HTTP carried by a TCP tunnel; it is `https` when the tunnel's public side speaks
 * TLS (an https:// or tls:// address from the provider), plain `http` otherwise.
 */
function s3EndpointOf(row: ShareRow): string {
  if (row.url?.startsWith('https://') || row.url?.startsWith('http://')) return row.url.replace(/\/+$/, '');
  const scheme = row.url?.startsWith('tls://') ? 'https' : 'http';
  return `${scheme}://${row.publicHost}:${row.publicPort}`;
}

/**
 * Postgres shares always ask for TLS: the agent's CA gives every database it runs a certificate
 * (shares are refused where it cannot), so `require` encrypts the whole way even when nothing in
 * between holds a certificate. libpq 15 and later understand it; node-postgres reads it as
 * verify-full unless `uselibpqcompat=true` is added (see docs/postgres-tls.md).
 */
export const SHARE_SSLMODE = 'require';

export function shareView(row: ShareRow, secrets: ShareSecrets): Share {
  const share: Share = {
    id: row.id,
    workloadId: row.workloadId,
    workloadName: row.workloadName,
    via: row.via,
    kind: row.kind,
    status: row.status,
    url: row.url ?? '',
    publicHost: row.publicHost ?? '',
    readOnly: row.readOnly,
    basicAuth: row.basicAuth,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  };
  if (row.publicPort !== null) share.publicPort = row.publicPort;
  if (row.message) share.message = row.message;
  if (row.kind === 'tcp') share.plain = row.plain;
  if (secrets.hubTls) {
    share.hubTls = secrets.hubTls.publiclyTrusted
      ? {}
      : { caPem: secrets.hubTls.caPem, caUrl: secrets.hubTls.caUrl };
  }
  const reachable = row.url !== null && row.publicHost !== null && row.publicPort !== null;

  if (row.kind === 'postgres' && row.roleName && secrets.password) {
    share.username = row.roleName;
    share.password = secrets.password;
    if (reachable) {
      share.connectionString = postgresUrl(
        { username: row.roleName, password: secrets.password, database: secrets.database },
        row.publicHost!,
        row.publicPort!,
        postgresQuery(secrets.hubTls),
      );
      if (secrets.hubTls?.protection === 'postgres')
        share.connectionStringStrict = `${share.connectionString}&require_auth=scram-sha-256`;
    }
  } else if (row.kind === 's3') {
    if (reachable) share.url = s3EndpointOf(row);
    if (secrets.s3) {
      share.accessKey = secrets.s3.accessKeyId;
      share.secretKey = secrets.s3.secretAccessKey;
    }
    if (row.bucket) share.bucket = row.bucket;
  } else if (row.kind === 'http' && secrets.basicAuth) {
    share.username = secrets.basicAuth.username;
    share.password = secrets.basicAuth.password;
  }
  return share;
}
