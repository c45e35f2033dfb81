// What a share shows to its owner: the ready-to-paste address with the credentials a client needs.
import { postgresUrl, type Credentials, type Share } from '../../../shared';
import type { ShareRow } from '../store';

/** The secrets of a share, sealed in its row. */
export interface ShareSecrets {
  /** The share role's password (postgres). */
  password?: string;
  database?: string;
  /** Whether the database server offered TLS when the share was made. */
  tls?: boolean;
  basicAuth?: { username: string; password: string };
}

/** An S3 endpoint is HTTP whatever the tunnel carries (the relay and ngrok carry it as TCP). */
function httpUrlOf(row: ShareRow): string {
  if (row.url?.startsWith('http')) return row.url;
  return `http://${row.publicHost}:${row.publicPort}`;
}

export function shareView(
  row: ShareRow,
  secrets: ShareSecrets,
  workloadCreds: Credentials | undefined,
): Share {
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
  const reachable = row.url !== null && row.publicHost !== null && row.publicPort !== null;

  if (row.kind === 'postgres' && row.roleName && secrets.password) {
    share.username = row.roleName;
    share.password = secrets.password;
    if (reachable) {
      // Never claim TLS the server does not offer: require it only when it is there.
      const query = secrets.tls ? '?sslmode=require' : '?sslmode=disable';
      share.connectionString = postgresUrl(
        { username: row.roleName, password: secrets.password, database: secrets.database },
        row.publicHost!,
        row.publicPort!,
        query,
      );
    }
  } else if (row.kind === 's3') {
    if (reachable) share.url = httpUrlOf(row);
    if (workloadCreds?.username) share.accessKey = workloadCreds.username;
    if (workloadCreds?.password) share.secretKey = workloadCreds.password;
  } else if (row.kind === 'http' && secrets.basicAuth) {
    share.username = secrets.basicAuth.username;
    share.password = secrets.basicAuth.password;
  }
  return share;
}
