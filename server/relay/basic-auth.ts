// HTTP basic auth for relay shares, checked at the hub so an unauthenticated visitor never reaches
// the owner's computer.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface BasicCredentials {
  username: string;
  password: string;
}

export const BASIC_AUTH_CHALLENGE = 'Basic realm="Lattice share", charset="UTF-8"';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of an `Authorization` header against the share's credentials. */
export function basicAuthMatches(header: string | undefined, expected: BasicCredentials): boolean {
  const m = /^\s*basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Hashing first gives equal lengths, so timingSafeEqual never throws and leaks no length.
  const userOk = timingSafeEqual(digest(decoded.slice(0, colon)), digest(expected.username));
  const passOk = timingSafeEqual(digest(decoded.slice(colon + 1)), digest(expected.password));
  return userOk && passOk;
}
