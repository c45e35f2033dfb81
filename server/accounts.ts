// Accounts, sessions and device credentials: registration, login (rate-limited), refresh-token
// rotation, logout and password change (both end every session of the user), pairing codes and the
// device tokens they turn into.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { LatticeError, type AuthResponse, type HubUser } from '../shared';
import { FailureLimiter } from './auth/rate-limit';
import { burnPasswordCheck, hashPassword, verifyPassword } from './auth/passwords';
import type { TokenService } from './auth/tokens';
import type { DeviceRow, HubStore, UserRow } from './store/hub-store';

export const PAIRING_CODE_TTL_MS = 10 * 60_000;
/** No 0/O, 1/I: codes are read off a screen and typed. 32 symbols × 10 = 50 bits. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export class RateLimitedError extends LatticeError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', message);
  }
}

export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;
const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const normalizePairingCode = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');
const hashCode = (code: string) => createHash('sha256').update(normalizePairingCode(code)).digest('hex');

export interface AccountsOptions {
  /** Login failures allowed per email+IP within the window. */
  loginFailures?: { max: number; windowMs: number };
  pairFailures?: { max: number; windowMs: number };
  /** New accounts per IP within the window: each costs a 128 MiB scrypt, so they are not free. */
  registrations?: { max: number; windowMs: number };
}

export class Accounts {
  private readonly loginLimiter: FailureLimiter;
  private readonly pairLimiter: FailureLimiter;
  private readonly registerLimiter: FailureLimiter;

  constructor(
    private readonly store: HubStore,
    private readonly tokens: TokenService,
    opts: AccountsOptions = {},
  ) {
    const login = opts.loginFailures ?? { max: 5, windowMs: 15 * 60_000 };
    const pair = opts.pairFailures ?? { max: 10, windowMs: 15 * 60_000 };
    this.loginLimiter = new FailureLimiter(login.max, login.windowMs);
    this.pairLimiter = new FailureLimiter(pair.max, pair.windowMs);
    const reg = opts.registrations ?? { max: 20, windowMs: 15 * 60_000 };
    this.registerLimiter = new FailureLimiter(reg.max, reg.windowMs);
  }

  async register(email: string, password: string, ip: string): Promise<AuthResponse> {
    const wait = this.registerLimiter.retryAfter(ip);
    if (wait > 0)
      throw new RateLimitedError(`Too many new accounts from this address; try again in ${wait} s`, wait);
    this.registerLimiter.fail(ip);
    const passwordHash = await hashPassword(password);
    const created = await this.store.createUser({
      id: newId('usr'),
      email: normalizeEmail(email),
      passwordHash,
    });
    if (created === 'email_taken')
      throw new LatticeError('conflict', 'An account with this email already exists', 'email');
    return this.session(created);
  }

  async login(email: string, password: string, ip: string): Promise<AuthResponse> {
    const key = `${normalizeEmail(email)}\n${ip}`;
    const wait = this.loginLimiter.retryAfter(key);
    // Refused before hashing: a locked-out guesser costs the hub nothing.
    if (wait > 0) throw new RateLimitedError(`Too many failed logins; try again in ${wait} s`, wait);
    const user = await this.store.userByEmail(normalizeEmail(email));
    const ok = user
      ? await verifyPassword(password, user.passwordHash)
      : (await burnPasswordCheck(password), false);
    if (!user || !ok) {
      this.loginLimiter.fail(key);
      throw new LatticeError('unauthorized', 'Wrong email or password');
    }
    this.loginLimiter.reset(key);
    return this.session(user);
  }

  async refresh(refreshToken: string): Promise<AuthResponse> {
    const verified = await this.tokens.verify('refresh', refreshToken);
    if (!verified?.jti) throw new LatticeError('unauthorized', 'The refresh token is not valid');
    const state = await this.store.consumeRefreshToken(verified.jti, verified.sub);
    if (state === 'reused') {
      // A rotated token came back: someone else holds a copy. End every session of the user.
      await this.endSessions(verified.sub);
      throw new LatticeError('unauthorized', 'The refresh token was already used; sign in again');
    }
    const user = state === 'ok' ? await this.store.userById(verified.sub) : undefined;
    if (!user) throw new LatticeError('unauthorized', 'The refresh token is not valid');
    return this.session(user);
  }

  /** Revokes refresh tokens and invalidates outstanding access tokens. Callers also close sockets. */
  async endSessions(userId: string): Promise<void> {
    await this.store.revokeRefreshTokens(userId);
    await this.store.bumpTokenVersion(userId);
  }

  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
    ip: string,
  ): Promise<AuthResponse> {
    const user = await this.store.userById(userId);
    if (!user) throw new LatticeError('unauthorized', 'Sign in again');
    const key = `${user.email}\n${ip}`;
    const wait = this.loginLimiter.retryAfter(key);
    if (wait > 0) throw new RateLimitedError(`Too many failed attempts; try again in ${wait} s`, wait);
    if (!(await verifyPassword(currentPassword, user.passwordHash))) {
      this.loginLimiter.fail(key);
      throw new LatticeError('unauthorized', 'The current password is wrong', 'currentPassword');
    }
    await this.store.setPassword(userId, await hashPassword(newPassword));
    await this.endSessions(userId);
    return this.session((await this.store.userById(userId))!);
  }

  /** The user behind an access token, or undefined (bad, expired, or issued before a logout). */
  async userForAccessToken(token: string): Promise<HubUser | undefined> {
    const verified = await this.tokens.verify('access', token);
    if (!verified) return undefined;
    const user = await this.store.userById(verified.sub);
    if (!user || verified.payload.tv !== user.tokenVersion) return undefined;
    return { id: user.id, email: user.email };
  }

  /** The device behind a device token: it must exist, not be revoked, and this must be its current token. */
  async deviceForToken(token: string): Promise<DeviceRow | undefined> {
    const verified = await this.tokens.verify('device', token);
    if (!verified?.jti) return undefined;
    const device = await this.store.deviceById(verified.sub);
    if (!device || device.revoked || device.tokenId !== verified.jti) return undefined;
    return device;
  }

  async createPairingCode(userId: string): Promise<{ code: string; expiresAt: string }> {
    const raw = Array.from({ length: 10 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    const code = `${raw.slice(0, 5)}-${raw.slice(5)}`;
    const expiresAt = new Date(Date.now() + PAIRING_CODE_TTL_MS).toISOString();
    await this.store.addPairingCode({ codeHash: hashCode(code), userId, expiresAt });
    return { code, expiresAt };
  }

  async redeemPairingCode(
    code: string,
    name: string,
    ip: string,
  ): Promise<{ deviceId: string; deviceToken: string }> {
    const wait = this.pairLimiter.retryAfter(ip);
    if (wait > 0) throw new RateLimitedError(`Too many wrong pairing codes; try again in ${wait} s`, wait);
    const userId = await this.store.redeemPairingCode(hashCode(code), new Date().toISOString());
    if (!userId) {
      this.pairLimiter.fail(ip);
      throw new LatticeError(
        'invalid_argument',
        'The pairing code is wrong, already used or expired',
        'code',
      );
    }
    const deviceId = newId('dev');
    const { token, jti } = await this.tokens.sign('device', deviceId);
    await this.store.createDevice({ id: deviceId, userId, name, tokenId: jti });
    return { deviceId, deviceToken: token };
  }

  private async session(user: UserRow): Promise<AuthResponse> {
    const access = await this.tokens.sign('access', user.id, { tv: user.tokenVersion, email: user.email });
    const refresh = await this.tokens.sign('refresh', user.id);
    await this.store.addRefreshToken({
      jti: refresh.jti,
      userId: user.id,
      expiresAt: refresh.expiresAt.toISOString(),
    });
    return {
      user: { id: user.id, email: user.email },
      accessToken: access.token,
      refreshToken: refresh.token,
    };
  }
}
