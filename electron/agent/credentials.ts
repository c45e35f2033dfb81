// Generated credentials for templates. All randomness from crypto.randomBytes; never a default
// like minioadmin or postgres/postgres.
import { randomBytes } from 'node:crypto';
import type { Credentials, Template } from '../../shared';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** 24 bytes = 192 bits, URL-safe so it survives connection strings unescaped. */
const password = () => randomBytes(24).toString('base64url');

export function generateCredentials(template: Template): Credentials {
  const want = new Set(template.credentials);
  const creds: Credentials = {};
  if (template.id === 'minio') {
    // MinIO's root user is its S3 access key: ≥ 16 chars, letters and digits only for client compatibility.
    if (want.has('username')) creds.username = `lattice${hex(10)}`;
  } else if (want.has('username')) {
    creds.username = `u_${hex(5)}`;
  }
  if (want.has('password')) creds.password = password();
  if (want.has('database')) creds.database = `db_${hex(4)}`;
  return creds;
}
