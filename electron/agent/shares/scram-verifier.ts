// A SCRAM-SHA-256 verifier computed on the agent (as psql's \password and libpq's
// PQencryptPasswordConn do), so the share role's plaintext password never travels in a SQL statement
// the server could log, and the role is scram-sha-256 whatever password_encryption says.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

const ITERATIONS = 4096;

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802/7677, PostgreSQL's format).
 * The password must be ASCII without control characters, where SASLprep changes nothing; the agent
 * only passes its own base64url passwords.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16)): string {
  if (!/^[\x21-\x7e]+$/.test(password))
    throw new Error('scramSha256Verifier takes printable ASCII passwords only');
  const salted = pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
