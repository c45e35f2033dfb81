// Password hashing: scrypt through node:crypto's async API, which runs in libuv's thread pool so a
// login never blocks the event loop. The stored string names its parameters, so they can be raised
// later without breaking existing hashes.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;
/** 128 * N * r = 128 MiB for N=2^17, r=8; Node's default maxmem (32 MiB) would refuse it. */
const MAXMEM = 256 * 1024 * 1024;

function scryptAsync(
  password: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLength, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `scrypt$N$r$p$<salt b64>$<hash b64>` */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, keyLength, saltBytes } = SCRYPT_PARAMS;
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(password, salt, keyLength, { N, r, p, maxmem: MAXMEM });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export function parsePasswordHash(stored: string) {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) throw new Error('Unsupported password hash format');
  return {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt, 'base64'),
    key: Buffer.from(key, 'base64'),
  };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const { N, r, p, salt, key } = parsePasswordHash(stored);
  const candidate = await scryptAsync(password, salt, key.length, { N, r, p, maxmem: MAXMEM });
  return candidate.length === key.length && timingSafeEqual(candidate, key);
}

let dummyHash: Promise<string> | undefined;
/** Spends the same time as a real check, so a login for an unknown email is not faster than a wrong password. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('lattice-dummy-password');
  await verifyPassword(password, await dummyHash);
}
