// Password hashing: scrypt through node:crypto's async API, which runs in libuv's thread pool so a
// login never blocks the event loop. The stored string names its parameters, so they can be raised
// later without breaking existing hashes. The hub calls them through PasswordHasher, whose pool
// bounds how many run at once (each holds 128 MiB).
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { HashPool, type HashPoolOptions } from './hash-pool';

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

/**
 * Stands in for a stored hash when there is no account: same parameters, random salt and key, so
 * checking against it costs exactly what a real check costs and never matches.
 */
const DUMMY_HASH = (() => {
  const { N, r, p, keyLength, saltBytes } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${randomBytes(saltBytes).toString('base64')}$${randomBytes(keyLength).toString('base64')}`;
})();

/** Spends the same time as a real check, so a login for an unknown email is not faster than a wrong password. */
export async function burnPasswordCheck(password: string): Promise<void> {
  await verifyPassword(password, DUMMY_HASH);
}

/** Every hash and check of the hub goes through one bounded pool (hash-pool.ts). */
export class PasswordHasher {
  readonly pool: HashPool;

  constructor(pool: Partial<HashPoolOptions> = {}) {
    this.pool = new HashPool(pool);
  }

  hash(password: string): Promise<string> {
    return this.pool.run(() => hashPassword(password));
  }

  verify(password: string, stored: string): Promise<boolean> {
    return this.pool.run(() => verifyPassword(password, stored));
  }

  /** A check against no account: as slow and as bounded as a real one, always false. */
  async burn(password: string): Promise<false> {
    await this.pool.run(() => burnPasswordCheck(password));
    return false;
  }
}
