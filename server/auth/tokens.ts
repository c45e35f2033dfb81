// Signed tokens (jose, EdDSA/Ed25519). Three kinds, told apart by the JWT `typ` header, and each
// verified only where it belongs: an access token is not a refresh token is not a device token.
// The key pair is generated at first start and kept in the data directory (0600) — or, for hubs
// sharing one `--database`, in that database, so every hub of the cluster has the same one.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';

export type TokenKind = 'access' | 'refresh' | 'device';

export const TOKEN_LIFETIME_S: Record<TokenKind, number> = {
  access: 15 * 60,
  refresh: 30 * 24 * 3600,
  // Device tokens are checked against the device row on every use, so revocation works; the long
  // expiry is there because every token must carry one.
  device: 10 * 365 * 24 * 3600,
};

export const TOKEN_ISSUER = 'lattice-hub';
export const TOKEN_AUDIENCE: Record<TokenKind, string> = {
  access: 'lattice-dashboard',
  refresh: 'lattice-dashboard',
  device: 'lattice-agent',
};

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

const KEY_FILE = 'hub-signing-key.pem';

/** Loads the hub's Ed25519 key from the data directory, generating it on first start. */
export function loadOrCreateSigningKeys(dataDir: string): SigningKeys {
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    const privateKey = createPrivateKey(readFileSync(file));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 key`);
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  return { privateKey, publicKey };
}

/**
 * The key of hubs sharing a database: the first hub's becomes everyone's. A key file already in the
 * data directory (from the days it was copied between hubs by hand) is what this hub offers; a file
 * that differs from the database's is ignored, said in `onMismatch`.
 */
export async function sharedSigningKeys(
  store: { adoptSigningKey(offered: string): Promise<string> },
  dataDir: string,
  onMismatch: (file: string) => void,
): Promise<SigningKeys> {
  const file = join(dataDir, KEY_FILE);
  const local = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const offered =
    local ?? (generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const pem = await store.adoptSigningKey(offered);
  if (local !== undefined && pem !== local) onMismatch(file);
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error('the signing key in the database is not Ed25519');
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export interface VerifiedToken {
  sub: string;
  jti?: string;
  payload: JWTPayload;
}

/** Verified access tokens remembered (a dashboard sends the same one with every request). */
const VERIFIED_CACHE_SIZE = 1024;

export class TokenService {
  /**
   * Access tokens whose signature and claims already checked out, until their expiry. An Ed25519
   * verify was the largest single cost of a relayed command; a token's verdict cannot change before
   * it expires (signature, issuer, audience and kind are fixed), and revocation is not decided here —
   * callers still compare the token version with the store on every use. Failures are not
   * remembered, so garbage cannot fill the cache; device tokens are not either (an agent presents
   * its token once per connection, so remembering them would only cost memory per agent).
   */
  private readonly verified = new Map<string, { result: VerifiedToken; expiresAtMs: number }>();

  constructor(private readonly keys: SigningKeys) {}

  async sign(
    kind: TokenKind,
    subject: string,
    claims: Record<string, unknown> = {},
  ): Promise<{ token: string; jti: string; expiresAt: Date }> {
    const jti = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const exp = now + TOKEN_LIFETIME_S[kind];
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: kind })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE[kind])
      .setSubject(subject)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.keys.privateKey);
    return { token, jti, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies signature, algorithm, issuer, audience, kind and expiry; undefined when any is wrong. */
  async verify(kind: TokenKind, token: string): Promise<VerifiedToken | undefined> {
    if (typeof token !== 'string' || token.length > 4096) return undefined;
    const remember = kind === 'access';
    const known = remember ? this.verified.get(token) : undefined;
    if (known) {
      if (Date.now() < known.expiresAtMs) return known.result;
      this.verified.delete(token);
    }
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: ['EdDSA'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE[kind],
        typ: kind,
        requiredClaims: ['exp', 'iss', 'aud', 'sub', 'jti'],
      });
      const result = { sub: payload.sub!, jti: payload.jti, payload };
      if (remember) {
        if (this.verified.size >= VERIFIED_CACHE_SIZE)
          this.verified.delete(this.verified.keys().next().value!);
        this.verified.set(token, { result, expiresAtMs: payload.exp! * 1000 });
      }
      return result;
    } catch {
      return undefined;
    }
  }
}
